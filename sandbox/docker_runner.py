"""Docker backend (defence layer 2, docs/architecture.md): one locked-down container per job.

``container_spec`` is pure (unit-tested without an engine): ``network_mode=none``, read-only root, a noexec
tmpfs at /tmp, ``cap_drop=ALL``, ``no-new-privileges``, pids/memory/cpu limits, user nobody, the scoped data
read-only at /data, the worker file read-only at /opt/shuyu/worker.py and a per-job directory at /job for
the spec and the Arrow result (a container's log stream would mangle binary Arrow bytes).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.errors import SandboxUnavailable
from common.settings import SandboxSettings
from sandbox.contract import (
    BASE_ENV,
    DATA_DEST,
    POLL_SECONDS,
    STDERR_CAP,
    WORKER_DEST,
    WORKER_SOURCE,
    RunOutcome,
    RunSpec,
    finish,
    job_payload,
    tmpfs_mb,
)

log = logging.getLogger(__name__)

JOB_DEST = "/job"
NOBODY = "65534:65534"
PIDS_LIMIT = 64


def _default_client_factory():
    import docker

    return docker.from_env()


class DockerRunner:
    def __init__(
        self,
        settings: SandboxSettings,
        client_factory: Callable[[], Any] | None = None,
        job_root: Path | None = None,
    ) -> None:
        self.settings = settings
        self.client_factory = client_factory or _default_client_factory
        job_root = job_root or settings.docker_job_dir  # sibling containers: a path the host also has
        self.job_root = Path(job_root) if job_root else None
        self._client = None

    # -- pure --------------------------------------------------------------------------------------------
    def container_spec(self, spec: RunSpec, job_dir: Path | str = "/var/lib/shuyu/jobs/JOB") -> dict:
        """kwargs for ``client.containers.run``; ``job_dir`` is the host dir holding spec.json/result."""
        memory = f"{spec.memory_mb + 512}m"  # DuckDB's memory_limit + the interpreter and Arrow buffers
        volumes = {
            str(Path(spec.scoped.root).resolve()): {"bind": DATA_DEST, "mode": "ro"},
            str(WORKER_SOURCE): {"bind": WORKER_DEST, "mode": "ro"},
            str(job_dir): {"bind": JOB_DEST, "mode": "rw"},
        }
        if self.settings.docker_worker_in_image:  # this install's path does not exist on the engine's host
            del volumes[str(WORKER_SOURCE)]
        return {
            "image": self.settings.docker_image,
            "command": [
                "python",
                "-I",
                "-B",
                WORKER_DEST,
                "--spec",
                f"{JOB_DEST}/spec.json",
                "--out",
                f"{JOB_DEST}/result.arrow",
            ],
            "name": f"shuyu-job-{_safe_name(spec.job_id)}",
            "detach": True,
            "auto_remove": False,  # removed explicitly after the logs (stderr) are read
            "network_mode": "none",
            "read_only": True,
            "tmpfs": {"/tmp": f"size={tmpfs_mb(spec)}m,noexec,nosuid,nodev,mode=1777"},
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "pids_limit": PIDS_LIMIT,
            "mem_limit": memory,
            "memswap_limit": memory,  # no swap beyond the memory limit
            "nano_cpus": int(spec.threads * 1_000_000_000),
            "user": NOBODY,
            "ipc_mode": "none",
            "working_dir": "/tmp",
            "environment": dict(BASE_ENV),
            "volumes": volumes,
            "ulimits": _ulimits(spec),
            "labels": {"shuyu.job": spec.job_id},
        }

    def job_payload(self, spec: RunSpec) -> bytes:
        return job_payload(spec, DATA_DEST, "/tmp/duckdb")

    # -- engine ------------------------------------------------------------------------------------------
    def client(self):
        if self._client is None:
            try:
                self._client = self.client_factory()
                self._client.ping()
            except Exception as exc:  # docker.errors.DockerException and connection errors
                self._client = None
                raise SandboxUnavailable(
                    f"the Docker engine is not reachable ({type(exc).__name__}); start "
                    "Docker or use sandbox.backend=process",
                    backend="docker",
                ) from None
        return self._client

    def run(self, spec: RunSpec, cancelled: Callable[[], bool] = lambda: False) -> RunOutcome:
        client = self.client()
        start = time.monotonic()
        if self.job_root is not None:
            self.job_root.mkdir(parents=True, exist_ok=True)
        job_dir = Path(tempfile.mkdtemp(prefix="shuyu-job-", dir=self.job_root))
        container = None
        try:
            os.chmod(job_dir, 0o777)  # the container runs as nobody
            (job_dir / "spec.json").write_bytes(self.job_payload(spec))
            os.chmod(job_dir / "spec.json", 0o644)
            container = client.containers.run(**self.container_spec(spec, job_dir))
            reason = None
            deadline = start + spec.wall_seconds
            while True:
                container.reload()
                if container.status in ("exited", "dead"):
                    break
                if cancelled():
                    reason = "cancelled"
                elif time.monotonic() > deadline:
                    reason = "timeout"
                result = job_dir / "result.arrow"
                if reason is None and result.exists() and result.stat().st_size > spec.max_output_bytes:
                    reason = "output_too_large"
                if reason:
                    container.kill()
                    break
                time.sleep(POLL_SECONDS)
            code = container.wait(timeout=10).get("StatusCode", -1) if reason is None else -9
            err = container.logs(stdout=False, stderr=True)[-STDERR_CAP:]
            state = container.attrs.get("State", {}) if reason is None else {}
            return self._outcome(
                spec, reason, code, err, job_dir / "result.arrow", start, oom=bool(state.get("OOMKilled"))
            )
        finally:
            if container is not None:
                try:
                    container.remove(force=True)
                except Exception:  # noqa: BLE001 - best effort
                    log.warning("could not remove container for job %s", spec.job_id)
            shutil.rmtree(job_dir, ignore_errors=True)

    @staticmethod
    def _outcome(
        spec: RunSpec,
        reason: str | None,
        code: int,
        err: bytes,
        result: Path,
        start: float,
        oom: bool = False,
    ) -> RunOutcome:
        failed = None if code == 0 else "killed" if code in (137, -9) else "crashed"
        return finish(
            spec,
            box="container",
            start=start,
            stopped=reason,
            stderr=err,
            limit_failure=("memory", "out of memory: the container exceeded its memory limit")
            if oom
            else None,
            exit_failure=(failed, f"the container exited with status {code}") if failed else None,
            result=lambda: _read_capped(result, spec.max_output_bytes + 1),
        )


def _read_capped(path: Path, limit: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(limit)


def _safe_name(job_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in job_id)[:64] or "job"


def _ulimits(spec: RunSpec) -> list:
    from docker.types import Ulimit

    cpu = int(spec.wall_seconds * max(spec.threads, 1)) + 10
    return [
        Ulimit(name="cpu", soft=cpu, hard=cpu + 5),
        Ulimit(name="nofile", soft=1024, hard=1024),
        Ulimit(name="core", soft=0, hard=0),
        Ulimit(name="fsize", soft=spec.max_temp_mb << 20, hard=spec.max_temp_mb << 20),
    ]
