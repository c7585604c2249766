"""Work on a thread of its own, its outcome reported by callbacks: the one way SmolSight does that.

The callbacks are usually Qt signals' `emit` (queued to the receiver's thread), so the work's
end reaches the window without the window waiting. Whatever the work raises is reported, never
lost: `explain` words the failures the caller expects, anything else is said by its type and
message. One job at a time per `BackgroundJob`; `wait` joins it (closing a window).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def said(exc: BaseException) -> str:
    """An unexpected failure in one line: its type and message."""
    return f"{type(exc).__name__}: {exc}"


class BackgroundJob(Generic[T]):
    """One piece of work at a time on a named daemon thread (module docs)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the work is still going."""
        return self._thread is not None and self._thread.is_alive()

    def start(
        self,
        work: Callable[[], T],
        *,
        done: Callable[[T], object],
        failed: Callable[[str], object],
        explain: Callable[[Exception], str | None] = lambda _exc: None,
    ) -> bool:
        """Run `work`; then `done(result)`, or `failed(message)`. False (nothing started) while one runs."""
        if self.running:
            return False

        def run() -> None:
            try:
                result = work()
            except Exception as exc:  # the caller must hear of any failure, not wait forever
                failed(explain(exc) or said(exc))
            else:
                done(result)

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait for the work to end; True when it has (or none ran)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running
