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
