"""Policies: grants, column rules, the SQL checker and rewrite, DP budgets (Annex 2)."""
