"""Audit: append-only, hash-chained event log."""
