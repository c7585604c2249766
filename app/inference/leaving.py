"""Model threads on their way out, stopped without waiting where they are let go."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.inference.model_thread import ModelThread


class LeavingThreads:
    """Model threads on their way out: never waited on where they are let go, all joined at shutdown.

    A model replaced by another (a switch on the server, the most accurate model turned off)
    must not hold up whoever replaced it: `stop` shuts it down on a short-lived thread of its
    own; `keep` only remembers one that ends by itself (a retired model finishing its queue).
    `shutdown` stops and joins whatever has not ended yet. Safe from any thread.
    """

    def __init__(self) -> None:
        self._threads: list[ModelThread] = []
        self._lock = threading.Lock()

    def keep(self, model_thread: ModelThread) -> None:
        """Remember `model_thread` for `shutdown` (those that ended are let go)."""
        with self._lock:
            self._threads = [t for t in self._threads if t.running] + [model_thread]

    def stop(self, model_thread: ModelThread) -> None:
        """Shut `model_thread` down on a thread of its own, and keep it for `shutdown`."""
        self.keep(model_thread)
        threading.Thread(target=model_thread.shutdown, name="smolsight-model-stop", daemon=True).start()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Stop and join every one kept; False when one did not stop in time (each is asked)."""
        with self._lock:
            threads, self._threads = self._threads, []
        stopped = [t.shutdown(timeout) for t in threads]  # every one asked, even after a failure
        return all(stopped)
