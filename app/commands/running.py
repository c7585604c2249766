"""The model thread as a command uses it: loaded (its progress on stderr), then shut down."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.config import Settings
from app.inference.engine import Engine
from app.inference.factory import backend_factory
from app.inference.types import BackendInfo
from app.terminal import LoadReporter


@contextmanager
def loaded_engine(settings: Settings, *, warm_up: bool = False) -> Iterator[tuple[Engine, BackendInfo]]:
    """A model thread with the model of `settings` loaded, and what was loaded; shut down on leaving.

    Loading reports its progress on stderr. A model that can't load raises its `BackendError`
    (a command answers it with `app.terminal.fail_backend`).
    """
    engine = Engine(backend_factory(settings.engine), warm_up=warm_up, listener=LoadReporter())
    try:
        yield engine, engine.wait_ready()
    finally:
        engine.shutdown()
