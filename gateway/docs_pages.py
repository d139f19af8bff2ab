"""``/docs`` (Swagger UI) and ``/redoc`` served offline: their scripts come from the installed
``fastapi-offline`` package, never from a CDN, so the pages work on a network with no way out.

The OpenAPI declares a bearer scheme (see ``gateway.auth``), so Swagger UI's "Authorize" button takes a
token and sends it as ``Authorization: Bearer …``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def _asset_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the vendored assets and the two pages (plain routes: no API operation, nothing to authorize)."""
    app.mount(ASSETS, StaticFiles(directory=_asset_dir()), name="docs-assets")
    title = app.title

    async def swagger(_: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} — API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": False, "tryItOutEnabled": True},
        )

    async def redoc(_: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} — API",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    app.add_route("/docs", swagger, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    # Plain pages and assets, not API operations: anyone may load them (the route-role guard exempts them).
    app.state.static_paths = {*getattr(app.state, "static_paths", set()), "/docs", "/redoc", ASSETS}
