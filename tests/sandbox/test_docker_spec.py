"""Docker backend: the container spec is locked down (no engine needed), and run() handles a fake engine."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc
import pytest

from common.errors import SandboxUnavailable
from common.settings import SandboxSettings
from sandbox.docker_runner import DockerRunner
from sandbox.runner import RunSpec, make_runner
from sandbox.scope import ScopedData


@pytest.fixture
def spec(tmp_path) -> RunSpec:
    root = tmp_path / "scoped" / "g-v1-d1"
    (root / "population").mkdir(parents=True)
    path = root / "population" / "persons.parquet"
    path.write_bytes(b"")
    return RunSpec(
        job_id="job-1",
        sql="SELECT 1",
        scoped=ScopedData(root, {("population", "persons"): path}),
        wall_seconds=5,
        memory_mb=512,
        threads=2,
        max_temp_mb=128,
        max_output_rows=100,
        max_output_bytes=1 << 20,
    )


def test_container_spec_is_locked_down(spec, tmp_path):
    runner = DockerRunner(SandboxSettings(backend="docker", docker_image="shuyu:test"))
    kw = runner.container_spec(spec, tmp_path / "job")
    assert kw["image"] == "shuyu:test"
    assert kw["network_mode"] == "none"
    assert kw["read_only"] is True
    assert kw["cap_drop"] == ["ALL"]
    assert kw["security_opt"] == ["no-new-privileges"]
    assert kw["user"] == "65534:65534"
    assert kw["pids_limit"] > 0 and kw["pids_limit"] <= 128
    assert kw["mem_limit"] == kw["memswap_limit"] == "1024m"
    assert kw["nano_cpus"] == 2_000_000_000
    assert "noexec" in kw["tmpfs"]["/tmp"] and "size=192m" in kw["tmpfs"]["/tmp"]
    assert kw["detach"] is True
    volumes = kw["volumes"]
    assert volumes[str(spec.scoped.root.resolve())] == {"bind": "/data", "mode": "ro"}
    assert {"bind": "/opt/shuyu/worker.py", "mode": "ro"} in volumes.values()
    rw = [v for v in volumes.values() if v["mode"] == "rw"]
    assert rw == [{"bind": "/job", "mode": "rw"}]
    assert kw["command"][:2] == ["python", "-I"] and "/opt/shuyu/worker.py" in kw["command"]
    assert set(kw["environment"]) <= {
        "LANG",
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
    }
    assert {u.name for u in kw["ulimits"]} >= {"cpu", "nofile", "fsize", "core"}


def test_payload_uses_in_container_paths(spec):
    payload = json.loads(DockerRunner(SandboxSettings()).job_payload(spec))
    assert payload["tables"] == [["population", "persons", "/data/population/persons.parquet"]]
    assert str(spec.scoped.root) not in json.dumps(payload)


def test_unreachable_engine_is_sandbox_unavailable(spec):
    def broken():
        raise ConnectionError("no docker socket")

    runner = DockerRunner(SandboxSettings(backend="docker"), client_factory=broken)
    with pytest.raises(SandboxUnavailable) as err:
        runner.run(spec)
    assert "Docker" in err.value.message


def test_make_runner_docker_backend_is_lazy():
    runner = make_runner(SandboxSettings(backend="docker"))
    assert isinstance(runner, DockerRunner)


class _FakeContainer:
    def __init__(self, stderr: bytes, code: int) -> None:
        self.status = "exited"
        self.attrs = {"State": {"OOMKilled": False}}
        self._stderr, self._code = stderr, code
        self.removed = False

    def reload(self):
        pass

    def wait(self, timeout=None):
        return {"StatusCode": self._code}

    def logs(self, stdout=True, stderr=True):
        return self._stderr

    def kill(self):
        self.status = "exited"

    def remove(self, force=False):
        self.removed = True


class _FakeClient:
    """Plays the worker: writes the Arrow result into the /job bind (or fails like the worker does)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.kwargs = None
        self.containers = self
        self.container = None

    def ping(self):
        return True

    def run(self, **kwargs):
        self.kwargs = kwargs
        job = next(Path(h) for h, v in kwargs["volumes"].items() if v["bind"] == "/job")
        assert json.loads((job / "spec.json").read_text())["sql"] == "SELECT 1"
        if self.fail:
            self.container = _FakeContainer(b'{"kind": "memory", "message": "out of memory"}\n', 2)
        else:
            table = pa.table({"x": [1]})
            with pa.ipc.new_stream(str(job / "result.arrow"), table.schema) as w:
                w.write_table(table)
            self.container = _FakeContainer(b'{"stats": {"peak_rss_kb": 1234}}\n', 0)
        return self.container


def test_run_with_fake_engine(spec):
    client = _FakeClient()
    out = DockerRunner(SandboxSettings(backend="docker"), client_factory=lambda: client).run(spec)
    assert out.ok and out.table.to_pylist() == [{"x": 1}] and out.peak_rss_kb == 1234
    assert client.container.removed


def test_run_failure_with_fake_engine(spec):
    client = _FakeClient(fail=True)
    out = DockerRunner(SandboxSettings(backend="docker"), client_factory=lambda: client).run(spec)
    assert not out.ok and out.table is None and out.error_kind == "memory"
