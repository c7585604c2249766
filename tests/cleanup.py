"""One teardown for the model threads and live sessions tests start (see `conftest.py`).

A test (or its helper) passes what it started to `shut_down_after_test`; after the test, even a
failing one, each is shut down, and one that does not stop within 5 s fails the test.
"""

from __future__ import annotations

from typing import Protocol, TypeVar


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
