"""The local process backend (bubblewrap), defence layer 2 of docs/architecture.md.

Every job runs ``sandbox/worker.py`` in a FRESH bubblewrap sandbox: all namespaces unshared (no network),
a read-only root built from nothing but the Python runtime, the duckdb/pyarrow/numpy packages, the system
shared libraries and the worker file; the scoped data read-only at ``/data``; a private size-capped tmpfs
at ``/tmp``; rlimits set before exec; and a wall-clock kill of the whole sandbox.

The job spec goes to the worker on stdin as JSON, the result comes back on stdout as an Arrow IPC stream
and failures as one JSON line on stderr. A sandbox that dies never yields a (partial) table.
"""

from __future__ import annotations

import functools
import importlib.metadata
import io
import logging
import math
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from common.errors import SandboxError, SandboxUnavailable
from common.settings import SandboxSettings
from sandbox.contract import (
    BASE_ENV,
    DATA_DEST,
    POLL_SECONDS,
    STDERR_CAP,
    TEMP_DEST,
    WORKER_DEST,
    WORKER_SOURCE,
    Runner,
    RunOutcome,
    RunSpec,
    finish,
    job_payload,
    tmpfs_mb,
    worker_lines,
)

log = logging.getLogger(__name__)

INSTALL_HINT = "install bubblewrap (apt-get install -y bubblewrap) or set sandbox.bwrap_path"
# Distributions the worker imports; their files (and nothing else of site-packages) are bound.
WORKER_DISTRIBUTIONS = ("duckdb", "pyarrow", "numpy")
# Address space beyond DuckDB's memory_limit: interpreter, pyarrow/numpy, thread stacks, allocator arenas.
ADDRESS_SPACE_HEADROOM_MB = 2048


def make_runner(settings: SandboxSettings) -> Runner:
    """The configured backend. Raises SandboxUnavailable when it cannot isolate jobs."""
    if settings.backend == "docker":
        from sandbox.docker_runner import DockerRunner

        return DockerRunner(settings)
    return ProcessRunner(settings)


# --------------------------------------------------------------------------------------------------------
# The sandbox profile


@dataclass(frozen=True)
class PythonRuntime:
    """What of the host Python the worker needs: binds (host path -> same path) and PYTHONPATH entries."""

    executable: str
    ro_binds: tuple[str, ...]  # paths bound read-only at the same place
    site_dirs: tuple[str, ...]  # site-packages directories masked by an empty tmpfs ...
    site_entries: tuple[str, ...]  # ... into which only these entries are bound back

    @property
    def pythonpath(self) -> str:
        return ":".join(self.site_dirs)

    def command(self, script: str) -> list[str]:
        # -s/-S: no user site, no site module (no .pth files); -P: no script dir on sys.path; -B: no .pyc.
        # Not -I: it implies -E, which would drop the PYTHONPATH we set inside the cleared environment.
        return [self.executable, "-s", "-S", "-P", "-B", script]


def _distribution_entries(name: str) -> tuple[Path, set[str]]:
    dist = importlib.metadata.distribution(name)
    base = Path(dist.locate_file("")).resolve()
    tops = set()
    for f in dist.files or ():
        first = Path(f).parts[0] if Path(f).parts else ""
        if first and first != ".." and not first.startswith("/"):
            tops.add(first)
    return base, tops


@functools.lru_cache(maxsize=1)
def python_runtime() -> PythonRuntime:
    exe = os.path.realpath(sys.executable)
    binds: list[str] = []
    for key in ("stdlib", "platstdlib"):
        p = os.path.realpath(sysconfig.get_paths()[key])
        if p not in binds:
            binds.append(p)
    binds.append(exe)
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        lib = Path(sysconfig.get_config_var("LIBDIR") or "") / (sysconfig.get_config_var("INSTSONAME") or "")
        if lib.exists():
            binds.append(str(lib))
            real = os.path.realpath(lib)
            if real != str(lib):
                binds.append(real)
    site_dirs: list[str] = []
    entries: list[str] = []
    for name in WORKER_DISTRIBUTIONS:
        base, tops = _distribution_entries(name)
        if str(base) not in site_dirs:
            site_dirs.append(str(base))
        for top in sorted(tops):
            p = base / top
            if p.exists() and str(p) not in entries:
                entries.append(str(p))
    return PythonRuntime(
        executable=exe, ro_binds=tuple(binds), site_dirs=tuple(site_dirs), site_entries=tuple(entries)
    )


def _system_library_args() -> list[str]:
    args = ["--ro-bind", "/usr/lib", "/usr/lib"]
    for d in ("/usr/lib64", "/usr/lib32", "/usr/libx32"):
        if os.path.isdir(d) and not os.path.islink(d):
            args += ["--ro-bind", d, d]
    for d in ("/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    return args


def build_bwrap_argv(
    bwrap: str,
    command: Sequence[str],
    *,
    data_dir: Path | None = None,
    files: Mapping[str, Path] | None = None,
    tmp_mb: int = 64,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """The complete bubblewrap argv running ``command`` in the Shuyu sandbox profile.

    ``data_dir`` is bound read-only at /data; ``files`` maps in-sandbox paths to host files bound read-only
    (the worker, or a test probe). Everything else is absent: no /etc, no home, no project tree.
    """
    rt = python_runtime()
    argv = [
        bwrap,
        "--unshare-all",  # user, ipc, pid, net (loopback only), uts, cgroup
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--hostname",
        "sandbox",
        *_system_library_args(),
    ]
    # The private /tmp first, the runtime after it: a runtime living under /tmp (a CI virtualenv) is then
    # bound on top of the tmpfs instead of hidden under it.
    argv += ["--size", str(tmp_mb * 1024 * 1024), "--perms", "1777", "--tmpfs", "/tmp"]
    for p in rt.ro_binds:
        argv += ["--ro-bind", p, p]
    for site in rt.site_dirs:
        argv += ["--tmpfs", site]
    for entry in rt.site_entries:
        argv += ["--ro-bind", entry, entry]
    for site in rt.site_dirs:
        argv += ["--remount-ro", site]
    for dest, src in (files or {}).items():
        argv += ["--ro-bind", str(src), dest]
    if data_dir is not None:
        argv += ["--ro-bind", str(data_dir), DATA_DEST]
    argv += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--remount-ro",
        "/",
        "--chdir",
        "/tmp",
        "--setenv",
        "PYTHONPATH",
        rt.pythonpath,
    ]
    for key, value in {**BASE_ENV, **(env or {})}.items():
        argv += ["--setenv", key, value]
    argv += ["--", *command]
    return argv


def limits_for(spec: RunSpec) -> dict[int, tuple[int, int]]:
    """The rlimits applied to the sandbox (bwrap and the worker inherit them)."""
    cpu = int(math.ceil(spec.wall_seconds * max(spec.threads, 1))) + 10
    address = (spec.memory_mb + ADDRESS_SPACE_HEADROOM_MB) * 1024 * 1024
    fsize = max(spec.max_temp_mb, 1) * 1024 * 1024
    return {
        resource.RLIMIT_CPU: (cpu, cpu + 5),
        resource.RLIMIT_AS: (address, address),
        resource.RLIMIT_FSIZE: (fsize, fsize),
        resource.RLIMIT_NOFILE: (1024, 1024),
        resource.RLIMIT_CORE: (0, 0),
    }


PRLIMIT_FLAGS = {
    resource.RLIMIT_CPU: "--cpu",
    resource.RLIMIT_AS: "--as",
    resource.RLIMIT_FSIZE: "--fsize",
    resource.RLIMIT_NOFILE: "--nofile",
    resource.RLIMIT_CORE: "--core",
}


def with_limits(argv: list[str], limits: Mapping[int, tuple[int, int]]) -> list[str]:
    """Prefix ``argv`` with util-linux ``prlimit`` so the limits are set by exec, not by ``preexec_fn``
    (which is unsafe in the threaded worker pool: the forked child may deadlock on a lock held by another
    thread). Without prlimit the caller falls back to ``_preexec``."""
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return argv
    flags = []
    for which, (soft, hard) in limits.items():
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:  # an unprivileged host cannot raise a hard limit
            hard = min(hard, current_hard)
            soft = min(soft, hard)
        flags.append(f"{PRLIMIT_FLAGS[which]}={soft}:{hard}")
    return [prlimit, *flags, "--", *argv]


def _preexec(limits: Mapping[int, tuple[int, int]]) -> Callable[[], None]:
    def apply() -> None:
        for which, (soft, hard) in limits.items():
            _, cur_hard = resource.getrlimit(which)
            if cur_hard != resource.RLIM_INFINITY:
                hard = min(hard, cur_hard)
                soft = min(soft, hard)
            resource.setrlimit(which, (soft, hard))

    return apply


# --------------------------------------------------------------------------------------------------------
# Process backend


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the whole sandbox: bwrap's process group (bwrap and, unsandboxed, the worker). Inside
    bubblewrap the worker is in its own session but dies with bwrap (--die-with-parent, PID namespace)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


_SIGNAL_KINDS = {signal.SIGXCPU: "cpu_limit", signal.SIGKILL: "killed", signal.SIGXFSZ: "file_size_limit"}


class ProcessRunner:
    """Runs each job in a fresh bubblewrap sandbox (or, only if explicitly allowed, a plain subprocess)."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.bwrap = shutil.which(settings.bwrap_path)
        if self.bwrap is None and not settings.allow_unsandboxed:
            raise SandboxUnavailable(
                f"bubblewrap ({settings.bwrap_path!r}) was not found, so jobs cannot be isolated: "
                f"{INSTALL_HINT}",
                backend="process",
            )
        if self.bwrap is None:
            log.warning(
                "SANDBOX DISABLED: bubblewrap not found and sandbox.allow_unsandboxed=true; queries run "
                "as plain subprocesses WITHOUT isolation. Never use this in production."
            )

        self._warm = WarmPool()
        # A spare sandbox waits on stdin; make sure it goes when the runner does.
        weakref.finalize(self, self._warm.close)

    @property
    def sandboxed(self) -> bool:
        return self.bwrap is not None

    # -- command construction ------------------------------------------------------------------------
    def job_payload(self, spec: RunSpec, data_dir: str, temp_dir: str) -> bytes:
        return job_payload(spec, data_dir, temp_dir)

    def command(self, spec: RunSpec) -> tuple[list[str], dict[str, str] | None, bytes, str | None]:
        """(argv, env, stdin payload, host temp dir to clean up)."""
        rt = python_runtime()
        if self.bwrap is not None:
            argv = build_bwrap_argv(
                self.bwrap,
                rt.command(WORKER_DEST),
                data_dir=spec.scoped.root,
                files={WORKER_DEST: WORKER_SOURCE},
                tmp_mb=tmpfs_mb(spec),
            )
            return argv, {}, self.job_payload(spec, DATA_DEST, TEMP_DEST), None
        tmp = tempfile.mkdtemp(prefix=f"shuyu-unsandboxed-{spec.job_id[:16]}-")
        log.warning(
            "SANDBOX DISABLED: running job %s WITHOUT isolation (allow_unsandboxed=true)", spec.job_id
        )
        env = {**BASE_ENV, "PYTHONPATH": rt.pythonpath}
        payload = self.job_payload(spec, str(Path(spec.scoped.root).resolve()), str(Path(tmp) / "duckdb"))
        return rt.command(str(WORKER_SOURCE)), env, payload, tmp

    # -- execution -------------------------------------------------------------------------------------
    def run(self, spec: RunSpec, cancelled: Callable[[], bool] = lambda: False) -> RunOutcome:
        start = time.monotonic()
        warm = self._warm.take(spec) if self.bwrap is not None else None
        if warm is not None:
            return self._run_warm(spec, warm, cancelled, start)
        try:
            argv, env, payload, host_tmp = self.command(spec)
        except ValueError:
            raise SandboxError("a scoped table lies outside the scoped directory", job_id=spec.job_id)
        try:
            return self._run(spec, _spawn(argv, env, spec), payload, cancelled, start)
        finally:
            if host_tmp:
                shutil.rmtree(host_tmp, ignore_errors=True)
            if self.bwrap is not None:
                self._warm.prepare(self, spec)

    def _run_warm(
        self, spec: RunSpec, warm: WarmSandbox, cancelled: Callable[[], bool], start: float
    ) -> RunOutcome:
        try:
            warm.admit(spec)
            payload = self.job_payload(spec, DATA_DEST, TEMP_DEST)
        except (ValueError, OSError):
            warm.discard()
            raise SandboxError("a scoped table lies outside the scoped directory", job_id=spec.job_id)
        try:
            return self._run(spec, warm.proc, payload, cancelled, start)
        finally:
            warm.discard()
            self._warm.prepare(self, spec)

    def close(self) -> None:
        """Stop the spare sandbox, if one is waiting."""
        self._warm.close()

    def _run(
        self,
        spec: RunSpec,
        proc: subprocess.Popen,
        payload: bytes,
        cancelled: Callable[[], bool],
        start: float,
    ) -> RunOutcome:
        writer = threading.Thread(target=_feed, args=(proc, payload), daemon=True)
        writer.start()
        out = io.BytesIO()
        err = bytearray()
        reason: str | None = None  # why we killed it
        deadline = start + spec.wall_seconds
        sel = selectors.DefaultSelector()
        for stream in (proc.stdout, proc.stderr):
            os.set_blocking(stream.fileno(), False)
            sel.register(stream, selectors.EVENT_READ)
        try:
            while sel.get_map():
                for key, _ in sel.select(timeout=POLL_SECONDS):
                    try:
                        chunk = os.read(key.fileobj.fileno(), 1 << 16)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    if key.fileobj is proc.stdout:
                        out.write(chunk)
                        if out.tell() > spec.max_output_bytes:
                            reason = "output_too_large"
                    elif len(err) < STDERR_CAP:
                        err += chunk[: STDERR_CAP - len(err)]
                if reason is None and cancelled():
                    reason = "cancelled"
                if reason is None and time.monotonic() > deadline:
                    reason = "timeout"
                if reason is not None:
                    _kill(proc)
                    break
        finally:
            sel.close()
            status = _reap(proc)
            proc.stdout.close()
            proc.stderr.close()
            writer.join(timeout=1)
        if reason is None and self.bwrap is not None and status not in (0, 2) and b"bwrap:" in err:
            if worker_lines(bytes(err))[0] is None:
                first = next((ln for ln in err.decode("utf-8", "replace").splitlines() if "bwrap:" in ln), "")
                raise SandboxUnavailable(
                    f"bubblewrap could not create the sandbox ({first.strip()[:200]}); {INSTALL_HINT}",
                    backend="process",
                )
        return finish(
            spec,
            box="sandbox",
            start=start,
            stopped=reason,
            stderr=bytes(err),
            exit_failure=_exit_failure(status),
            result=out.getvalue,
        )


def _exit_failure(code: int) -> tuple[str, str] | None:
    """How the sandbox's exit status reads: killed by a signal (a resource limit, or us), or a crash."""
    if code < 0 or code > 128:
        sig = -code if code < 0 else code - 128
        kind = _SIGNAL_KINDS.get(sig, "crashed")
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return kind, f"the sandbox was killed by {name}"
    if code != 0:
        return "crashed", f"the sandbox exited with status {code}"
    return None


def _spawn(argv: list[str], env: dict[str, str] | None, spec: RunSpec) -> subprocess.Popen:
    limits = limits_for(spec)
    limited = with_limits(argv, limits)
    return subprocess.Popen(
        limited,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        close_fds=True,
        start_new_session=True,
        preexec_fn=None if limited is not argv else _preexec(limits),
    )


@dataclass
class WarmSandbox:
    """A sandbox started before its job: the worker has imported the engine and waits for its spec.

    Its ``/data`` is an empty slot directory until the job arrives; only then are that job's scoped files
    hard-linked in (a directory bind mount shows files added later), and the slot is removed afterwards.
    """

    proc: subprocess.Popen
    slot: Path
    profile: tuple

    def admit(self, spec: RunSpec) -> None:
        root = Path(spec.scoped.root).resolve()
        for path in spec.scoped.tables.values():
            target = self.slot / Path(path).resolve().relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)

    def discard(self) -> None:
        if self.proc.poll() is None:
            _kill(self.proc)
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.slot, ignore_errors=True)


def _profile(spec: RunSpec) -> tuple:
    """What a warm sandbox was started with; a job with other limits starts cold."""
    return spec.wall_seconds, spec.memory_mb, spec.threads, spec.max_temp_mb


class WarmPool:
    """At most one spare sandbox per runner, prepared after each job for the next."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spare: WarmSandbox | None = None

    def take(self, spec: RunSpec) -> WarmSandbox | None:
        with self.lock:
            spare, self.spare = self.spare, None
        if spare is None:
            return None
        if spare.profile != _profile(spec) or spare.proc.poll() is not None:
            spare.discard()
            return None
        return spare

    def prepare(self, runner: ProcessRunner, spec: RunSpec) -> None:
        with self.lock:
            if self.spare is not None:
                return
        # The slot sits beside the job's scoped directory so hard links stay on one filesystem.
        slot = Path(tempfile.mkdtemp(prefix=".warm-", dir=Path(spec.scoped.root).resolve().parent))
        argv = build_bwrap_argv(
            runner.bwrap,
            python_runtime().command(WORKER_DEST),
            data_dir=slot,
            files={WORKER_DEST: WORKER_SOURCE},
            tmp_mb=tmpfs_mb(spec),
        )
        try:
            spare = WarmSandbox(_spawn(argv, {}, spec), slot, _profile(spec))
        except OSError:
            shutil.rmtree(slot, ignore_errors=True)
            return
        with self.lock:
            if self.spare is None:
                self.spare, spare = spare, None
        if spare is not None:
            spare.discard()

    def close(self) -> None:
        with self.lock:
            spare, self.spare = self.spare, None
        if spare is not None:
            spare.discard()


def _feed(proc: subprocess.Popen, payload: bytes) -> None:
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except (BrokenPipeError, OSError, ValueError):
        pass


def _reap(proc: subprocess.Popen) -> int:
    """Wait for the sandbox; negative signal number or exit code (bwrap reports a signalled worker as
    128 + signal)."""
    return proc.wait()
