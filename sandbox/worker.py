"""The in-sandbox program: hardened DuckDB over the scoped Parquet files, Arrow IPC out.

Runs INSIDE the sandbox (bubblewrap or a container) as ``python worker.py [--spec FILE] [--out FILE]``.
It imports nothing from this project (only the stdlib, duckdb and pyarrow), so the sandbox binds just this
one file. Protocol:

* stdin (or ``--spec FILE``): one JSON object
  ``{"sql": ..., "tables": [[dataset, table, path], ...], "memory_mb": ..., "threads": ...,
  "max_temp_mb": ..., "max_rows": ..., "data_dir": "/data", "temp_dir": "/tmp/duckdb"}``;
* stdout (or ``--out FILE``): the result as one Arrow IPC stream, written only once the whole result is known
  to fit the row cap (never a partial result);
* stderr: on failure, ONE JSON line ``{"kind": <category>, "message": <fixed text>}`` and exit code 2;
  on every normal exit a last ``{"stats": {"peak_rss_kb": N}}`` line.
  Messages never carry engine text: DuckDB errors can echo data values (conversion errors do).
"""

from __future__ import annotations

import json
import os
import sys

EXIT_ERROR = 2

# DuckDB exception class name -> (kind, fixed message). Checked along the class's MRO, first match wins.
_ERRORS: dict[str, tuple[str, str]] = {
    "OutOfMemoryException": ("memory", "out of memory: the query exceeded the sandbox memory limit"),
    "ConversionException": ("conversion", "the query failed a type conversion"),
    "InterruptException": ("interrupted", "the query was interrupted"),
    "PermissionException": ("permission", "permission denied by the sandbox"),
    "IOException": ("io", "the engine could not read or write a file the sandbox allows"),
    "ParserException": ("syntax", "the engine could not parse the query (ParserException)"),
    "CatalogException": ("engine", "the engine rejected the query (CatalogException)"),
    "BinderException": ("engine", "the engine rejected the query (BinderException)"),
    "OutOfRangeException": ("engine", "a value was out of range (OutOfRangeException)"),
    "DivideByZeroException": ("engine", "the query divided by zero (DivideByZeroException)"),
    "InvalidInputException": ("engine", "the engine rejected the query (InvalidInputException)"),
}


class WorkerError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def classify(exc: BaseException) -> tuple[str, str]:
    """Map an exception to a (kind, fixed message) pair that carries no engine text."""
    if isinstance(exc, WorkerError):
        return exc.kind, exc.message
    if isinstance(exc, MemoryError):
        return _ERRORS["OutOfMemoryException"]
    for cls in type(exc).__mro__:
        if cls.__name__ in _ERRORS:
            return _ERRORS[cls.__name__]
    name = type(exc).__name__
    if not name.isidentifier():  # paranoia: the class name is the only variable part of the message
        name = "Exception"
    return "engine", f"the engine rejected the query ({name})"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _dir_prefix(path: str) -> str:
    return path.rstrip("/") + "/"


def open_engine(spec: dict):
    """Open in-memory DuckDB and harden it: defence layer 3 of docs/architecture.md, in its order."""
    import duckdb

    data_dir = str(spec.get("data_dir") or "/data")
    temp_dir = str(spec.get("temp_dir") or "/tmp/duckdb")
    os.makedirs(temp_dir, exist_ok=True)
    con = duckdb.connect(
        ":memory:", config={"autoload_known_extensions": False, "autoinstall_known_extensions": False}
    )
    # 1. Only the scoped mount (and the temp dir) are reachable, then the temp dir itself.
    con.execute(
        f"SET allowed_directories=[{_quote_str(_dir_prefix(data_dir))}, {_quote_str(_dir_prefix(temp_dir))}]"
    )
    con.execute(f"SET temp_directory={_quote_str(temp_dir)}")
    # 2. One schema per dataset, one view per scoped table (while external access is still on).
    schemas: set[str] = set()
    root = os.path.realpath(data_dir)
    for dataset, table, path in spec.get("tables", []):
        real = os.path.realpath(path)
        if not real.startswith(_dir_prefix(root)):
            raise WorkerError("bad_spec", "a table path lies outside the scoped data directory")
        if dataset not in schemas:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote_ident(dataset)}")
            schemas.add(dataset)
        con.execute(
            f"CREATE VIEW {_quote_ident(dataset)}.{_quote_ident(table)} AS "
            f"SELECT * FROM read_parquet({_quote_str(real)})"
        )
    # 3. Lock down.
    con.execute("SET enable_external_access=false")
    con.execute("SET autoload_known_extensions=false")
    con.execute("SET autoinstall_known_extensions=false")
    con.execute("SET allow_community_extensions=false")
    con.execute(f"SET memory_limit='{int(spec['memory_mb'])}MB'")
    con.execute(f"SET threads={int(spec['threads'])}")
    con.execute(f"SET max_temp_directory_size='{int(spec['max_temp_mb'])}MB'")
    con.execute("SET lock_configuration=true")
    return con


def run_query(con, sql: str, max_rows: int):
    """Run ``sql`` and return a pyarrow Table, failing with too_many_rows past ``max_rows``."""
    import pyarrow as pa

    reader = con.execute(sql).to_arrow_reader(8192)
    batches = []
    rows = 0
    for batch in reader:
        rows += batch.num_rows
        if rows > max_rows:
            raise WorkerError("too_many_rows", f"the result has more than {max_rows} rows")
        batches.append(batch)
    return pa.Table.from_batches(batches, schema=reader.schema)


def write_stream(table, out) -> None:
    import pyarrow as pa
    import pyarrow.ipc

    with pa.ipc.new_stream(out, table.schema) as writer:
        writer.write_table(table)


def _stats() -> None:
    """One ``{"stats": {...}}`` line on stderr: the worker's own peak RSS (the host cannot see it through
    bubblewrap's PID-1 reaper)."""
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sys.stderr.write(json.dumps({"stats": {"peak_rss_kb": int(peak)}}) + "\n")
        sys.stderr.flush()
    except Exception:
        pass


def _fail(kind: str, message: str) -> int:
    try:
        sys.stderr.write(json.dumps({"kind": kind, "message": message}) + "\n")
        sys.stderr.flush()
    except Exception:
        pass
    _stats()
    return EXIT_ERROR


def _load_engine() -> str | None:
    """None when duckdb and pyarrow import; otherwise which one failed, how, and where it was looked for
    (the runtime's own paths, never data): enough for an operator to see which bind is missing."""
    for module in ("duckdb", "pyarrow.ipc"):
        try:
            __import__(module)
        except Exception as exc:  # noqa: BLE001 - ImportError, or a missing shared library (OSError)
            where = os.environ.get("PYTHONPATH", "") or "(no PYTHONPATH)"
            return (
                f"the sandbox could not load the engine: importing {module} failed ({type(exc).__name__}); "
                f"searched {where[:150]}"
            )
    return None


def main(argv: list[str]) -> int:
    spec_path = out_path = None
    args = list(argv)
    while args:
        flag = args.pop(0)
        if flag == "--spec" and args:
            spec_path = args.pop(0)
        elif flag == "--out" and args:
            out_path = args.pop(0)
        else:
            return _fail("bad_spec", "unknown worker argument")
    # Import the engine before waiting for the spec: a runner may start this sandbox ahead of time, so
    # the interpreter start-up and imports overlap with the previous job instead of delaying this one.
    missing = _load_engine()
    if missing:
        return _fail("setup", missing)
    try:
        if spec_path:
            with open(spec_path, "rb") as fh:
                raw = fh.read()
        else:
            raw = sys.stdin.buffer.read()
        spec = json.loads(raw)
        sql = spec["sql"]
        max_rows = int(spec["max_rows"])
    except Exception:
        return _fail("bad_spec", "the job spec is not valid JSON with sql and limits")
    try:
        con = open_engine(spec)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a fixed message
        kind, _ = classify(exc)
        return _fail("setup" if kind == "engine" else kind, "the sandbox could not prepare the engine")
    try:
        table = run_query(con, sql, max_rows)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            return _fail(*_ERRORS["InterruptException"])
        if isinstance(exc, SystemExit):
            raise
        return _fail(*classify(exc))
    try:
        if out_path:
            with open(out_path, "wb") as fh:
                write_stream(table, fh)
        else:
            write_stream(table, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    except BrokenPipeError:
        return _fail("output", "the result pipe was closed")
    except Exception as exc:  # noqa: BLE001
        return _fail("output", f"the result could not be serialized ({type(exc).__name__})")
    _stats()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
