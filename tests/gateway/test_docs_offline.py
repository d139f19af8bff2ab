"""``/docs`` and ``/redoc`` work on a network with no way out, and "Authorize" takes a bearer token."""

from __future__ import annotations

import re

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def test_docs_pages_load_every_asset_from_this_server(harness):
    client = harness.client
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200 and "text/html" in html.headers["content-type"]
        assert not EXTERNAL.search(html.text), f"{page} loads something from another host"
        assets = re.findall(r"""(?:src|href)=["']?(/docs-assets/[^"' >]+)""", html.text)
        assert assets, f"{page} names no local asset"
        for asset in assets:
            fetched = client.get(asset)
            assert fetched.status_code == 200 and len(fetched.content) > 100, asset


def test_openapi_declares_the_bearer_scheme_on_protected_operations(harness):
    spec = harness.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token: `Authorization: Bearer <token>`",
    }
    audit = spec["paths"]["/api/v1/audit/events"]["get"]
    assert {"HTTPBearer": []} in audit["security"]


def test_a_bearer_token_declared_through_the_scheme_still_gets_precise_errors(harness):
    wrong = harness.client.get("/api/v1/grants", headers={"Authorization": "Basic abc"})
    assert wrong.status_code == 401 and "Bearer" in wrong.text
    missing = harness.client.get("/api/v1/grants")
    assert missing.status_code == 401
