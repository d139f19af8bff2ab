"""Benchmark: peak memory against input size, at the edge and in the upload conversion (issue 16).

    python bench/bench_memory.py [--sizes 50 200] [--skip-http]

For each size (MB) it prints:

* ``convert``: peak RSS growth of converting a CSV of that size to Parquet (``catalog.convert``), measured
  in a fresh process (``ru_maxrss`` after imports vs after the conversion);
* ``anon body``: a real server (uvicorn, one process) gets an anonymous JSON body of that size on a protected
  route: status, seconds to the answer, server peak RSS (VmHWM) before and after;
* ``upload``: the same server gets an authenticated multipart upload of the CSV: status, seconds, peak RSS.

The CSV has five columns (an id, a district name in Chinese, an 18-digit ID-like code kept as text, an
income and a date), so every conversion path (int, text, double, date) is exercised.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def make_csv(path: Path, megabytes: int, encoding: str = "utf-8") -> int:
    rows = 0
    with open(path, "w", encoding=encoding, newline="") as out:
        out.write("person_id,district,code,income,joined\n")
        while out.tell() < megabytes * MB:
            block = "".join(
                f"{rows + i},渝中区,5001031990{(rows + i) % 10**8:08d},{1000 + (rows + i) % 9000}.5,"
                f"2024-0{1 + i % 9}-1{i % 9}\n"
                for i in range(10_000)
            )
            out.write(block)
            rows += 10_000
    return rows


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def convert_peak(path: Path, staging: Path) -> dict:
    """Run in a fresh interpreter: the peak RSS growth of converting ``path``."""
    code = f"""
import json, resource, sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from catalog import convert
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
c = convert.convert_upload(Path({str(path)!r}), "a.csv", "text/csv", Path({str(staging)!r}))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
c.path.unlink()
print(json.dumps({{"before_mb": before, "after_mb": after, "rows": c.rows}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _server(data_dir: Path) -> tuple[subprocess.Popen, str, str]:
    """Start a server with one data source user; returns (process, base url, token)."""
    setup = f"""
import sys; sys.path.insert(0, {str(ROOT)!r})
from common.clock import Clock
from common.settings import Settings
from gateway.context import AppContext
from gateway import identity
from migrations import upgrade
s = Settings(data_dir={str(data_dir)!r}); s.ensure_dirs(); upgrade(s.database_url)
ctx = AppContext.build(s)
with ctx.uow() as db:
    now = Clock().now()
    identity.create_organization(db, name="src", kind="data_source", now=now)
    identity.create_user(
        db, username="src", organization="src", roles=["data_source"], verified=True, now=now
    )
    print(identity.create_token(db, "src", name="bench", now=now))
"""
    token = subprocess.run([sys.executable, "-c", setup], capture_output=True, text=True, check=True)
    port = _free_port()
    env = {**os.environ, "SHUYU_DATA_DIR": str(data_dir), "SHUYU_SANDBOX__WORKERS": "0"}
    serve = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import uvicorn; "
        "from common.settings import Settings; from gateway.app import create_app; "
        f"uvicorn.run(create_app(Settings(), start_workers=False), port={port}, log_level='warning')"
    )
    proc = subprocess.Popen([sys.executable, "-c", serve], env=env, cwd=str(ROOT))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a busy machine imports slowly
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.2)
    return proc, url, token.stdout.strip().splitlines()[-1]


def _timed(fn):
    started = time.monotonic()
    response = fn()
    return response.status_code, time.monotonic() - started


def http_rows(sizes: list[int], csvs: dict[int, Path], work: Path) -> list[str]:
    import httpx

    proc, url, token = _server(work / "server")
    lines = []
    try:
        with httpx.Client(base_url=url, timeout=600) as client:
            client.post("/api/v1/catalog/datasets", json={}, headers={"Authorization": f"Bearer {token}"})
            for size in sizes:
                base = _hwm_mb(proc.pid)

                def anonymous(size=size):
                    body = (b" " * MB for _ in range(size))
                    headers = {"content-type": "application/json", "content-length": str(size * MB)}
                    try:
                        return client.post("/api/v1/catalog/datasets", content=body, headers=headers)
                    except httpx.HTTPError as error:  # the server may close before the body is sent
                        raise SystemExit(f"anonymous request failed: {error}") from None

                status, seconds = _timed(anonymous)
                lines.append(
                    f"{size:>5} MB  anon body  status {status}  {seconds:6.2f} s  "
                    f"server peak {base:7.1f} -> {_hwm_mb(proc.pid):7.1f} MB"
                )
            _dataset(client, token)
            for size in sizes:
                base = _hwm_mb(proc.pid)
                with open(csvs[size], "rb") as f:
                    status, seconds = _timed(
                        lambda f=f: client.put(
                            "/api/v1/catalog/datasets/bench/tables/people/data",
                            files={"file": ("people.csv", f, "text/csv")},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                    )
                lines.append(
                    f"{size:>5} MB  upload     status {status}  {seconds:6.2f} s  "
                    f"server peak {base:7.1f} -> {_hwm_mb(proc.pid):7.1f} MB"
                )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return lines


def _dataset(client, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    dataset = {
        "name": "bench",
        "title": "bench",
        "update_frequency": "monthly",
        "sector": "民政",
        "open_attribute": "conditional",
    }
    client.post("/api/v1/catalog/datasets", json=dataset, headers=headers).raise_for_status()
    client.post("/api/v1/catalog/datasets/bench/tables", json={"name": "people"}, headers=headers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shuyu-bench-") as tmp:
        work = Path(tmp)
        (work / "staging").mkdir()
        csvs = {}
        for size in args.sizes:
            csvs[size] = work / f"in-{size}.csv"
            rows = make_csv(csvs[size], size)
            peak = convert_peak(csvs[size], work / "staging")
            print(
                f"{size:>5} MB  convert    {rows:>9} rows  peak RSS {peak['before_mb']:7.1f} -> "
                f"{peak['after_mb']:7.1f} MB (+{peak['after_mb'] - peak['before_mb']:.1f})",
                flush=True,
            )
        if not args.skip_http:
            for line in http_rows(args.sizes, csvs, work):
                print(line, flush=True)


if __name__ == "__main__":
    main()
