"""The remote (OpenAI-compatible) backend driving the live pipeline against our own server."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.capture.frames import Frame
from app.capture.sources import VideoFileSource
from app.config import EngineSettings
from app.inference.answer import collect
from app.inference.backend import BackendError
from app.inference.factory import create_backend
from app.inference.model_thread import ModelThread
from app.inference.openai_backend import OpenAIBackend
from app.inference.types import CancelToken, GenerationRequest
from app.live.session import LiveSession, NarrationEvent
from app.server.api import create_app
from tests.fakes import FakeBackend, settings_of
from tests.media import photo, write_video
from tests.servers import served_model, serving, transformers_backend, wait_ready

ROOT = Path(__file__).resolve().parents[2]
SERVER_DOC = ROOT / "docs" / "server.md"


@pytest.fixture(scope="module")
def our_server(tiny_model: Path) -> Iterator[str]:
    served = served_model(lambda m: transformers_backend(m or str(tiny_model)), name=str(tiny_model))
    with serving(create_app(served)) as base:
        wait_ready(base)
        yield base
    assert served.shutdown()


def test_live_narration_through_the_remote_backend(qtbot: QtBot, our_server: str, tmp_path: Path) -> None:
    video = write_video(tmp_path / "cut.mp4", [((200, 30, 30), 2.0), ((30, 30, 200), 2.0)])
    model_thread = ModelThread(
        lambda: create_backend(EngineSettings(backend="openai", base_url=f"{our_server}/v1"))
    )
    session = LiveSession(model_thread, settings_of(interval_s=0.5, buffer_fps=2.0), poll_ms=20)
    events: list[NarrationEvent] = []
    session.narration.connect(events.append)
    try:
        with qtbot.waitSignal(
            session.model_changed, timeout=30_000, check_params_cb=lambda s: s.ready
        ) as ready:
            session.start()
        assert ready.args[0].info.backend == "openai"
        session.set_source(VideoFileSource(video, speed=2.0))
        qtbot.waitUntil(lambda: len(events) >= 2, timeout=60_000)
    finally:
        assert session.shutdown(timeout=30)
    assert events[0].description.stats.prompt_tokens > 64  # counted by our server
    assert events[1].description.frame_times[0] >= 1.5


def test_clips_and_cancel_over_http(our_server: str) -> None:
    backend = OpenAIBackend(base_url=our_server)
    backend.load()
    clip = tuple(Frame(photo(), float(t)) for t in (0, 1, 2))
    out = collect(backend.stream(GenerationRequest("What happens?", frames=clip, max_tokens=5)))
    assert out.stats.prompt_tokens > 3 * 64 and out.stats.finish_reason in {"stop", "length"}
    cancel = CancelToken()
    chunks = []
    for chunk in backend.stream(GenerationRequest("Describe.", frames=clip[:1], max_tokens=200), cancel):
        chunks.append(chunk)
        cancel.cancel()
    assert chunks[-1].stats.finish_reason == "cancelled" and len(chunks) <= 3
    backend.close()


def test_unreachable_or_refusing_servers_are_clear_errors() -> None:
    from tests.servers import free_port

    backend = OpenAIBackend(base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(BackendError, match="can't be reached"):
        backend.load()
    with pytest.raises(BackendError, match="needs --base-url"):
        create_backend(EngineSettings(backend="openai"))
    from app.server.api import ApiPolicy

    served = served_model(lambda _m: FakeBackend(seconds_per_call=0.0), name="fake")
    with serving(create_app(served, ApiPolicy(client_keys=("k",)))) as base:
        with pytest.raises(BackendError, match="refused the API key"):
            OpenAIBackend(base_url=base, api_key="wrong").load()
        ok = OpenAIBackend(base_url=base, api_key="k")
        ok.load()
        assert ok.info.model == "fake"
        ok.close()
    assert served.shutdown()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_server_docs_curl_examples_work_as_written(our_server: str, tmp_path: Path) -> None:
    blocks = re.findall(r"```bash\n(curl .*?)```", SERVER_DOC.read_text(), re.DOTALL)
    assert len(blocks) >= 2, "docs/server.md should show curl examples"
    port = our_server.rsplit(":", 1)[1]
    (tmp_path / "resources").mkdir()  # the examples run from a clone, where the sample photo ships
    shutil.copyfile(ROOT / "resources" / "sample.jpg", tmp_path / "resources" / "sample.jpg")
    for block in blocks:
        command = block.replace("\\\n", " ").strip().replace("localhost:8080", f"127.0.0.1:{port}")
        done = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
        assert done.returncode == 0, (command, done.stderr)
        assert '"error":{' not in done.stdout.replace(" ", ""), done.stdout
        assert done.stdout.strip(), shlex.quote(command)


@pytest.mark.parametrize(
    ("prefix", "base"),
    [
        ("/openai/v1", "/openai/v1"),  # KServe's route to vLLM
        ("/v3", "/v3"),  # OpenVINO Model Server
        ("/v1", ""),  # a plain server named by its root
    ],
)
def test_the_remote_backend_takes_any_api_path(prefix: str, base: str) -> None:
    from starlette.types import Receive, Scope, Send

    served = served_model(lambda _m: FakeBackend(answer=lambda _r: "A lamp on a desk."), name="lamp-model")
    inner = create_app(served)
    seen: list[str] = []

    async def at_prefix(scope: Scope, receive: Receive, send: Send) -> None:
        """Our server's /v1 API, reachable only under `prefix` (everything else is 404)."""
        if scope["type"] == "http" and scope["path"] != "/health":
            seen.append(scope["path"])
            if not scope["path"].startswith(prefix + "/"):
                await send({"type": "http.response.start", "status": 404, "headers": []})
                await send({"type": "http.response.body", "body": b"not here"})
                return
            scope = {**scope, "path": "/v1" + scope["path"][len(prefix) :], "raw_path": None}
        await inner(scope, receive, send)

    with serving(at_prefix) as root:
        wait_ready(root)
        backend = OpenAIBackend(base_url=root + base)
        backend.load()
        assert backend.model == "lamp-model"
        request = GenerationRequest("What is it?", frames=(Frame(photo(), 0.0),), max_tokens=8)
        out = collect(backend.stream(request))
        backend.close()
    assert out.text.strip() == "A lamp on a desk."
    assert {p for p in seen if p.endswith(("/models", "/chat/completions"))} == {
        f"{prefix}/models",
        f"{prefix}/chat/completions",
    }
    assert served.shutdown()
