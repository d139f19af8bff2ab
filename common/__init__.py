"""The shared kernel: settings, database plumbing, value types and domain errors. Imports nothing of ours."""
