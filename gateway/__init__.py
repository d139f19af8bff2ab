"""Gateway: the composition root — FastAPI app, auth, routes, error mapping, CLI."""
