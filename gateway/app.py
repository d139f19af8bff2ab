"""The FastAPI application factory: the composition root for HTTP."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from common.clock import Clock
from common.settings import Settings
from gateway import errors
from gateway.context import AppContext
from gateway.edge import EdgeGuard
from gateway.routes import audit, catalog, grants, jobs, queries, reviews, system
from gateway.routes import registry as registry_routes
from gateway.workers import start_pool

ROUTERS = (
    system.router,
    catalog.router,
    grants.router,
    queries.router,
    jobs.router,
    reviews.router,
    audit.router,
)
ROUTERS += (registry_routes.router,)
from gateway.routes import operation as operation_routes  # noqa: E402

ROUTERS += (operation_routes.router,)
from gateway.routes import calendar as calendar_routes  # noqa: E402

ROUTERS += (calendar_routes.router,)
from gateway.routes import accounts as accounts_routes  # noqa: E402
from gateway.routes import public_objections as public_objections_routes  # noqa: E402
from gateway.routes import relationships as relationships_routes  # noqa: E402

ROUTERS += (accounts_routes.router, relationships_routes.router, public_objections_routes.router)
from gateway.routes import authority as authority_routes  # noqa: E402

ROUTERS += (authority_routes.router,)
from gateway.routes import risk as risk_routes  # noqa: E402

ROUTERS += (risk_routes.router,)
from gateway.routes import tokens as token_routes  # noqa: E402

ROUTERS += (token_routes.router,)


def create_app(settings: Settings, *, clock: Clock | None = None, start_workers: bool = True) -> FastAPI:
    """Build the app from ``settings``. Nothing is read from the environment here.

    With ``start_workers`` the app runs ``settings.sandbox.workers`` job workers in-process (the embedded
    default); production runs them as separate ``shuyu worker`` processes instead.
    """
    ctx = AppContext.build(settings, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        pool = start_pool(ctx) if start_workers else None
        app.state.pool = pool
        yield
        if pool is not None:
            pool.stop()
        ctx.close()

    app = FastAPI(
        title="Shuyu 数域",
        version="0.1.0",
        lifespan=lifespan,
        description="Privacy-preserving data operation platform for public data: "
        "raw data stays in its domain, usable but invisible.",
    )
    app.state.ctx = ctx
    app.state.pool = None
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(
        EdgeGuard, max_json_bytes=settings.max_json_bytes, max_upload_bytes=settings.max_request_bytes
    )
    return app
