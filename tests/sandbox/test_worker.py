"""The in-sandbox worker on its own: protocol, hardening order, fixed error messages."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest

from sandbox import worker

WORKER = Path(worker.__file__)


@pytest.fixture
def data(tmp_path) -> Path:
    root = tmp_path / "data"
    (root / "population").mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "person_id": list(range(50)),
                "region": ["north", "south"] * 25,
                "note": ["Secret Value 123"] * 50,
            }
        ),
        root / "population" / "persons.parquet",
    )
    return root


def _spec(data: Path, sql: str, **kw) -> dict:
    spec = {
        "sql": sql,
        "tables": [["population", "persons", str(data / "population" / "persons.parquet")]],
        "memory_mb": 256,
        "threads": 1,
        "max_temp_mb": 64,
        "max_rows": 1000,
        "data_dir": str(data),
        "temp_dir": str(data.parent / "tmp" / "duckdb"),
    }
    spec.update(kw)
    return spec


def _run(spec: dict | bytes) -> subprocess.CompletedProcess:
    payload = spec if isinstance(spec, bytes) else json.dumps(spec).encode()
    return subprocess.run(
        [sys.executable, "-s", "-P", str(WORKER)], input=payload, capture_output=True, check=False, timeout=60
    )


def _error(proc) -> dict:
    lines = [json.loads(ln) for ln in proc.stderr.decode().splitlines() if ln.startswith("{")]
    errors = [ln for ln in lines if "kind" in ln]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def test_worker_imports_nothing_from_the_project():
    tree = ast.parse(WORKER.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    assert names <= {"__future__", "json", "os", "sys", "duckdb", "pyarrow", "resource"}


def test_success_writes_arrow_stream(data):
    proc = _run(
        _spec(data, "SELECT region, count(*) AS n FROM population.persons GROUP BY region ORDER BY 1")
    )
    assert proc.returncode == 0, proc.stderr
    table = pa.ipc.open_stream(proc.stdout).read_all()
    assert table.to_pylist() == [{"region": "north", "n": 25}, {"region": "south", "n": 25}]
    stats = [json.loads(ln) for ln in proc.stderr.decode().splitlines() if ln.startswith("{")]
    assert stats and stats[-1]["stats"]["peak_rss_kb"] > 0


def test_conversion_error_never_echoes_values(data):
    proc = _run(_spec(data, "SELECT CAST(note AS INTEGER) FROM population.persons"))
    assert proc.returncode == 2 and proc.stdout == b""
    err = _error(proc)
    assert err == {"kind": "conversion", "message": "the query failed a type conversion"}
    assert b"Secret" not in proc.stderr


def test_too_many_rows(data):
    proc = _run(_spec(data, "SELECT * FROM population.persons", max_rows=10))
    assert proc.returncode == 2 and proc.stdout == b""
    assert _error(proc)["kind"] == "too_many_rows"
    assert _run(_spec(data, "SELECT * FROM population.persons", max_rows=50)).returncode == 0


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('/work/main/pyproject.toml')",
        "SELECT * FROM glob('/**')",
        "SET enable_external_access=true",
        "SET memory_limit='100GB'",
        "INSTALL httpfs",
        "LOAD httpfs",
    ],
)
def test_hardening_blocks_files_settings_and_extensions(data, sql):
    proc = _run(_spec(data, sql))
    assert proc.returncode == 2 and proc.stdout == b""
    err = _error(proc)
    assert err["kind"] in {"permission", "engine", "io"}
    assert "passwd" not in err["message"] and "/work" not in err["message"]


def test_settings_locked_in_place(data):
    sql = (
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
        "'lock_configuration', 'autoload_known_extensions', 'autoinstall_known_extensions', 'threads', "
        "'memory_limit', 'max_temp_directory_size', 'temp_directory') ORDER BY name"
    )
    proc = _run(_spec(data, sql))
    assert proc.returncode == 0, proc.stderr
    got = {r["name"]: r["value"] for r in pa.ipc.open_stream(proc.stdout).read_all().to_pylist()}
    assert got["enable_external_access"] == "false" and got["lock_configuration"] == "true"
    assert got["autoload_known_extensions"] == "false" and got["autoinstall_known_extensions"] == "false"
    assert got["threads"] == "1" and got["temp_directory"].endswith("duckdb")
    assert got["memory_limit"].startswith("244") or "MiB" in got["memory_limit"]


def test_table_outside_data_dir_refused(data, tmp_path):
    outside = tmp_path / "elsewhere.parquet"
    pq.write_table(pa.table({"x": [1]}), outside)
    proc = _run(_spec(data, "SELECT 1", tables=[["population", "x", str(outside)]]))
    assert proc.returncode == 2 and _error(proc)["kind"] == "bad_spec"


def test_bad_spec():
    proc = _run(b"not json")
    assert proc.returncode == 2 and _error(proc)["kind"] == "bad_spec"


def test_classify_is_fixed_text():
    import duckdb

    assert worker.classify(duckdb.OutOfMemoryException("x 42"))[0] == "memory"
    assert worker.classify(duckdb.InterruptException("x"))[0] == "interrupted"
    kind, message = worker.classify(duckdb.BinderException("column 'secret' value 99"))
    assert kind == "engine" and "secret" not in message and "99" not in message
    assert worker.classify(RuntimeError("leak 123")) == (
        "engine",
        "the engine rejected the query (RuntimeError)",
    )
