"""The server's model thread: one backend, a bounded first-come queue, background model switches.

Unlike the app's narration worker (latest request wins), a server must answer every
accepted request in order, and refuse work it can't queue (HTTP 429) rather than pile it
up. One plain thread owns the backend for its whole life (MLX needs that); requests reach
it through a bounded queue and stream their answers back through a callback.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from app.inference.base import BackendError, VisionBackend
from app.inference.types import BackendInfo, CancelToken, GenerationChunk, GenerationRequest

log = logging.getLogger(__name__)
Status = Literal["loading", "ready", "error"]
BackendFactory = Callable[[str | None], VisionBackend]  # model name (None: default) → backend


class QueueFull(Exception):
    """Every queue slot is taken."""


class NotReady(Exception):
    """The model is loading or failed to load."""


@dataclass
class Work:
    """One request waiting for, or being served by, the model thread."""

    request: GenerationRequest
    on_chunk: Callable[[GenerationChunk | BaseException | None], None]  # None marks the end
    cancel: CancelToken = field(default_factory=CancelToken)


class ModelHost:
    """Owns the model thread."""

    def __init__(self, factory: BackendFactory, *, model: str | None = None, queue_size: int = 4) -> None:
        self._factory = factory
        self._queue: queue.Queue[Work | tuple[str, str | None] | None] = queue.Queue(maxsize=queue_size)
        self.status: Status = "loading"
        self.error = ""
        self.model_name = model
        self.info: BackendInfo | None = None
        self.started_at = time.time()
        self._switch_to: str | bool | None = False  # False: no switch pending
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="smolsight-server-model", daemon=True)
        self._thread.start()

    # --- called from the web server's threads ---------------------------------------------
    def submit(self, work: Work) -> None:
        """Queue a request; raises NotReady or QueueFull."""
        if self.status != "ready":
            raise NotReady(self.error or "the model is loading")
        try:
            self._queue.put_nowait(work)
        except queue.Full:
            raise QueueFull from None

    def switch_model(self, model: str | None) -> None:
        """Load another model in the background (after the running request)."""
        with self._lock:
            self.status = "loading"
            self.error = ""
            self.model_name = model
        self._queue.put(("switch", model))

    def close(self, timeout: float = 10.0) -> bool:
        """Stop the thread after the running request."""
        self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def waiting(self) -> int:
        """Requests queued behind the running one."""
        return self._queue.qsize()

    # --- the model thread ---------------------------------------------------------------------
    def _load(self, model: str | None, old: VisionBackend | None) -> VisionBackend | None:
        if old is not None:
            old.close()
        try:
            backend = self._factory(model)
            backend.load()
            backend.warm_up()
        except BackendError as exc:
            self.status, self.error = "error", str(exc)
            return None
        except Exception as exc:
            log.exception("model failed to load")
            self.status, self.error = "error", f"{type(exc).__name__}: {exc}"
            return None
        self.info = backend.info
        self.status = "ready"
        return backend

    def _run(self) -> None:
        backend = self._load(self.model_name, None)
        while True:
            item = self._queue.get()
            if item is None:
                break
            if isinstance(item, tuple):
                backend = self._load(item[1], backend)
                continue
            if backend is None or item.cancel.cancelled:
                item.on_chunk(NotReady(self.error or "the model is not loaded"))
                continue
            try:
                for chunk in backend.stream(item.request, item.cancel):
                    item.on_chunk(chunk)
                item.on_chunk(None)
            except Exception as exc:  # reported to that client; the server goes on
                log.exception("generation failed")
                item.on_chunk(exc)
        if backend is not None:
            backend.close()
