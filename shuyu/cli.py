"""The analyst's commands of ``shuyu``: login, check, run, jobs, grants and budget.

They talk to a server through :class:`shuyu.Client` (``SHUYU_URL`` / ``SHUYU_TOKEN`` or ``shuyu login``).
On a terminal they print readable tables and a spinner while a job runs; piped, they print machine formats
(JSON, or the requested ``--format``). Exit codes: 0 ok, 1 error, 2 usage, 3 refused by policy, 4 the job
failed or is held for review.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from shuyu import profile
from shuyu.client import Client, Result, Verdict
from shuyu.errors import PolicyRefused, ShuyuError

jobs_app = typer.Typer(help="Your jobs: list, show, cancel, download a result.", no_args_is_help=True)
Format = Annotated[str, typer.Option("--format", "-F", help="table, csv, json or parquet")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="write the result to this file")]
FORMATS = ("table", "csv", "json", "parquet")


def _tty() -> bool:
    return sys.stdout.isatty()


def _client() -> Client:
    return Client.from_env()


def _guard(action: Callable[[], None]) -> None:
    """Run a command, turning typed client errors into a message on stderr and a distinct exit code."""
    try:
        action()
    except PolicyRefused as refusal:
        _print_violations(refusal.violations)
        raise typer.Exit(refusal.exit_code) from None
    except ShuyuError as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(error.exit_code) from None


def _print_violations(violations: list[dict[str, Any]]) -> None:
    typer.secho(f"refused by policy ({len(violations)} violation(s)):", fg="red", err=True)
    for v in violations:
        where = " ".join(f"{k}={v[k]}" for k in ("rule", "column", "clause") if v.get(k))
        typer.echo(f"  - {v.get('message', '')} [{where}]", err=True)
        if v.get("hint"):
            typer.echo(f"    hint: {v['hint']}", err=True)


def _table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    columns = columns or (list(rows[0]) if rows else [])
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    Console().print(table)


def _emit(data: Any, columns: list[str] | None = None) -> None:
    """A list of dicts as a table on a terminal, JSON when piped."""
    if _tty() and isinstance(data, list):
        _table(data, columns)
    else:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@contextmanager
def _spinner(text: str) -> Iterator[Callable[[dict], None]]:
    if not sys.stderr.isatty():
        yield lambda _job: None
        return
    from rich.console import Console

    with Console(stderr=True).status(text) as status:
        yield lambda job: status.update(f"{text} — {job['state']}")


def login(
    url: Annotated[str, typer.Option(prompt="Server URL", help="e.g. http://127.0.0.1:8000")],
    token: Annotated[str, typer.Option(prompt="Token", hide_input=True, help="your API token")],
    profile_name: Annotated[str, typer.Option("--profile", help="profile name")] = profile.DEFAULT,
) -> None:
    """Check the token against the server and save it as a profile (file mode 0600)."""

    def act() -> None:
        with Client(url, token) as client:
            client.grants()  # proves the URL and the token before anything is saved
        saved = profile.save(url, token, profile_name)
        typer.echo(f"logged in to {url}; profile '{profile_name}' saved in {saved}")

    _guard(act)


def _sql(sql: str | None, file: Path | None) -> str:
    if file is not None:
        return (sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")).strip()
    if sql:
        return sql
    raise typer.BadParameter("give the SQL as an argument or with -f FILE (- for stdin)")


SqlArg = Annotated[str | None, typer.Argument(help="the SQL (or use -f)")]
SqlFile = Annotated[Path | None, typer.Option("--file", "-f", help="read the SQL from a file, - for stdin")]
Dp = Annotated[float | None, typer.Option("--dp", help="run under differential privacy with this epsilon")]


def check(sql: SqlArg = None, file: SqlFile = None, dp: Dp = None) -> None:
    """Dry run: the verdict, every violation with its hint, and the SQL that would run. Nothing runs."""

    def act() -> None:
        with _client() as client:
            verdict = client.check(_sql(sql, file), dp=dp)
        if not _tty():
            typer.echo(json.dumps(verdict.raw, ensure_ascii=False, indent=2))
            if not verdict.allowed:
                raise typer.Exit(PolicyRefused.exit_code)
            return
        _show_verdict(verdict)

    _guard(act)


def _show_verdict(verdict: Verdict) -> None:
    verdict.raise_for_denial()
    typer.secho("allowed", fg="green")
    typer.echo(f"runs as: {verdict.rewritten_sql}")
    if verdict.epsilon is not None:
        typer.echo(f"epsilon cost: {verdict.epsilon}")


def _write(result: Result, fmt: str, output: Path | None, client: Client) -> None:
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    if fmt == "table" and output is None and _tty():
        _table(result.rows, result.columns)
        _report_gate(result)
        return
    fmt = "json" if fmt == "table" else fmt
    data = result.parquet if fmt == "parquet" else client.download(result.job["id"], fmt)
    if output is not None:
        output.write_bytes(data)
        typer.echo(f"wrote {len(data)} bytes to {output}", err=True)
    elif fmt == "parquet" and _tty():
        raise typer.BadParameter("parquet is binary: use -o FILE or pipe it")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def _report_gate(result: Result) -> None:
    gate = result.gate or {}
    if gate.get("suppressed") or gate.get("rows_suppressed"):
        typer.echo("some rows were withheld by the output gate (groups below the minimum size)", err=True)


def run(
    sql: SqlArg = None,
    file: SqlFile = None,
    dp: Dp = None,
    fmt: Format = "table",
    output: Output = None,
    wait: Annotated[float, typer.Option(help="seconds to wait for the job")] = 300.0,
) -> None:
    """Submit the query, wait for the job, and print or save its released result."""

    def act() -> None:
        with _client() as client:
            with _spinner("running") as progress:
                result = client.run(_sql(sql, file), dp=dp, wait=wait, on_state=progress)
            _write(result, fmt, output, client)

    _guard(act)


@jobs_app.command("list")
def jobs_list() -> None:
    """Your organization's jobs, newest first."""

    def act() -> None:
        with _client() as client:
            rows = [
                {k: j.get(k) for k in ("id", "state", "created_at", "result_rows", "error_kind")}
                for j in client.jobs()
            ]
        _emit(rows, ["id", "state", "created_at", "result_rows", "error_kind"])

    _guard(act)


@jobs_app.command("show")
def jobs_show(job_id: str) -> None:
    """One job: its state, the SQL that ran, the gate's report and what to do next."""

    def act() -> None:
        with _client() as client:
            typer.echo(json.dumps(client.job(job_id), ensure_ascii=False, indent=2))

    _guard(act)


@jobs_app.command("cancel")
def jobs_cancel(job_id: str) -> None:
    """Cancel a queued or running job (a cancelled DP job is refunded)."""

    def act() -> None:
        with _client() as client:
            job = client.cancel(job_id)
        typer.echo(f"{job_id}: {job['state']}")

    _guard(act)


@jobs_app.command("result")
def jobs_result(job_id: str, fmt: Format = "table", output: Output = None) -> None:
    """Download a released result."""

    def act() -> None:
        with _client() as client:
            _write(client.result(job_id), fmt, output, client)

    _guard(act)


def grants() -> None:
    """Your grants: dataset, status, privacy unit, k and DP mode."""

    def act() -> None:
        with _client() as client:
            rows = [
                {
                    "id": g["id"],
                    "dataset": g["dataset"],
                    "status": g["status"],
                    "k": g.get("k"),
                    "dp": (g.get("dp") or {}).get("mode"),
                    "valid_to": g.get("valid_to"),
                }
                for g in client.grants()
            ]
        _emit(rows, ["id", "dataset", "status", "k", "dp", "valid_to"])

    _guard(act)


def budget(grant_id: Annotated[str | None, typer.Argument(help="one grant (default: all DP grants)")] = None):
    """The DP budget left on your grants in the current period."""

    def act() -> None:
        with _client() as client:
            rows = [
                {k: b.get(k) for k in ("grant_id", "period", "budget", "spent", "reserved", "remaining")}
                for b in client.budget(grant_id)
            ]
        _emit(rows, ["grant_id", "period", "budget", "spent", "reserved", "remaining"])

    _guard(act)


def register(app: typer.Typer) -> None:
    """Add the analyst commands to the ``shuyu`` command line."""
    app.command("login")(login)
    app.command("check")(check)
    app.command("run")(run)
    app.command("grants")(grants)
    app.command("budget")(budget)
    app.add_typer(jobs_app, name="jobs")
