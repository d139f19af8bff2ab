"""Typed settings, read from the environment (prefix ``SHUYU_``) once, then handed down.

Nothing here is a module-level singleton: ``create_app(settings)`` and the CLI build one ``Settings``
and pass it to whatever needs it.

>>> s = Settings(data_dir="/tmp/shuyu-doc")
>>> s.database_url
'sqlite:////tmp/shuyu-doc/shuyu.db'
>>> s.domain_store_dir.name
'domain'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class CatalogSettings(BaseModel):
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    profile_sample_rows: int = Field(default=500, gt=0)


class PolicySettings(BaseModel):
    max_sql_chars: int = Field(default=20_000, gt=0)
    max_sql_depth: int = Field(default=64, gt=0)
    default_k: int = Field(default=10, ge=2)


class SandboxSettings(BaseModel):
    backend: Literal["process", "docker"] = "process"
    # Runs jobs without bubblewrap. Only for a developer's laptop; never set in production.
    allow_unsandboxed: bool = False
    bwrap_path: str = "bwrap"
    wall_seconds: float = Field(default=120.0, gt=0)
    memory_mb: int = Field(default=2048, gt=0)
    threads: int = Field(default=2, gt=0)
    max_temp_mb: int = Field(default=1024, gt=0)
    max_output_rows: int = Field(default=100_000, gt=0)
    max_output_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    per_org_concurrency: int = Field(default=2, gt=0)
    per_org_queue_cap: int = Field(default=20, gt=0)
    # A running job whose worker has not beaten for this long is lost (workers beat once a second).
    lost_worker_seconds: float = Field(default=10.0, ge=3)
    workers: int = Field(default=2, ge=0)
    docker_image: str = "shuyu:latest"
    # Docker backend run by a worker that is itself a container (docker-compose.yml): job containers are its
    # siblings on the host's engine, so every path bound into them must exist at the same path on the host.
    # The per-job spec/result directory goes here (under the shared data directory), and the worker program
    # is taken from the image (/opt/shuyu/worker.py) instead of bound from this process's install.
    docker_job_dir: Path | None = None
    docker_worker_in_image: bool = False


class RiskSettings(BaseModel):
    """Supervisor risk-signal thresholds (issue 11): crossing one raises an audited alert
    (gateway/risk.py)."""

    window_hours: float = Field(default=24.0, gt=0, le=24 * 31)  # signals count jobs in this trailing window
    auditor_hits: int = Field(default=1, ge=1)  # results held by the disclosure auditor (or held for review)
    failed_jobs: int = Field(default=5, ge=1)  # failed jobs inside any burst_minutes span
    burst_minutes: float = Field(default=10.0, gt=0)
    near_duplicates: int = Field(default=5, ge=2)  # jobs sharing one normalized SQL fingerprint
    queries_per_hour: float = Field(default=60.0, gt=0)  # average submission rate over the window
    epsilon_spent: float = Field(default=5.0, gt=0)  # DP budget burned (committed epsilon) in the window


class AuditSettings(BaseModel):
    hash_algorithm: Literal["sha256", "sm3"] = "sha256"
    # How often the workers sign the chain's head with the platform key (a checkpoint holders keep).
    checkpoint_seconds: float = Field(default=3600.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHUYU_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path("./shuyu-data")
    database_url: str | None = None
    # Body limits enforced at the edge while streaming: uploads (multipart routes) and everything else.
    max_request_bytes: int = Field(default=600 * 1024 * 1024, gt=0)
    max_json_bytes: int = Field(default=1024 * 1024, gt=0)
    catalog: CatalogSettings = CatalogSettings()
    policy: PolicySettings = PolicySettings()
    sandbox: SandboxSettings = SandboxSettings()
    audit: AuditSettings = AuditSettings()
    risk: RiskSettings = RiskSettings()

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        self.data_dir = Path(self.data_dir).expanduser().absolute()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'shuyu.db'}"
        return self

    @property
    def domain_store_dir(self) -> Path:
        """Where raw datasets live as Parquet: inside the domain, never served."""
        return self.data_dir / "domain"

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @property
    def scoped_dir(self) -> Path:
        """Per-grant scoped copies, the only data a sandbox ever mounts."""
        return self.data_dir / "scoped"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"

    def ensure_dirs(self) -> None:
        for path in (
            self.data_dir,
            self.domain_store_dir,
            self.staging_dir,
            self.scoped_dir,
            self.results_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)
