"""The model thread as a command uses it: loaded (its progress on stderr), then shut down."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.config import Settings
from app.inference.factory import backend_factory
from app.inference.model_thread import ModelThread
from app.inference.types import BackendInfo
from app.terminal import LoadReporter


@contextmanager
def loaded_model(settings: Settings, *, warm_up: bool = False) -> Iterator[tuple[ModelThread, BackendInfo]]:
    """A model thread with the model of `settings` loaded, and what was loaded; shut down on leaving.

    Loading reports its progress on stderr. A model that can't load raises its `BackendError`
    (a command answers it with `app.terminal.fail_backend`).
    """
    model_thread = ModelThread(backend_factory(settings.engine), warm_up=warm_up, listener=LoadReporter())
    try:
        yield model_thread, model_thread.wait_ready()
    finally:
        model_thread.shutdown()
