"""No input gets a 500: schemathesis generates requests from the OpenAPI schema for every route, as each
role, against a seeded demo (bad bodies, odd parameters, unknown ids, integers at the 64-bit edges).

Deterministic: Hypothesis runs derandomized (the same examples on every run, in any test order, under xdist),
with no example database. Stateless per operation, then stateful along the links schemathesis infers from the
schema (a created or listed object's id fed to the routes that take it), so later routes see real ids.
``SHUYU_FUZZ_EXAMPLES`` raises the examples per operation for a deeper local run.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from route_walk import access_labels, admits, served_routes

from common.clock import FixedClock
from common.settings import Settings
from gateway.app import create_app
from gateway.context import AppContext
from gateway.demo import seed
from migrations import upgrade

# CI default keeps two passes of the suite inside its budget; the 64-bit EDGES run whatever the count.
EXAMPLES = int(os.environ.get("SHUYU_FUZZ_EXAMPLES", "6"))  # per operation, for each role it admits
# Integers at the 64-bit edges (and beyond): random generation rarely hits them, databases fail on them.
EDGES = (2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, -1, 0)
REFUSED_EXAMPLES = 3  # per operation, for a caller it refuses (401/403 must not be a 500 either)
STEPS = int(os.environ.get("SHUYU_FUZZ_STEPS", "10"))
# demo-tokens.json key -> the role that user holds
CALLERS = {
    "source": "data_source",
    "registrar": "registrar",
    "implementer": "implementer",
    "operator": "operator",
    "supervisor": "supervisor",
    "admin": "admin",
}


def fuzz_settings(max_examples: int, **extra) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        # No shrinking: every 500 is collected with its request, not minimised one at a time.
        phases=[Phase.explicit, Phase.generate],
        **extra,
    )


def seeded_app(directory):
    settings_ = Settings(data_dir=directory)
    settings_.ensure_dirs()
    upgrade(settings_.database_url)
    clock = FixedClock()  # the demo's working-day deadlines must not depend on today's date
    ctx = AppContext.build(settings_, clock=clock)
    tokens = seed(ctx, scale=300)
    tokens["admin"] = _admin_token(ctx)  # the demo has no administrator; admin routes need one to be fuzzed
    ctx.close()
    return create_app(settings_, clock=clock, start_workers=False), tokens


def _admin_token(ctx) -> str:
    from gateway import identity

    now = ctx.clock.now()
    with ctx.uow() as session:
        org = identity.list_organizations(session)[0].name
        identity.create_user(
            session, username="fuzz-admin", organization=org, roles=["admin"], verified=True, now=now
        )
        return identity.create_token(session, "fuzz-admin", name="fuzz", now=now)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    return seeded_app(tmp_path_factory.mktemp("fuzz"))


def headers_for(tokens, role) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"} if role else {}


def describe(case, status: int) -> str:
    return f"{status} {case.method} {case.formatted_path} query={case.query} body={str(case.body)[:200]}"


def route_access(app) -> dict[tuple[str, str], set[str]]:
    return {
        (method, route.path): access_labels(route.dependant)
        for route in served_routes(app.router.routes)
        if route.dependant is not None
        for method in route.methods
    }


def fuzz_operation(operation, headers, admitted: bool) -> list[str]:
    """Generated requests to one operation; the 64-bit edges once, with the first generated request."""
    failures: list[str] = []

    @fuzz_settings(EXAMPLES if admitted else REFUSED_EXAMPLES)
    @given(case=operation.as_strategy())
    def probe(case):
        response = case.call(headers={**(case.headers or {}), **headers})
        if response.status_code >= 500:
            failures.append(describe(case, response.status_code))
        if admitted and not edges_done:
            edges_done.append(True)
            failures.extend(probe_integer_edges(operation, case, headers))

    edges_done: list[bool] = []
    probe()
    return failures


def integer_parameters(operation) -> list[tuple[str, str]]:
    """(location, name) of every query and path parameter whose schema admits an integer."""
    found = []
    for location, params in (("query", operation.query), ("path", operation.path_parameters)):
        for param in params:
            schema = (getattr(param, "definition", None) or {}).get("schema", {})
            types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
            if "integer" in types:
                found.append((location, param.name))
    return found


def probe_integer_edges(operation, case, headers) -> list[str]:
    failures = []
    query, path = dict(case.query or {}), dict(case.path_parameters or {})
    for location, name in integer_parameters(operation):
        for value in EDGES:
            # The generated case with one parameter replaced (a Case cannot be deep-copied).
            case.query = {**query, name: value} if location == "query" else query
            case.path_parameters = {**path, name: value} if location == "path" else path
            response = case.call(headers={**(case.headers or {}), **headers})
            if response.status_code >= 500:
                failures.append(describe(case, response.status_code))
    case.query, case.path_parameters = query, path
    return failures


def test_every_operation_is_fuzzed_deeply_by_some_caller(seeded):
    """Each route gets the full number of examples from a caller it admits, so the fuzz reaches its
    handler rather than its 401/403."""
    app, _ = seeded
    access = route_access(app)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    shallow = [
        f"{op.method.upper()} {op.path}"
        for op in (result.ok() for result in schema.get_all_operations())
        if not any(admits(access[(op.method.upper(), op.path)], role) for role in [*CALLERS.values(), ""])
    ]
    assert len(access) > 90 and shallow == []


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("caller", [*CALLERS, None])
def test_no_route_answers_500(seeded, caller):
    app, tokens = seeded
    access = route_access(app)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = headers_for(tokens, caller)
    failures: list[str] = []
    deep = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        labels = access[(operation.method.upper(), operation.path)]
        admitted = admits(labels, CALLERS[caller]) if caller else labels == {"public"}
        deep += admitted

        failures += fuzz_operation(operation, headers, admitted)
    assert deep > 0
    assert failures == []


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("role", ["implementer", "supervisor", "operator"])
def test_no_sequence_of_linked_calls_answers_500(tmp_path, role):
    """Stateful: sequences of calls where one response's ids feed the next request (its own seeded demo, so
    what it creates cannot change what the stateless test sees)."""
    app, tokens = seeded_app(tmp_path / "data")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    base = schema.as_state_machine()
    headers = headers_for(tokens, role)
    failures: list[str] = []

    class Workflow(base):
        def get_call_kwargs(self, case):
            return {"headers": {**(case.headers or {}), **headers}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            if response.status_code >= 500:
                failures.append(describe(case, response.status_code))

    Workflow.run(settings=fuzz_settings(EXAMPLES // 4 or 1, stateful_step_count=STEPS))
    assert failures == []
