"""The production compose file: the right services, healthchecks, ordering, and no hard-coded secret.

No Docker engine runs on these machines, so the file is checked as data.
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_images_and_healthchecks():
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "gateway", "worker"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for name in ("migrate", "gateway", "worker"):
        assert services[name]["image"] == "shuyu:latest"
    assert services["migrate"]["command"] == ["shuyu", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("gateway", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "healthcheck" in services[name]
    assert "/health" in " ".join(services["gateway"]["healthcheck"]["test"])


def test_no_secret_is_hard_coded():
    text = (ROOT / "docker-compose.yml").read_text()
    keys = re.findall(r"(?im)^\s*-?\s*(\w*(?:password|secret|token|key)\w*)\s*[:=]\s*(\S+)", text)
    assert keys, "the compose file sets POSTGRES_PASSWORD somewhere"
    for key, value in keys:
        assert value.startswith("${"), f"{key} is hard-coded"
    for url in re.findall(r"postgresql\+psycopg://([^@\s]+)@", text):
        user, _, password = url.partition(":")
        assert password.startswith("${"), "database password must come from the environment"


def test_the_database_url_points_every_service_at_postgres():
    services = compose()["services"]
    for name in ("migrate", "gateway", "worker"):
        assert services[name]["environment"]["SHUYU_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_the_image_installs_bubblewrap_and_runs_unprivileged():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "bubblewrap" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)


# --- issue 16 item 8: files that start ---------------------------------------------------------------------

import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tomllib  # noqa: E402

import pytest  # noqa: E402

DATA = "/var/lib/shuyu"


def test_the_image_creates_the_data_directory_for_its_user():
    """Old image: USER 10001 but /var/lib/shuyu never created, so the first write failed."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    uid = re.search(r"useradd [^\n]*--uid (\d+)", dockerfile).group(1)
    made = re.search(rf"install -d -o {uid} -g {uid}\b[^\n]* {DATA}\b", dockerfile) or re.search(
        rf"chown[^\n]*{uid}[^\n]* {DATA}\b", dockerfile
    )
    assert made, f"{DATA} must be created owned by uid {uid}"
    assert re.search(rf"^USER {uid}(:{uid})?$", dockerfile, re.M)
    assert re.search(rf"^ENV SHUYU_DATA_DIR={DATA}$", dockerfile, re.M)


def test_the_image_copies_every_package_it_installs():
    """Old image: pyproject lists the `shuyu` package but the Dockerfile never copied it: pip failed."""
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\S+) \./\1$", dockerfile, re.M))
    missing = {p.split(".")[0] for p in packages} - copied
    assert not missing, f"the Dockerfile does not COPY {sorted(missing)}"


def test_the_worker_reaches_docker_sock_through_its_group_not_root():
    worker = compose()["services"]["worker"]
    assert "/var/run/docker.sock:/var/run/docker.sock" in worker["volumes"]
    assert worker.get("user") in (None, "10001", "10001:10001")  # the image's unprivileged user
    assert any(str(g).startswith("${DOCKER_GID:?") for g in worker.get("group_add", ())), worker


def test_sibling_job_containers_see_the_workers_paths():
    """The docker runner binds paths into job containers that run on the HOST's engine: they must exist at
    the same path on the host. Old file: a named volume (no host path) and the worker's own install path."""
    services = compose()["services"]
    for name in ("gateway", "worker"):
        env = services[name]["environment"]
        assert env["SHUYU_DATA_DIR"] == DATA
        assert f"{DATA}:{DATA}" in services[name]["volumes"], f"{name}: data must be a same-path host bind"
    env = services["worker"]["environment"]
    assert env["SHUYU_SANDBOX__DOCKER_JOB_DIR"].startswith(DATA + "/")
    assert env["SHUYU_SANDBOX__DOCKER_WORKER_IN_IMAGE"] == "true"
    assert re.search(
        r"install -m 0444 sandbox/worker.py /opt/shuyu/worker.py", (ROOT / "Dockerfile").read_text()
    )


def test_the_docker_runner_binds_only_shared_paths_when_told(tmp_path):
    from common.settings import SandboxSettings
    from sandbox.docker_runner import DockerRunner
    from sandbox.runner import WORKER_DEST, WORKER_SOURCE, RunSpec
    from sandbox.scope import ScopedData

    jobs = tmp_path / "data" / "docker-jobs"
    settings = SandboxSettings(backend="docker", docker_job_dir=jobs, docker_worker_in_image=True)
    runner = DockerRunner(settings)
    scoped = ScopedData(root=tmp_path / "data" / "scoped" / "jobs" / "j1", tables={})
    spec = RunSpec.from_settings(settings, job_id="j1", sql="SELECT 1", scoped=scoped, max_output_rows=10)
    volumes = runner.container_spec(spec, jobs / "shuyu-job-x")["volumes"]
    assert str(WORKER_SOURCE) not in volumes and WORKER_DEST not in {v["bind"] for v in volumes.values()}
    assert all(src.startswith(str(tmp_path / "data")) for src in volumes), volumes
    assert runner.job_root == jobs


def _compose_tool() -> list[str] | None:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("podman-compose") and shutil.which("podman"):
        return ["podman-compose"]
    return None


def test_the_compose_file_validates_with_a_compose_tool():
    tool = _compose_tool()
    if tool is None:
        pytest.skip("no docker compose, docker-compose or podman-compose (+podman) here")
    env = {**os.environ, "POSTGRES_PASSWORD": "example", "DOCKER_GID": "999"}
    ok = subprocess.run(
        [*tool, "-f", str(ROOT / "docker-compose.yml"), "config"], env=env, capture_output=True
    )
    assert ok.returncode == 0, ok.stderr.decode()[-2000:]
    assert b"/var/lib/shuyu" in ok.stdout
    env.pop("DOCKER_GID")
    missing = subprocess.run(
        [*tool, "-f", str(ROOT / "docker-compose.yml"), "config"], env=env, capture_output=True
    )
    assert missing.returncode != 0 and b"DOCKER_GID" in missing.stdout + missing.stderr
