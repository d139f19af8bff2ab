"""HTTP routes, one module per room. Handlers authorize by declaration (gateway.auth), then call the rooms."""
