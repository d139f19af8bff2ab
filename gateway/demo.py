"""``shuyu demo``: a working platform on synthetic Chongqing data in one command.

Creates (or reuses) the data directory, seeds the demo organizations and users, publishes the synthetic
datasets through the same ingestion path as an upload, registers them, gives the demo operator its grants
through an operating agreement, writes ``demo-tokens.json`` and serves the API.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from catalog import ingest, profile, synthetic, uploads
from catalog import service as catalog_service
from common.settings import Settings
from common.types import Principal
from gateway import identity
from gateway.context import AppContext
from gateway.demo_data import COLUMN_METADATA, DATASETS, DEMO_GRANTS, ORGANIZATIONS, USERS

TOKENS_FILE = "demo-tokens.json"


def run_demo(settings: Settings, *, host: str, port: int, scale: int, serve: bool) -> None:
    from migrations import upgrade

    settings.ensure_dirs()
    upgrade(settings.database_url)
    ctx = AppContext.build(settings)
    try:
        tokens = seed(ctx, scale=scale)
    finally:
        ctx.close()
    _print_welcome(settings, tokens, host, port)
    if serve:
        import uvicorn

        from gateway.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


def seed(ctx: AppContext, *, scale: int) -> dict[str, str]:
    """Idempotent: a second run reuses everything already there."""
    _organizations_and_users(ctx)
    _publish_datasets(ctx, scale)
    _register_datasets(ctx)
    _grant_operator(ctx)
    return _tokens(ctx)


def _organizations_and_users(ctx: AppContext) -> None:
    now = ctx.clock.now()
    with ctx.uow() as session:
        existing = {o.name for o in identity.list_organizations(session)}
        for name, kind in ORGANIZATIONS:
            if name not in existing:
                identity.create_organization(session, name=name, kind=kind, now=now)
        for username, org, role, display in USERS:
            try:
                identity.get_user(session, username)
            except Exception:
                identity.create_user(
                    session,
                    username=username,
                    organization=org,
                    roles=[role],
                    display_name=display,
                    verified=True,
                    now=now,
                )


def principal_of(ctx: AppContext, username: str) -> Principal:
    with ctx.uow() as session:
        user = identity.get_user(session, username)
        org = identity.get_organization(session, user.organization_id)
    return Principal(
        user_id=user.id,
        username=user.username,
        organization_id=org.id,
        organization_kind=org.kind,
        roles=user.roles,
        verified=user.verified,
    )


def _publish_datasets(ctx: AppContext, scale: int) -> None:
    source = principal_of(ctx, "source")
    with ctx.uow() as session:
        have = {d.name for d in catalog_service.list_datasets(session)}
    if all(name in have for name in DATASETS):
        return
    generated_dir = ctx.settings.staging_dir / "demo-generated"
    shutil.rmtree(generated_dir, ignore_errors=True)
    paths = synthetic.generate(generated_dir, scale=scale)
    try:
        for name, spec in DATASETS.items():
            if name not in have:
                _publish(ctx, source, name, spec, paths[name])
    finally:
        shutil.rmtree(generated_dir, ignore_errors=True)


def _publish(ctx: AppContext, source: Principal, name: str, spec: dict, tables: dict[str, Path]) -> None:
    now = ctx.clock.now()
    with ctx.uow() as session:
        dataset = catalog_service.create_dataset(
            session, catalog_service.DatasetSpec(name=name, **spec), source, now
        )
        for table_name, path in tables.items():
            table = catalog_service.create_table(session, dataset, table_name, "", now)
            data = ingest.read_upload(path, path.name, "application/vnd.apache.parquet")
            version = catalog_service.next_version_number(session, table)
            rel = Path(name) / table_name / f"v{version}-demo.parquet"
            written = ingest.write_parquet_atomically(
                data, ctx.settings.domain_store_dir / rel, ctx.settings.staging_dir
            )
            uploads.record_upload(
                session,
                dataset,
                table,
                version=version,
                inferred=ingest.infer_columns(data),
                suggestions=profile.suggest(data),
                path=str(rel),
                sha256=written.sha256,
                size=written.bytes,
                rows=written.rows,
                filename=path.name,
                uploaded_by=source.user_id,
                now=now,
            )
            updates = [
                uploads.ColumnUpdate(name=col, **meta)
                for col, meta in COLUMN_METADATA[(name, table_name)].items()
            ]
            uploads.confirm_columns(session, table, updates)


def _register_datasets(ctx: AppContext) -> None:
    from gateway.demo_registry import register_demo_datasets

    register_demo_datasets(
        ctx, registrar_user="registrar", source_user="source", dataset_names=list(DATASETS)
    )


def _grant_operator(ctx: AppContext) -> None:
    from gateway.demo_operation import create_demo_agreement

    operator = principal_of(ctx, "analyst")
    create_demo_agreement(
        ctx,
        implementer_user="implementer",
        operator_org_id=operator.organization_id,
        grants_terms=DEMO_GRANTS,
    )


def _tokens(ctx: AppContext) -> dict[str, str]:
    """Reuse the tokens in demo-tokens.json while they still work; otherwise issue new ones."""
    path = ctx.settings.data_dir / TOKENS_FILE
    known = json.loads(path.read_text()) if path.exists() else {}
    tokens = {}
    with ctx.uow() as session:
        for role_key, (username, *_rest) in zip(
            ("source", "registrar", "implementer", "operator", "supervisor"), USERS
        ):
            token = known.get(role_key)
            try:
                if token:
                    identity.authenticate(session, token, ctx.clock.now())
                    tokens[role_key] = token
                    continue
            except Exception:
                pass
            tokens[role_key] = identity.create_token(session, username, name="demo", now=ctx.clock.now())
    path.write_text(json.dumps(tokens, indent=2))
    path.chmod(0o600)
    return tokens


def _print_welcome(settings: Settings, tokens: dict[str, str], host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    print(f"Shuyu demo — data directory {settings.data_dir}")
    print(f"Tokens (also in {settings.data_dir / TOKENS_FILE}):")
    for role, token in tokens.items():
        print(f"  {role:12s} {token}")
    print("Try:")
    print(f"  curl -s {base}/api/v1/catalog/datasets")
    print(
        f"  curl -s -X POST {base}/api/v1/jobs?wait=30 -H 'Authorization: Bearer {tokens['operator']}' "
        "-H 'Content-Type: application/json' "
        '-d \'{"sql": "SELECT district, count(*) AS persons, avg(income) AS avg_income '
        "FROM persons GROUP BY district\"}'"
    )
    print(f"API docs: {base}/docs")
