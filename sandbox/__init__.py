"""Sandbox: isolated execution of checked SQL and the output gate, the only way out."""
