"""Teardowns: the model threads and live sessions tests start, and folders of big fixtures.

A test (or its helper) passes what it started to `shut_down_after_test`; after the test, even a
failing one, each is shut down, and one that does not stop within 5 s fails the test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import pytest


class Stoppable(Protocol):
    """An engine or a live session: something with a bounded shutdown."""

    def shutdown(self, timeout: float = ...) -> bool:
        """Stop; False when it did not stop in time."""


S = TypeVar("S", bound=Stoppable)
_started: list[Stoppable] = []


def shut_down_after_test(thing: S) -> S:
    """Shut `thing` down when the running test ends; return it."""
    _started.append(thing)
    return thing


def shut_down_everything() -> list[str]:
    """Shut down what the test started, newest first; what did not stop in time."""
    stuck = []
    while _started:
        thing = _started.pop()
        if not thing.shutdown(timeout=5):
            stuck.append(repr(thing))
    return stuck


@contextmanager
def scratch_folder(factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A new temporary folder for a module's fixture, removed when the fixture is torn down.

    For the big ones (virtual environments, the 500M model): pytest would otherwise keep them
    until the run ends, and together they outgrow a CI machine's disk.
    """
    folder = factory.mktemp(name)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
