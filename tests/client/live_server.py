"""A live demo server on a free loopback port: real HTTP, real workers, the real bubblewrap sandbox."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from common.clock import FixedClock
from common.settings import Settings

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


@dataclass(frozen=True)
class LiveDemo:
    url: str
    tokens: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory):
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    import uvicorn

    from gateway.app import create_app
    from gateway.context import AppContext
    from gateway.demo import seed
    from migrations import upgrade

    data_dir = tmp_path_factory.mktemp("live-demo")
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'shuyu.db'}")
    settings.ensure_dirs()
    upgrade(settings.database_url)
    clock = FixedClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # never today's date
    ctx = AppContext.build(settings, clock=clock)
    try:
        tokens = seed(ctx, scale=3000)
    finally:
        ctx.close()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, clock=clock), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the demo server did not start")
        time.sleep(0.05)
    yield LiveDemo(url=f"http://127.0.0.1:{port}", tokens=tokens)
    server.should_exit = True
    thread.join(timeout=30)
