"""No input gets a 500: schemathesis generates requests from the OpenAPI schema for every route, as each
role, against a seeded demo (bad bodies, odd parameters, unknown ids)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from common.clock import FixedClock
from common.settings import Settings
from gateway.app import create_app
from gateway.context import AppContext
from gateway.demo import seed
from migrations import upgrade


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    settings_ = Settings(data_dir=tmp_path_factory.mktemp("fuzz"))
    settings_.ensure_dirs()
    upgrade(settings_.database_url)
    clock = FixedClock()  # the demo's working-day deadlines must not depend on today's date
    ctx = AppContext.build(settings_, clock=clock)
    tokens = seed(ctx, scale=300)
    ctx.close()
    return create_app(settings_, clock=clock, start_workers=False), tokens


@pytest.mark.parametrize("role", ["operator", "implementer", "supervisor", None])
def test_no_route_answers_500(seeded, role):
    app, tokens = seeded
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
    failures = []
    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def probe(case):
            case.headers = {**(case.headers or {}), **headers}
            response = case.call()
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.path}: {response.status_code}")

        probe()
    assert failures == []
