"""The edge guard: authenticate before reading a body, and count the body's bytes as they arrive.

A pure ASGI middleware (not ``BaseHTTPMiddleware``, which would buffer). It wraps ``receive`` lazily: the
first time the application asks for body bytes, routing has already run, so ``scope["route"]`` names the
endpoint. At that moment, and before any byte is read:

* a route that is not ``public`` needs a valid bearer token; without one the caller gets 401 at once and
  the body is never read (an anonymous 60 MB body costs the server nothing);
* the route's limit is chosen: multipart routes (file uploads) take ``Settings.max_request_bytes``, every
  other route ``Settings.max_json_bytes``; a ``Content-Length`` above it is refused with 413 at once.

Then each chunk is counted as it arrives, so a lying ``Content-Length`` or a chunked body is cut off at the
limit with 413 too, before the application parses anything. Responses use the one error mapping in
``gateway.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from common.errors import DomainError, PayloadTooLarge, Unauthenticated
from gateway import errors, identity
from gateway.auth import ACCESS_MARK

PUBLIC = "public"


@dataclass(frozen=True)
class RouteRule:
    """What the edge needs to know about a route before reading its body."""

    needs_token: bool
    upload: bool


def route_rule(route: object) -> RouteRule:
    """The access label and body kind of a FastAPI route, read from its declared dependencies."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:  # not an API route (404, static): anonymous is fine, bodies are small
        return RouteRule(needs_token=False, upload=False)
    labels = _labels(dependant)
    upload = any(_is_form(p) for p in dependant.body_params)
    # Fail closed: a route whose access is not declared at all is treated as needing a token.
    return RouteRule(needs_token=PUBLIC not in labels, upload=upload)


def _labels(dependant) -> set[str]:
    found = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        label = getattr(current.call, ACCESS_MARK, None)
        if label is not None:
            found.add(label)
        stack.extend(current.dependencies)
    return found


def _is_form(param) -> bool:
    from fastapi import params

    return isinstance(getattr(param, "field_info", None), params.Form)  # File is a Form


class _Rejected(Exception):
    """Raised into the application after the edge has already answered."""


class EdgeGuard:
    def __init__(self, app, *, max_json_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes
        self._rules: dict[int, RouteRule] = {}

    def _rule(self, scope) -> RouteRule:
        route = scope.get("route")
        key = id(route)
        if key not in self._rules:
            self._rules[key] = route_rule(route)
        return self._rules[key]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = _Exchange(self, scope, receive, send)
        try:
            await self.app(scope, state.receive, state.send)
        except _Rejected:
            pass
        except Exception:
            if not state.answered:
                raise

    async def check_token(self, scope) -> None:
        header = _header(scope, b"authorization")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("this endpoint needs a bearer token")
        ctx = scope["app"].state.ctx

        def lookup() -> None:
            with ctx.uow() as session:
                identity.authenticate(session, token.strip(), ctx.clock.now())

        await anyio.to_thread.run_sync(lookup)


class _Exchange:
    """One request's receive/send pair as seen through the guard."""

    def __init__(self, guard: EdgeGuard, scope, receive, send) -> None:
        self.guard, self.scope, self._receive, self._send = guard, scope, receive, send
        self.limit: int | None = None
        self.seen = 0
        self.started = False
        self.answered = False

    async def send(self, message) -> None:
        if self.answered:  # the edge already answered; drop the application's late reply
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)

    async def receive(self):
        if self.limit is None:
            await self._admit()
        message = await self._receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                await self._answer(PayloadTooLarge(self._too_large(), limit=self.limit))
        return message

    async def _admit(self) -> None:
        rule = self.guard._rule(self.scope)
        self.limit = self.guard.max_upload_bytes if rule.upload else self.guard.max_json_bytes
        if rule.needs_token:
            try:
                await self.guard.check_token(self.scope)
            except DomainError as error:
                await self._answer(error)
        declared = _header(self.scope, b"content-length")
        if declared and (not declared.isdigit() or int(declared) > self.limit):
            await self._answer(PayloadTooLarge(self._too_large(), limit=self.limit))

    def _too_large(self) -> str:
        return f"request body exceeds {self.limit} bytes for this endpoint"

    async def _answer(self, error: DomainError):
        if not self.started:
            body = error.to_dict()
            response = errors.problem(errors.status_for(error), body.pop("code"), body.pop("message"), **body)
            response.headers["connection"] = "close"  # the unread rest of the body is not drained
            await response(self.scope, self._receive, self._send)
        self.answered = True
        raise _Rejected()


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return ""
