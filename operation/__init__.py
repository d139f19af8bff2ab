"""Operation: authorized operation of public data (Annex 2) — plans, operator selection, operating agreements,
products and their business entities, quality issues and disputes, annual reports and evaluations.

Agreements are the only source of grants, but grants belong to ``policies``: an agreement is handed the grant
operations it needs (``operation.agreements.GrantBook``) by its caller, so this room never imports another.
"""
