"""``shuyu.Client``: check, run and download analyst queries against a Shuyu server.

Usable from scripts and Jupyter notebooks::

    import shuyu
    client = shuyu.Client("http://127.0.0.1:8000", token)        # or shuyu.Client.from_env()
    verdict = client.check("SELECT district, count(*) AS n FROM persons GROUP BY district")
    result = client.run("SELECT district, count(*) AS n FROM persons GROUP BY district")
    result.to_pandas()

A refusal raises :class:`shuyu.errors.PolicyRefused` carrying the rule, column, clause and hint; a job that
fails, is cancelled or is held for review raises :class:`shuyu.errors.JobFailed`.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from shuyu.errors import ConnectionFailed, JobFailed, PolicyRefused, ShuyuError, error_from_body

TERMINAL = frozenset({"succeeded", "failed", "cancelled", "held_for_review", "rejected"})
#: The server answers a long-poll after at most this many seconds; the client asks again until its own wait.
SERVER_WAIT = 30.0


@dataclass(frozen=True)
class Verdict:
    """The dry run's answer: allowed (with the SQL that would run) or denied (with every violation)."""

    allowed: bool
    violations: list[dict[str, Any]]
    rewritten_sql: str | None
    output_columns: list[str]
    epsilon: float | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Verdict:
        violations = body.get("violations") or ([body["violation"]] if body.get("violation") else [])
        dp = body.get("dp") or {}
        return cls(
            allowed=body.get("verdict") == "allowed",
            violations=list(violations),
            rewritten_sql=body.get("rewritten_sql"),
            output_columns=list(body.get("output_columns") or []),
            epsilon=dp.get("epsilon") if isinstance(dp, dict) else None,
            raw=body,
        )

    def raise_for_denial(self) -> Verdict:
        """Raise :class:`PolicyRefused` for a denied verdict (the first violation is the most important)."""
        if self.allowed:
            return self
        first = dict(self.violations[0]) if self.violations else {}
        code = str(first.pop("code", "policy_violation"))
        message = str(first.pop("message", "the query was refused"))
        raise PolicyRefused(message, status=422, code=code, details={**first, "violations": self.violations})


@dataclass
class Result:
    """A released result: ``rows`` as dicts, or the same table as Arrow or pandas."""

    job: dict[str, Any]
    parquet: bytes = field(repr=False)

    def to_arrow(self):
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(self.parquet))

    def to_pandas(self):
        try:
            import pandas  # noqa: F401 - only to give a clear message when it is missing
        except ImportError as missing:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from missing
        return self.to_arrow().to_pandas()

    @property
    def columns(self) -> list[str]:
        return self.to_arrow().column_names

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.to_arrow().to_pylist()

    @property
    def gate(self) -> dict[str, Any] | None:
        """The output gate's report: what was withheld and why, and the DP intervals if any."""
        return self.job.get("gate")


class Client:
    """A connection to one Shuyu server as one analyst (a bearer token)."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0, transport: Any = None):
        if not url:
            raise ShuyuError("no server URL: pass one or set SHUYU_URL")
        if not token:
            raise ShuyuError("no token: pass one, set SHUYU_TOKEN or run `shuyu login`")
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "shuyu-client"},
            timeout=timeout + SERVER_WAIT,
            transport=transport,
        )

    @classmethod
    def from_env(cls, **kwargs: Any) -> Client:
        """A client from ``SHUYU_URL`` / ``SHUYU_TOKEN``, else the profile saved by ``shuyu login``."""
        from shuyu.profile import resolve

        url, token = resolve()
        return cls(url, token, **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ConnectionFailed(f"cannot reach {self.url}: {type(error).__name__}") from error
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise error_from_body(response.status_code, body)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    @staticmethod
    def _dp(dp: float | None) -> dict[str, Any] | None:
        return None if dp is None else {"epsilon": float(dp)}

    # -- queries and jobs --------------------------------------------------------------------------
    def check(self, sql: str, *, dp: float | None = None) -> Verdict:
        """The dry run: nothing runs and no budget is spent."""
        body = {"sql": sql, "dp": self._dp(dp)}
        return Verdict.from_body(self._json("POST", "/api/v1/queries/check", json=body))

    def submit(self, sql: str, *, dp: float | None = None, wait: float = 0) -> dict[str, Any]:
        """Submit a job; a refusal raises :class:`PolicyRefused` and creates no job."""
        params = {"wait": min(wait, SERVER_WAIT)} if wait else None
        return self._json("POST", "/api/v1/jobs", json={"sql": sql, "dp": self._dp(dp)}, params=params)

    def job(self, job_id: str, *, wait: float = 0) -> dict[str, Any]:
        params = {"wait": min(wait, SERVER_WAIT)} if wait else None
        return self._json("GET", f"/api/v1/jobs/{job_id}", params=params)

    def wait(
        self, job_id: str, *, timeout: float = 300.0, on_state: Callable[[dict], None] | None = None
    ) -> dict[str, Any]:
        """Long-poll until the job is terminal or ``timeout`` seconds have passed; returns the job."""
        deadline = time.monotonic() + timeout
        job = self.job(job_id)
        while job["state"] not in TERMINAL:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ShuyuError(
                    f"job {job_id} is still {job['state']} after {timeout:.0f} s", code="timeout"
                )
            if on_state:
                on_state(job)
            job = self.job(job_id, wait=left)
        return job

    def jobs(self) -> list[dict[str, Any]]:
        body = self._json("GET", "/api/v1/jobs")
        return body["items"] if isinstance(body, dict) and "items" in body else body

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._json("POST", f"/api/v1/jobs/{job_id}/cancel")

    def result(self, job_id: str) -> Result:
        """The released result of a succeeded job (raises :class:`JobFailed` otherwise)."""
        job = self.job(job_id)
        _raise_unless_released(job)
        data = self._request("GET", f"/api/v1/jobs/{job_id}/result", params={"format": "parquet"}).content
        return Result(job=job, parquet=data)

    def download(self, job_id: str, fmt: str = "csv") -> bytes:
        """The released result as bytes in ``csv``, ``json`` or ``parquet``."""
        return self._request("GET", f"/api/v1/jobs/{job_id}/result", params={"format": fmt}).content

    def run(
        self,
        sql: str,
        *,
        dp: float | None = None,
        wait: float = 300.0,
        on_state: Callable[[dict], None] | None = None,
    ) -> Result:
        """Submit, wait for the job and download its released result."""
        job = self.submit(sql, dp=dp, wait=min(wait, SERVER_WAIT))
        if job["state"] not in TERMINAL:
            job = self.wait(job["id"], timeout=wait, on_state=on_state)
        _raise_unless_released(job)
        data = self._request("GET", f"/api/v1/jobs/{job['id']}/result", params={"format": "parquet"}).content
        return Result(job=job, parquet=data)

    # -- grants and budget -------------------------------------------------------------------------
    def grants(self) -> list[dict[str, Any]]:
        body = self._json("GET", "/api/v1/grants")
        return body["items"] if isinstance(body, dict) and "items" in body else body

    def budget(self, grant_id: str | None = None) -> list[dict[str, Any]]:
        """The DP budget of one grant, or of every grant you hold that runs under DP."""
        ids = [grant_id] if grant_id else [g["id"] for g in self.grants() if _dp_mode(g) != "off"]
        return [self._json("GET", f"/api/v1/grants/{gid}/budget") for gid in ids]

    def iter_pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list (``items`` + ``next_cursor``), or of a plain list."""
        while True:
            body = self._json("GET", path, params=params)
            if isinstance(body, list):
                yield from body
                return
            yield from body.get("items", [])
            cursor = body.get("next_cursor")
            if not cursor:
                return
            params = {**params, "cursor": cursor}


def _dp_mode(grant: dict[str, Any]) -> str:
    dp = grant.get("dp") or {}
    return str(dp.get("mode", "off")) if isinstance(dp, dict) else "off"


def _raise_unless_released(job: dict[str, Any]) -> None:
    state = job.get("state")
    if state == "succeeded":
        return
    if state == "held_for_review":
        raise JobFailed(
            f"job {job['id']} is held for a supervisor's review; nothing is released until it is approved",
            job=job,
            code="held_for_review",
        )
    reason = job.get("error_message") or f"the job is {state}"
    raise JobFailed(f"job {job['id']} {state}: {reason}", job=job, code=f"job_{state}")
