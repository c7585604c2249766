"""Servers for tests: SmolSight's on 127.0.0.1 (also as `serve FLAGS` builds it), pictures, a fake network."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import httpx
import uvicorn
from PIL import Image

from app.cli import parse_args
from app.commands.serve import build_server, configured
from app.config import EngineSettings
from app.inference.backend import VisionBackend
from app.inference.factory import create_backend
from app.inference.model_thread import BoundedFifo, ModelThread
from app.server.api import ServedModel
from tests.fakes import FakeBackend
from tests.media import photo


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
    model_thread = ModelThread(lambda: make(None), policy=BoundedFifo(queue_size))
    served = ServedModel(model_thread, name=name, factory_for=lambda model: lambda: make(model))
    model_thread.start()
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


class RecordingConnector(httpcore.NetworkBackend):
    """The injected connector: records every attempt, fails it unless it routes it to a local server."""

    def __init__(self, routes: dict[str, int] | None = None) -> None:
        self.attempts: list[tuple[str, int]] = []
        self.routes = routes or {}  # public-looking address → a local port that plays it

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        self.attempts.append((host, port))
        if host in self.routes:
            return _Hidden(
                httpcore.SyncBackend().connect_tcp("127.0.0.1", self.routes[host], timeout=timeout)
            )
        raise httpcore.ConnectError(f"the test connector refuses {host}:{port}")

    def sleep(self, seconds: float) -> None:
        pass


class _Hidden(httpcore.NetworkStream):
    """A routed stream that does not reveal its loopback socket (it plays a public host)."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self.stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, timeout)

    def close(self) -> None:
        self.stream.close()

    def get_extra_info(self, info: str) -> object:
        return None


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="smolsight-test-http")
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo()).save(buffer, format="PNG")
    return buffer.getvalue()


@contextmanager
def served(
    *flags: str, backend: FakeBackend | None = None, network: RecordingConnector | None = None
) -> Iterator[tuple[str, list[EngineSettings]]]:
    """The server `smolsight serve FLAGS` builds, on a free port; its URL and the engine settings it built."""
    built: list[EngineSettings] = []

    def make(settings: EngineSettings) -> FakeBackend:
        built.append(settings)
        return backend or FakeBackend(seconds_per_call=0.0)

    app, served = build_server(*configured(parse_args(["serve", *flags])), make=make, network=network)
    served.start()
    with serving(app) as base:
        try:
            wait_ready(base)
            yield base, built
        finally:
            assert served.shutdown()  # first: what is in flight is answered, and the server stops at once


def ask(base: str, url: str = "", **headers: str) -> httpx.Response:
    content: list[dict[str, object]] = [{"type": "text", "text": "What is it?"}]
    if url:
        content.append({"type": "image_url", "image_url": {"url": url}})
    body = {"max_tokens": 4, "messages": [{"role": "user", "content": content}]}
    return httpx.post(f"{base}/v1/chat/completions", json=body, headers=headers, timeout=30)
