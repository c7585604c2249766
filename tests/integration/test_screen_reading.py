"""Screens as people have them are read, never called empty (app/reading/regions.py, blank.py).

The screens are drawn by headless Chromium from HTML (`app/devtools/screen_pictures.py`): a
lock screen, a notification in a corner, an error dialog, a terminal, subtitles on black, a
settings page, a slide, a form error, one line on black or white, a toast; at 1920×1080 and
2560×1440, at 100 %, 125 % and 150 %, light and dark. `benchmarks/reading.py` reads the whole set
beside Tesseract; the tests take two of its cuts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from app.devtools.screen_pictures import Layout, Screen, chromium, page, render, screens
from app.devtools.text_pictures import character_error_rate
from app.reading.blank import nothing_to_see
from app.reading.reader import NO_TEXT, TextReader
from tests.commands import smolsight
from tests.llama_standin import LlamaServerStandIn, llama_server

pytestmark = pytest.mark.slow  # draws screens with Chromium


def needs_chromium() -> None:
    """Chromium draws the screens (Debian: chromium); CI installs it."""
    if chromium() is None:
        if os.environ.get("SMOLSIGHT_REQUIRE_DESKTOP_TOOLS") == "1":
            pytest.fail("Chromium is not installed; .ci/run installs it")
        pytest.skip("Chromium is not installed (Debian: chromium)")


@pytest.fixture(scope="module")
def screen_set() -> list[Screen]:
    """Every kind of screen, dark at 1920×1080 and 100 %, light at 2560×1440 and 125 %."""
    needs_chromium()
    return [
        *screens(sizes=((1920, 1080),), scales=(1.0,), themes=("dark",)),
        *screens(sizes=((2560, 1440),), scales=(1.25,), themes=("light",)),
    ]


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader(threads=2)


def test_no_screen_with_text_is_called_empty_and_every_one_is_read(
    screen_set: list[Screen], reader: TextReader
) -> None:
    readings = {screen.name: reader.read(screen.image).text for screen in screen_set}
    assert not [s.name for s in screen_set if nothing_to_see(s.image)]  # black, blank
    assert not [name for name, text in readings.items() if not text]  # "No text found."
    worst = {
        s.name: round(character_error_rate([(readings[s.name], s.truth)]), 3)
        for s in screen_set
        if character_error_rate([(readings[s.name], s.truth)]) > 0.1
    }
    assert worst == {}
    assert character_error_rate([(readings[s.name], s.truth) for s in screen_set]) <= 0.02


CORNER = Layout(
    "one line in a corner",
    '<div style="position:absolute;right:24px;bottom:20px;font-size:14px;color:#d8d8d8">'
    "Update ready: restart to finish</div>",
    ("Update ready: restart to finish",),
    background="#1b1d21",
)


@pytest.fixture
def corner_screen(tmp_path: Path) -> Path:
    """A dark 1920×1080 desktop with nothing but one 14 px line in its bottom right corner."""
    needs_chromium()
    path = tmp_path / "corner.png"
    Image.fromarray(render(page(CORNER, "dark"), (1920, 1080), 1.0, tmp_path)).save(path)
    return path


@pytest.fixture
def standin() -> Iterator[tuple[LlamaServerStandIn, str]]:
    model = LlamaServerStandIn(answer="A dark desktop with a line of small text.")
    with llama_server(model) as base:
        yield model, base


def test_a_lone_corner_line_reaches_the_model_and_is_quoted(
    corner_screen: Path, standin: tuple[LlamaServerStandIn, str]
) -> None:
    model, base = standin
    done = smolsight("describe", str(corner_screen), "--backend", "openai", "--base-url", f"{base}/v1")
    assert done.returncode == 0, done.stderr
    assert len(model.seen) == 1  # not answered as a black screen: the model was asked
    quote = "The text reads: \u201cUpdate ready: restart to finish\u201d."
    assert done.stdout.strip() == f"A dark desktop with a line of small text. {quote}"
    read = smolsight("read", str(corner_screen))
    assert read.returncode == 0 and read.stdout.strip() == "Update ready: restart to finish", read.stdout


def test_one_line_on_black_is_read_not_called_black(tmp_path: Path) -> None:
    needs_chromium()
    kinds = ("message on black",)
    (no_signal,) = screens(sizes=((1920, 1080),), scales=(1.0,), themes=("dark",), kinds=kinds)
    path = tmp_path / "no-signal.png"
    Image.fromarray(no_signal.image).save(path)
    done = smolsight("read", str(path))
    assert done.returncode == 0 and done.stdout.strip() == "No signal", done.stdout
    black = tmp_path / "black.png"
    Image.fromarray(np.zeros((1080, 1920, 3), np.uint8)).save(black)
    done = smolsight("read", str(black))
    assert done.stdout.strip().startswith(f"{NO_TEXT} Black screen")  # a black screen still says so


def test_the_server_quotes_the_corner_line_and_asks_the_model(
    corner_screen: Path, standin: tuple[LlamaServerStandIn, str]
) -> None:
    import httpx

    from app.cli import parse_args
    from app.commands.serve import build_server, configured
    from app.config import EngineSettings
    from app.inference.backend import VisionBackend
    from app.inference.factory import create_backend
    from tests.integration.test_nothing_to_see import data_url
    from tests.servers import serving, wait_ready

    model, base = standin

    def make(_settings: EngineSettings) -> VisionBackend:  # the stand-in takes the local engine's place
        return create_backend(EngineSettings(backend="openai", base_url=f"{base}/v1"))

    app, served = build_server(*configured(parse_args(["serve"])), make=make)
    served.start()
    content = [
        {"type": "text", "text": "Describe the screen."},
        {"type": "image_url", "image_url": {"url": data_url(np.asarray(Image.open(corner_screen)))}},
    ]
    try:
        with serving(app) as url:
            wait_ready(url)
            body = {"max_tokens": 16, "messages": [{"role": "user", "content": content}]}
            answer = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60)
    finally:
        assert served.shutdown()
    assert answer.status_code == 200, answer.text
    assert "Update ready: restart to finish" in answer.json()["choices"][0]["message"]["content"]
    assert len(model.seen) == 1


def test_live_reading_reads_the_corner_line(corner_screen: Path, qtbot: QtBot) -> None:
    from app.live.reading import TextReading

    reading = TextReading(TextReader(threads=2))
    try:
        with qtbot.waitSignal(reading.finished, timeout=60000) as said:
            reading.read(1, np.asarray(Image.open(corner_screen).convert("RGB")), user=True)
        assert said.args[:2] == [1, "Update ready: restart to finish"]
    finally:
        assert reading.shutdown()
