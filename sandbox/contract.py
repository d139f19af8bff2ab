"""The contract every sandbox backend implements, and what they share.

A backend (``sandbox.runner.ProcessRunner`` with bubblewrap, ``sandbox.docker_runner.DockerRunner``) takes a
``RunSpec`` — the checked SQL, the scoped Parquet files, the limits — runs ``sandbox/worker.py`` isolated from
the host, and returns a ``RunOutcome``. How it isolates and watches the worker is its own business; how a run
is judged is not: ``finish`` is the one failure ladder both apply, so a timeout, a crash or an oversized
result reads the same whichever backend ran the job. Both import this module and never each other.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.ipc

from common.settings import SandboxSettings
from sandbox.scope import ScopedData

WORKER_SOURCE = Path(__file__).resolve().with_name("worker.py")
WORKER_DEST = "/opt/shuyu/worker.py"
DATA_DEST = "/data"
TEMP_DEST = "/tmp/duckdb"
# Environment inside the sandbox (after --clearenv), besides PYTHONPATH.
BASE_ENV = {
    "LANG": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
}
POLL_SECONDS = 0.1
STDERR_CAP = 64 * 1024


@dataclass(frozen=True)
class RunSpec:
    job_id: str
    sql: str
    scoped: ScopedData
    wall_seconds: float
    memory_mb: int
    threads: int
    max_temp_mb: int
    max_output_rows: int
    max_output_bytes: int

    @classmethod
    def from_settings(
        cls,
        settings: SandboxSettings,
        *,
        job_id: str,
        sql: str,
        scoped: ScopedData,
        max_output_rows: int | None = None,
    ) -> RunSpec:
        return cls(
            job_id=job_id,
            sql=sql,
            scoped=scoped,
            wall_seconds=settings.wall_seconds,
            memory_mb=settings.memory_mb,
            threads=settings.threads,
            max_temp_mb=settings.max_temp_mb,
            max_output_rows=min(max_output_rows or settings.max_output_rows, settings.max_output_rows),
            max_output_bytes=settings.max_output_bytes,
        )


@dataclass(frozen=True)
class RunOutcome:
    ok: bool
    table: pa.Table | None
    error_kind: str | None
    error_message: str | None
    wall_ms: float
    peak_rss_kb: int | None


class Runner(Protocol):
    """A sandbox backend: run one job isolated, never raising for what the job did (that is the outcome);
    raises ``SandboxUnavailable`` only when it cannot isolate jobs at all."""

    def run(self, spec: RunSpec, cancelled: Callable[[], bool] = lambda: False) -> RunOutcome: ...


def tmpfs_mb(spec: RunSpec) -> int:
    """The sandbox's /tmp: DuckDB's spill limit plus room for the interpreter's own files."""
    return spec.max_temp_mb + 64


def job_payload(spec: RunSpec, data_dir: str, temp_dir: str) -> bytes:
    """What the worker reads on start: the SQL, each table's file as seen inside the sandbox, the limits.

    Raises ValueError if a scoped file lies outside the scoped directory (it could not be mounted)."""
    root = Path(spec.scoped.root).resolve()
    tables = []
    for (dataset, table), path in sorted(spec.scoped.tables.items()):
        rel = Path(path).resolve().relative_to(root)
        tables.append([dataset, table, f"{data_dir.rstrip('/')}/{rel.as_posix()}"])
    return json.dumps(
        {
            "sql": spec.sql,
            "tables": tables,
            "memory_mb": spec.memory_mb,
            "threads": spec.threads,
            "max_temp_mb": spec.max_temp_mb,
            "max_rows": spec.max_output_rows,
            "data_dir": data_dir,
            "temp_dir": temp_dir,
        }
    ).encode()


def worker_lines(stderr: bytes) -> tuple[tuple[str, str] | None, int | None]:
    """(the last structured error the worker wrote, its self-reported peak RSS in KiB), each if any.

    >>> worker_lines(b'noise\\n{"kind": "memory", "message": "oom"}\\n{"stats": {"peak_rss_kb": 7}}')
    (('memory', 'oom'), 7)
    >>> worker_lines(b"Traceback ...")
    (None, None)
    """
    error: tuple[str, str] | None = None
    peak: int | None = None
    for line in stderr.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        if isinstance(obj.get("kind"), str):
            error = obj["kind"][:40], str(obj.get("message") or "")[:300]
        stats = obj.get("stats")
        if isinstance(stats, dict) and isinstance(stats.get("peak_rss_kb"), int):
            peak = stats["peak_rss_kb"]
    return error, peak


def finish(
    spec: RunSpec,
    *,
    box: str,
    start: float,
    stopped: str | None,
    stderr: bytes,
    result: Callable[[], bytes],
    limit_failure: tuple[str, str] | None = None,
    exit_failure: tuple[str, str] | None = None,
) -> RunOutcome:
    """Judge a finished run. The first rung that matches decides:

    1. the backend stopped it (``stopped``: cancelled, timeout, output_too_large);
    2. the backend saw a resource limit hit that the worker could not report (``limit_failure``);
    3. the worker said what went wrong (its last structured line on stderr);
    4. the exit status says it died (``exit_failure``, worded by the backend);
    5. the result stream: larger than allowed, unreadable, or more rows than allowed; else success.

    ``box`` names the isolation in messages ("sandbox", "container"). ``result`` returns the result bytes,
    at most one byte more than the limit.
    """
    wall_ms = (time.monotonic() - start) * 1000
    structured, peak = worker_lines(stderr)

    def fail(kind: str, message: str) -> RunOutcome:
        return RunOutcome(False, None, kind, message, wall_ms, peak)

    if stopped == "cancelled":
        return fail("cancelled", f"the job was cancelled and its {box} killed")
    if stopped == "timeout":
        return fail("timeout", f"the query exceeded the {spec.wall_seconds:g} s time limit")
    if stopped == "output_too_large":
        return fail("output_too_large", f"the result exceeded {spec.max_output_bytes} bytes")
    if limit_failure is not None:
        return fail(*limit_failure)
    if structured is not None:
        return fail(*structured)
    if exit_failure is not None:
        return fail(*exit_failure)
    try:
        data = result()
        if len(data) > spec.max_output_bytes:
            return fail("output_too_large", f"the result exceeded {spec.max_output_bytes} bytes")
        table = pa.ipc.open_stream(data).read_all()
    except (pa.ArrowInvalid, OSError, ValueError):
        return fail("crashed", f"the {box} returned an invalid result stream")
    if table.num_rows > spec.max_output_rows:
        return fail("too_many_rows", f"the result has more than {spec.max_output_rows} rows")
    return RunOutcome(True, table, None, None, wall_ms, peak)
