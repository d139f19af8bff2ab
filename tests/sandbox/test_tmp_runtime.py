"""The sandbox runs when the worker's Python packages live under /tmp, as in a CI virtualenv (issue 16 item
7), and says what it could not load when the engine is missing.

The old profile mounted the private /tmp tmpfs after binding the runtime, hiding a site-packages under
/tmp: every job failed with "the sandbox could not load the engine". The reproduction is a real virtualenv
in a /tmp directory holding duckdb, pyarrow and numpy (hard-linked from the installed ones when the
filesystem allows, copied otherwise), run with the venv's interpreter so the runtime is detected there.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "sandbox" / "worker.py"
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
pytestmark = [pytest.mark.sandbox]

PROBE = """
import json, subprocess, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from sandbox.runner import build_bwrap_argv, python_runtime
rt = python_runtime()
worker = {"/opt/shuyu/worker.py": Path(sys.argv[2])}
argv = build_bwrap_argv("bwrap", rt.command("/opt/shuyu/worker.py"), files=worker)
spec = {"sql": "SELECT 42 AS answer", "tables": [], "memory_mb": 256, "threads": 1, "max_temp_mb": 16,
        "max_rows": 10}
proc = subprocess.run(argv, input=json.dumps(spec).encode(), capture_output=True, timeout=120)
import pyarrow.ipc
rows = pyarrow.ipc.open_stream(proc.stdout).read_all().to_pylist() if proc.returncode == 0 else None
print(json.dumps({"site_dirs": list(rt.site_dirs), "rc": proc.returncode, "rows": rows,
                  "stderr": proc.stderr.decode()[-500:]}))
"""


def _link_tree(src: Path, dest: Path) -> None:
    try:
        shutil.copytree(src, dest, copy_function=os.link) if src.is_dir() else os.link(src, dest)
    except OSError:  # another filesystem: copy
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src, dest) if src.is_dir() else shutil.copy2(src, dest)


def _venv_under_tmp(root: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(root)], check=True
    )
    site = next((root / "lib").glob("python3*/site-packages"))
    for name in ("duckdb", "pyarrow", "numpy"):
        dist = importlib.metadata.distribution(name)
        base = Path(dist.locate_file("")).resolve()
        tops = {Path(f).parts[0] for f in dist.files or () if Path(f).parts and Path(f).parts[0] != ".."}
        for top in tops:
            if (base / top).exists() and not (site / top).exists():
                _link_tree(base / top, site / top)
    return root / "bin" / "python"


@needs_bwrap
def test_a_runtime_under_tmp_is_not_hidden_by_the_private_tmp():
    with tempfile.TemporaryDirectory(prefix="shuyu-venv-", dir="/tmp") as tmp:
        python = _venv_under_tmp(Path(tmp) / "venv")
        out = subprocess.run(
            [str(python), "-c", PROBE, str(ROOT), str(WORKER)], capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout.strip().splitlines()[-1])
    assert all(d.startswith("/tmp/") for d in result["site_dirs"]), result  # the case is reproduced
    assert result["rc"] == 0, result["stderr"]
    assert result["rows"] == [{"answer": 42}]


def test_a_missing_engine_is_named():
    env = {"PYTHONPATH": "/nonexistent/site-packages", "PATH": os.environ.get("PATH", "")}
    proc = subprocess.run(
        [sys.executable, "-s", "-S", "-P", "-B", str(WORKER)],
        input=b"{}",
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    error = json.loads(proc.stderr.decode().splitlines()[0])
    assert error["kind"] == "setup"
    assert "importing duckdb failed (ModuleNotFoundError)" in error["message"]
    assert "/nonexistent/site-packages" in error["message"]
