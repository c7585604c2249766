"""A real uvicorn server on 127.0.0.1 in a background thread, for tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from app.config import EngineSettings
from app.inference.backend import VisionBackend
from app.inference.engine import BoundedFifo, Engine
from app.inference.factory import create_backend
from app.server.api import ServedModel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run `app` on a free loopback port; yield its base URL; stop it afterwards."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="smolsight-test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def served_model(
    make: Callable[[str | None], VisionBackend], *, name: str | None = None, queue_size: int = 4
) -> ServedModel:
    """A started bounded-FIFO engine serving `make(model name)`, as `smolsight serve` builds it."""
    engine = Engine(lambda: make(None), policy=BoundedFifo(queue_size))
    served = ServedModel(engine, name=name, factory_for=lambda model: lambda: make(model))
    engine.start()
    return served


def transformers_backend(model: str) -> VisionBackend:
    """The transformers backend for a model folder, built through the app's own settings path."""
    return create_backend(EngineSettings(backend="transformers", model=model))


def wait_ready(base: str, timeout: float = 120) -> None:
    """Wait until the server at `base` says its model is ready."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{base}/health").json()["status"] == "ready":
            return
        time.sleep(0.1)
    raise AssertionError("model never became ready")
