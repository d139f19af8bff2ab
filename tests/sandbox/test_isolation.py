"""OS isolation on the REAL process backend (bubblewrap): results, no network, no files, limits, kills."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from waiting import group_gone, wait_until

from common.errors import SandboxUnavailable
from common.settings import SandboxSettings
from common.types import ColumnInfo, ColumnRule, Grant, TableInfo
from sandbox import runner as runner_mod
from sandbox.runner import ProcessRunner, RunSpec, build_bwrap_argv, make_runner, python_runtime
from sandbox.scope import materialize

BWRAP = "/usr/bin/bwrap"
needs_bwrap = pytest.mark.skipif(not os.path.exists(BWRAP), reason="bubblewrap not installed")
DENIED = "zz_denied_ssn"
RAW_NAME = "raw_persons_v7.parquet"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("iso")
    raw = base / "domain" / RAW_NAME
    raw.parent.mkdir()
    n = 1000
    pq.write_table(
        pa.table(
            {
                "person_id": list(range(n)),
                "region": [["north", "south", "east", "west"][i % 4] for i in range(n)],
                "income": [float(i) for i in range(n)],
                DENIED: [f"SSN-{i:06d}" for i in range(n)],
            }
        ),
        raw,
    )
    info = TableInfo(
        "population",
        "persons",
        (
            ColumnInfo("person_id", "BIGINT"),
            ColumnInfo("region", "VARCHAR"),
            ColumnInfo("income", "DOUBLE"),
            ColumnInfo(DENIED, "VARCHAR"),
        ),
    )
    grant = Grant(
        id="g-iso",
        version=1,
        organization_id="o",
        dataset="population",
        purpose="test",
        valid_from=date(2024, 1, 1),
        valid_to=date(2030, 1, 1),
        columns={
            "persons": {
                "person_id": ColumnRule.parse("group"),
                "region": ColumnRule.parse("group"),
                "income": ColumnRule.parse("aggregate"),
            }
        },
        privacy_unit="person_id",
        salt="s",
    )
    scoped = materialize(grant, {"persons": (info, raw)}, base / "scoped")
    return {"raw": raw, "scoped": scoped, "base": base}


@pytest.fixture(scope="module")
def runner():
    return ProcessRunner(SandboxSettings(bwrap_path=BWRAP))


def _spec(world, sql, **kw) -> RunSpec:
    base = dict(
        job_id="job-1",
        sql=sql,
        scoped=world["scoped"],
        wall_seconds=30,
        memory_mb=256,
        threads=2,
        max_temp_mb=128,
        max_output_rows=10_000,
        max_output_bytes=4 << 20,
    )
    base.update(kw)
    return RunSpec(**base)


def _probe(tmp_path, code: str, data_dir: Path | None = None) -> dict:
    """Run a Python probe in exactly the runner's sandbox profile (same argv builder and rlimits)."""
    script = tmp_path / "probe.py"
    script.write_text(code)
    rt = python_runtime()
    argv = build_bwrap_argv(
        BWRAP, rt.command("/opt/shuyu/probe.py"), data_dir=data_dir, files={"/opt/shuyu/probe.py": script}
    )
    proc = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


pytestmark = [pytest.mark.sandbox]


@needs_bwrap
def test_aggregate_query_returns_right_numbers(runner, world):
    out = runner.run(
        _spec(
            world,
            "SELECT region, count(*) AS n, sum(income) AS total "
            "FROM population.persons GROUP BY region ORDER BY region",
        )
    )
    assert out.ok, (out.error_kind, out.error_message)
    rows = out.table.to_pylist()
    assert [r["region"] for r in rows] == ["east", "north", "south", "west"]
    assert all(r["n"] == 250 for r in rows)
    assert rows[1]["total"] == sum(float(i) for i in range(0, 1000, 4))
    assert out.peak_rss_kb and out.peak_rss_kb > 1000 and out.wall_ms > 0


@needs_bwrap
def test_denied_column_not_in_scope(runner, world):
    out = runner.run(_spec(world, f"SELECT {DENIED} FROM population.persons"))
    assert not out.ok and out.table is None and out.error_kind == "engine"
    assert "SSN" not in (out.error_message or "")


@needs_bwrap
def test_no_network(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        result = _probe(
            tmp_path,
            f"""
import json, socket
res = {{}}
for host in ("127.0.0.1", "1.1.1.1", "10.0.0.1"):
    try:
        socket.create_connection((host, {port} if host == "127.0.0.1" else 80), timeout=2).close()
        res[host] = "connected"
    except OSError as e:
        res[host] = type(e).__name__
try:
    socket.getaddrinfo("example.com", 80); res["dns"] = "resolved"
except OSError as e:
    res["dns"] = type(e).__name__
import os
res["interfaces"] = sorted(os.listdir("/proc/sys/net/ipv4/conf"))
print(json.dumps(res))
""",
        )
    finally:
        listener.close()
    assert "connected" not in result.values() and result["dns"] != "resolved"
    assert set(result["interfaces"]) <= {"all", "default", "lo"}


@needs_bwrap
def test_env_pid_user_and_filesystem(tmp_path, world):
    result = _probe(
        tmp_path,
        """
import json, os, socket
found_raw, found_denied = [], []
for top in os.listdir("/"):
    if top in ("proc", "dev", "sys"):
        continue
    for root, dirs, files in os.walk("/" + top):
        for f in files:
            p = os.path.join(root, f)
            if f == "RAW_NAME":
                found_raw.append(p)
            if f.endswith(".parquet"):
                try:
                    if b"DENIED" in open(p, "rb").read():
                        found_denied.append(p)
                except OSError:
                    pass
def writable(p):
    try:
        open(p, "w").close(); return True
    except OSError:
        return False
print(json.dumps({"env": dict(os.environ), "pid": os.getpid(), "uid": os.getuid(),
                  "hostname": socket.gethostname(),
                  "root": sorted(os.listdir("/")), "raw": found_raw, "denied": found_denied,
                  "data": sorted(os.listdir("/data/population")), "etc": os.path.exists("/etc/passwd"),
                  "work": os.path.exists("/work"),
                  "home": os.path.exists(os.path.expanduser("~") + "/.bashrc"),
                  "w_data": writable("/data/x"), "w_root": writable("/x"), "w_tmp": writable("/tmp/x")}))
""".replace("RAW_NAME", RAW_NAME).replace("DENIED", DENIED),
        data_dir=world["scoped"].root,
    )
    assert set(result["env"]) - {"PWD", "LC_CTYPE"} == set(runner_mod.BASE_ENV) | {"PYTHONPATH"}
    assert result["pid"] <= 3 and result["uid"] == 65534 and result["hostname"] == "sandbox"
    assert {"data", "dev", "opt", "proc", "tmp", "usr"} <= set(result["root"])
    assert set(result["root"]) <= {
        "data",
        "dev",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "opt",
        "proc",
        "root",
        "tmp",
        "usr",
    }
    assert result["raw"] == [] and result["denied"] == []
    assert result["data"] == ["persons.parquet"]
    assert not result["etc"] and not result["work"] and not result["home"]
    assert not result["w_data"] and not result["w_root"] and result["w_tmp"]


@needs_bwrap
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('/work/main/pyproject.toml')",
        "SELECT * FROM read_parquet('{raw}')",
        "SELECT * FROM read_parquet('/data/../{rawname}')",
        "SELECT * FROM glob('/**')",
        "SELECT * FROM read_blob('/proc/self/environ')",
        "COPY (SELECT 1) TO '/data/out.csv'",
    ],
)
def test_files_outside_scope_unreadable_through_sql(runner, world, sql):
    sql = sql.format(raw=world["raw"], rawname=RAW_NAME)
    out = runner.run(_spec(world, sql))
    assert not out.ok and out.table is None
    assert out.error_kind in {"permission", "io", "engine"}
    assert str(world["raw"]) not in out.error_message and "passwd" not in out.error_message


@needs_bwrap
def test_memory_limit_fails_cleanly(runner, world):
    out = runner.run(
        _spec(
            world,
            "SELECT string_agg(range::VARCHAR || repeat('x', 40), ',') FROM range(50000000)",
            memory_mb=200,
        )
    )
    assert not out.ok and out.table is None and out.error_kind == "memory", out
    assert out.error_message.startswith("out of memory")


@needs_bwrap
def test_time_limit_kills(runner, world):
    start = time.monotonic()
    out = runner.run(
        _spec(
            world,
            "SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range < 0",
            wall_seconds=2,
        )
    )
    elapsed = time.monotonic() - start
    assert not out.ok and out.table is None and out.error_kind == "timeout"
    # The query would run for hours; the margin over the 2 s limit absorbs a loaded machine (CI has 2 cores).
    assert elapsed < 2 + 8


@needs_bwrap
def test_cancel_kills(runner, world):
    start = time.monotonic()
    out = runner.run(
        _spec(world, "SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range < 0"),
        cancelled=lambda: time.monotonic() - start > 0.5,
    )
    assert not out.ok and out.table is None and out.error_kind == "cancelled"
    assert time.monotonic() - start < 0.5 + 8  # the query would run for hours; margin for a loaded machine


@needs_bwrap
def test_externally_killed_sandbox_has_no_table(world, monkeypatch):
    runner = ProcessRunner(SandboxSettings(bwrap_path=BWRAP))  # no spare yet: this run starts cold
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def capture(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(runner_mod.subprocess, "Popen", capture)

    def killer():
        # Kill mid-job: once the sandbox has taken the whole job from its stdin (the query then runs for
        # hours), not after a fixed sleep that under load can fall before or long after that point.
        wait_until(lambda: bool(started), what="the sandbox to start")
        wait_until(lambda: started[0].stdin.closed, what="the job to be handed to the sandbox")
        os.killpg(started[0].pid, signal.SIGKILL)

    thread = threading.Thread(target=killer)
    thread.start()
    out = runner.run(
        _spec(world, "SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range < 0")
    )
    thread.join()
    assert not out.ok and out.table is None and out.error_kind == "killed"
    # Nothing of the sandbox survives (nor the spare started for the next job, once the runner closes).
    spare = runner._warm.spare
    runner.close()
    for proc in [started[0]] + ([spare.proc] if spare else []):
        wait_until(lambda pid=proc.pid: group_gone(pid), what="the sandbox's whole process group to exit")


@needs_bwrap
def test_output_caps(runner, world):
    out = runner.run(_spec(world, "SELECT * FROM population.persons", max_output_rows=10))
    assert not out.ok and out.table is None and out.error_kind == "too_many_rows"
    out = runner.run(_spec(world, "SELECT repeat('x', 10000) FROM range(1000)", max_output_bytes=100_000))
    assert not out.ok and out.table is None and out.error_kind == "output_too_large"


@needs_bwrap
def test_fresh_sandbox_per_job(runner, world):
    # A file written to /tmp by one job (via COPY into DuckDB's temp dir) is gone for the next one.
    first = runner.run(_spec(world, "COPY (SELECT 42 AS x) TO '/tmp/duckdb/leak.csv'"))
    assert first.ok
    second = runner.run(_spec(world, "SELECT * FROM read_csv('/tmp/duckdb/leak.csv')"))
    assert not second.ok and second.error_kind == "io"


# -- without bubblewrap (no sandbox marker needed, but kept in this file) --------------------------------


def test_missing_bwrap_refuses_with_install_hint():
    with pytest.raises(SandboxUnavailable) as err:
        make_runner(SandboxSettings(bwrap_path="/nonexistent/bwrap"))
    assert "apt-get install -y bubblewrap" in err.value.message


def test_unsandboxed_only_when_allowed_and_loud(world, caplog):
    with caplog.at_level(logging.WARNING, logger="sandbox.runner"):
        runner = ProcessRunner(SandboxSettings(bwrap_path="/nonexistent/bwrap", allow_unsandboxed=True))
        out = runner.run(_spec(world, "SELECT count(*) AS n FROM population.persons"))
    assert not runner.sandboxed
    assert out.ok and out.table.to_pylist() == [{"n": 1000}]
    assert sum("WITHOUT isolation" in r.message for r in caplog.records) >= 2


@needs_bwrap
def test_a_warm_sandbox_sees_only_its_own_job_and_is_replaced(world):
    runner = ProcessRunner(SandboxSettings(bwrap_path=BWRAP))
    first = runner.run(_spec(world, "SELECT count(*) AS n FROM population.persons"))
    assert first.ok and runner._warm.spare is not None  # a spare waits for the next job
    spare = runner._warm.spare
    assert list(spare.slot.iterdir()) == []  # nothing is mounted into it before its job arrives
    second = runner.run(_spec(world, "SELECT count(*) AS n FROM population.persons"))
    assert second.ok and second.table.to_pylist() == first.table.to_pylist()
    assert spare.proc.poll() is not None and not spare.slot.exists()  # used once, then gone
    assert runner._warm.spare is not spare
    runner.close()
    assert runner._warm.spare is None
