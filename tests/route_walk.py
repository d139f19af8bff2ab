"""Walk every route an app really serves, for structural guards (who may call it, what it accepts).

``app.routes`` is not enough: since FastAPI 0.13x an included router stays one ``_IncludedRouter`` entry, so
a loop over ``app.routes`` looking for ``APIRoute`` finds nothing and a guard built on it passes without
checking anything. ``fastapi.routing.iter_route_contexts`` expands included routers (nested ones too) into
the effective routes, with the router-level dependencies folded into each ``dependant``; mounts are walked
here by hand. Anything that is neither an ``APIRoute`` nor one of FastAPI's own documentation routes is
reported, so a new kind of route fails the guard instead of slipping past it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute, Mount

from gateway.auth import ACCESS_MARK


@dataclass(frozen=True)
class ServedRoute:
    path: str
    methods: frozenset[str]
    kind: str  # the class of the route as declared (APIRoute, Route, Mount, ...)
    dependant: Dependant | None
    body: Any = None  # the annotation of the request body, if the route takes one

    @property
    def label(self) -> str:
        return f"{','.join(sorted(self.methods)) or self.kind} {self.path}"


def served_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[ServedRoute]:
    for context in iter_route_contexts(routes):
        original = context.original_route
        path = prefix + (context.path or "")
        if isinstance(original, Mount):
            inner = original.routes
            if inner:
                yield from served_routes(inner, path)
            else:  # a mounted ASGI app (static files, another framework): nothing declares its callers
                yield ServedRoute(path, frozenset(), "Mount", None)
            continue
        body_field = getattr(context, "body_field", None)
        yield ServedRoute(
            path=path,
            methods=frozenset(context.methods or ()),
            kind=type(original).__name__,
            dependant=getattr(context, "dependant", None) if isinstance(original, APIRoute) else None,
            body=body_field.field_info.annotation if body_field is not None else None,
        )


def access_labels(dependant: Dependant) -> set[str]:
    """The labels of the route's access declarations: ``public``, ``authenticated`` or the admitted roles
    joined by ``+`` (``implementer+operator (verified)``)."""
    found = {label} if (label := getattr(dependant.call, ACCESS_MARK, None)) else set()
    for sub in dependant.dependencies:
        found |= access_labels(sub)
    return found


def admits(labels: set[str], role: str) -> bool:
    """Whether a caller holding ``role`` gets past the route's declarations (verification aside)."""
    return all(
        label in ("public", "authenticated") or role in label.removesuffix(" (verified)").split("+")
        for label in labels
    )


def declares_access(dependant: Dependant) -> bool:
    """True if one of the route's dependencies (at any depth) is a ``gateway.auth`` access declaration."""
    return any(getattr(d.call, ACCESS_MARK, None) or declares_access(d) for d in dependant.dependencies)


def documentation_paths(app: FastAPI) -> set[str]:
    """FastAPI's own docs pages, and the plain pages/assets the app declares public (``static_paths``)."""
    own = {p for p in (app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p}
    return own | set(getattr(app.state, "static_paths", ()))


def undeclared_routes(app: FastAPI) -> list[str]:
    """Every served route that does not declare who may call it (FastAPI's own docs pages excepted)."""
    exempt = documentation_paths(app)
    found = []
    for route in served_routes(app.router.routes):
        if route.kind != "APIRoute" and route.path in exempt:
            continue
        if route.dependant is None or not declares_access(route.dependant):
            found.append(route.label)
    return found


def _parameter_names(dependant: Dependant) -> set[str]:
    own = (
        *dependant.query_params,
        *dependant.path_params,
        *dependant.header_params,
        *dependant.cookie_params,
    )
    names = {p.alias or p.name for p in own}
    for sub in dependant.dependencies:
        names |= _parameter_names(sub)
    return names


def accepted_fields(route: ServedRoute) -> set[str] | None:
    """Names a route accepts from the caller (query, path, header, body fields); None if the body is an
    open mapping, i.e. it would accept any name."""
    names: set[str] = set()
    if route.dependant is not None:
        names |= _parameter_names(route.dependant)
    if route.body is not None:
        fields = getattr(route.body, "model_fields", None)
        if fields is None:
            return None
        names |= set(fields)
        names |= {f.alias for f in fields.values() if f.alias}
    return names
