"""Catalog: datasets published by source departments into the domain (R7, A26)."""
