"""A black or nearly black picture never reaches the model; a real one does.

The model is a counting stand-in server behind `--backend openai` (it records the mean level of
every picture it is sent), reached through the CLI, narration and SmolSight's own HTTP server,
each built the way the commands build them (`backend_factory`, `build_server`).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from app.cli import parse_args
from app.commands.serve import build_server, configured
from app.config import EngineSettings
from app.inference.backend import VisionBackend
from app.inference.factory import create_backend
from app.reading.blank import BLACK
from tests.commands import smolsight
from tests.llama_standin import LlamaServerStandIn, llama_server
from tests.media import photo
from tests.servers import serving, wait_ready

pytestmark = pytest.mark.slow

COVERED = np.clip(np.random.default_rng(0).normal(4, 3, (480, 640, 3)), 0, 255).astype(np.uint8)


@pytest.fixture
def standin() -> Iterator[tuple[LlamaServerStandIn, str]]:
    model = LlamaServerStandIn(answer="A red disc on a green and blue gradient.")
    with llama_server(model) as base:
        yield model, base


def remote(base: str) -> tuple[str, ...]:
    return ("--backend", "openai", "--base-url", f"{base}/v1")


def lid_lifted(path: Path, fps: float = 10.0) -> Path:
    """Three seconds of a covered camera (dark sensor noise), then three of a real scene."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (640, 480))
    assert writer.isOpened()
    for i in range(int(6 * fps)):
        frame = COVERED if i < 3 * fps else photo()
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()
    return path


def pictures_sent(model: LlamaServerStandIn) -> list[float]:
    return [level for seen in model.seen for level in seen.brightness]


def test_describe_answers_a_covered_camera_itself(
    standin: tuple[LlamaServerStandIn, str], tmp_path: Path
) -> None:
    model, base = standin
    covered = tmp_path / "covered.png"
    Image.fromarray(COVERED).save(covered)
    done = smolsight("describe", str(covered), *remote(base))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == BLACK
    assert model.seen == []  # the model was never asked
    real = tmp_path / "photo.png"
    Image.fromarray(photo()).save(real)
    done = smolsight("describe", str(real), *remote(base))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "A red disc on a green and blue gradient."
    assert len(pictures_sent(model)) == 1 and pictures_sent(model)[0] > 40


def test_narration_says_black_once_and_sends_only_what_can_be_seen(
    standin: tuple[LlamaServerStandIn, str], tmp_path: Path
) -> None:
    model, base = standin
    video = lid_lifted(tmp_path / "lid.mp4")
    done = smolsight("narrate", "--source", str(video), "--interval", "0.5", *remote(base), timeout=120)
    assert done.returncode == 0, done.stderr
    said = done.stdout
    assert said.count("Black screen") == 1, said
    assert "A red disc" in said
    sent = pictures_sent(model)
    assert sent and min(sent) > 40  # every picture the model got had something in it


def data_url(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_the_http_server_answers_a_screen_curtain_itself(standin: tuple[LlamaServerStandIn, str]) -> None:
    """NVDA's add-on sends a black screenshot while Screen Curtain is on."""
    model, base = standin

    # `serve` runs local engines only: the stand-in takes the place of the one it would build.
    def make(_settings: EngineSettings) -> VisionBackend:
        return create_backend(EngineSettings(backend="openai", base_url=f"{base}/v1"))

    app, served = build_server(*configured(parse_args(["serve"])), make=make)
    served.start()

    def ask(image: np.ndarray) -> str:
        content = [
            {"type": "text", "text": "Describe the screen."},
            {"type": "image_url", "image_url": {"url": data_url(image)}},
        ]
        body = {"max_tokens": 16, "messages": [{"role": "user", "content": content}]}
        answer = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["choices"][0]["message"]["content"])

    try:
        with serving(app) as url:
            wait_ready(url)
            assert ask(np.zeros((1080, 1920, 3), np.uint8)) == BLACK
            assert model.seen == []
            assert ask(photo()).startswith("A red disc")
            assert len(pictures_sent(model)) == 1
    finally:
        assert served.shutdown()


def test_a_summary_calls_a_black_scene_black_screen_without_the_model(tmp_path: Path) -> None:
    from app.inference.seeing import SeeingBackend
    from app.video.summarize import summarize
    from tests.fakes import FakeBackend

    model = FakeBackend(answer=lambda r: "A red disc on a gradient." if r.frames else "A lid is lifted.")
    summary = summarize(lid_lifted(tmp_path / "lid.mp4"), SeeingBackend(model))
    first, *rest = summary.segments
    assert first.start == 0.0 and first.description == BLACK
    assert rest and all(s.description == "A red disc on a gradient." for s in rest)
    shown = [t for call in model.calls for t in call.frame_times]
    assert shown and min(shown) >= 2.9  # no frame of the covered part reached the model
