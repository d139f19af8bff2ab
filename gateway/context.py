"""The application context: everything built once from Settings and handed to routes by dependency."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from common.clock import Clock
from common.db import make_engine, make_session_factory, unit_of_work
from common.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    services: dict[str, Any] = field(default_factory=dict)
    # In-process nudges so an embedded deployment does not wait for a polling interval. Workers in other
    # processes still find jobs by polling the database; these only shorten the wait.
    job_submitted: threading.Event = field(default_factory=threading.Event)
    job_settled: threading.Condition = field(default_factory=threading.Condition)

    def announce_settled(self) -> None:
        with self.job_settled:
            self.job_settled.notify_all()

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> AppContext:
        settings.ensure_dirs()
        engine = make_engine(settings.database_url)
        return cls(
            settings=settings, engine=engine, sessions=make_session_factory(engine), clock=clock or Clock()
        )

    @contextmanager
    def uow(self) -> Iterator[Session]:
        """One transaction; the state change and its audit event commit together."""
        with unit_of_work(self.sessions) as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
