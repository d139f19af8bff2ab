"""Registry: registration of public data resources, certificates, evidence, notices, objections (Annex 1)."""
