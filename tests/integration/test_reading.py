"""The text reader reads camera-like printed English as written (app/reading/reader.py).

The pictures (`app/devtools/text_pictures.py`): nine signs, labels, dialogs and cards, each
clean, tilted, in perspective, blurred, JPEG-compressed, unevenly lit, on a textured surface,
at 0.6× resolution and with several at once; scored by character error rate against the truth
and against Tesseract on the same pictures where it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from app.devtools.text_pictures import TextPicture, character_error_rate, text_pictures
from app.exit_codes import ExitCode
from app.reading.reader import NO_TEXT, TextLine, TextReader, language_problem, reading_order
from tests.commands import smolsight
from tests.media import photo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader(threads=2)


@pytest.fixture(scope="module")
def pictures() -> list[TextPicture]:
    return text_pictures()


def tesseract(image: np.ndarray, folder: Path) -> str:
    path = folder / "picture.png"
    cv2.imwrite(str(path), image[..., ::-1])
    done = subprocess.run(["tesseract", str(path), "-"], capture_output=True, text=True, timeout=60)
    return done.stdout


def read_with_the_cli(picture: TextPicture, folder: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """`smolsight read FILE` (in this process: the reader loads once for all 81 pictures)."""
    from app.cli import main

    path = folder / "picture.png"
    Image.fromarray(picture.image).save(path)
    capsys.readouterr()
    assert main(["read", str(path)]) == 0
    return capsys.readouterr().out.strip()


def test_camera_like_text_is_read_within_3_percent_and_no_worse_than_tesseract(
    pictures: list[TextPicture], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ours = []
    for picture in pictures:
        said = read_with_the_cli(picture, tmp_path, capsys)
        ours.append(("" if said == NO_TEXT else said, picture.truth))
    rate = character_error_rate(ours)
    with capsys.disabled():
        print(f"\nsmolsight read: character error rate {rate:.2%} over {len(pictures)} pictures")
    assert rate <= 0.03
    if shutil.which("tesseract"):
        theirs = character_error_rate([(tesseract(p.image, tmp_path), p.truth) for p in pictures])
        with capsys.disabled():
            print(f"tesseract: {theirs:.2%}")
        assert rate <= theirs


def test_lines_come_in_reading_order_with_columns_apart(reader: TextReader) -> None:
    page = Image.new("RGB", (1000, 360), (240, 238, 230))
    from PIL import ImageDraw

    from app.devtools.text_pictures import font_of, fonts

    draw, font = ImageDraw.Draw(page), font_of(fonts()[0], 30)
    for x, lines in ((40, ("Opening hours", "Monday to Friday")), (560, ("Contact us", "Call 555 0199"))):
        for i, line in enumerate(lines):
            draw.text((x, 60 + 70 * i), line, fill=(15, 15, 15), font=font)
    read = reader.read(np.asarray(page))
    assert read.text.splitlines() == ["Opening hours", "Monday to Friday", "Contact us", "Call 555 0199"]


def test_reading_order_keeps_a_row_together_and_columns_apart() -> None:
    def line(text: str, left: float, top: float) -> TextLine:
        return TextLine(text, (left, top, left + 100, top + 20), 0.9)

    shuffled = [line("b2", 300, 40), line("a1", 0, 0), line("b1", 300, 0), line("a2", 0, 40)]
    assert [t.text for t in reading_order(shuffled)] == ["a1", "a2", "b1", "b2"]
    row = [line("world", 110, 2), line("hello", 0, 0)]  # touching: one column, one row
    assert [t.text for t in reading_order(row)] == ["hello", "world"]


@pytest.mark.parametrize("name", ["chelsea.png", "coffee.png", "camera.png", "astronaut.png", "rocket.jpg"])
def test_a_photograph_without_text_has_none(reader: TextReader, name: str) -> None:
    """Shapes are not letters: a disc is no "O", a lens no "0000" (scikit-image's photographs)."""
    data = Path(pytest.importorskip("skimage").__file__).parent / "data"
    image = cv2.cvtColor(cv2.imread(str(data / name), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert reader.read(image).text == ""
    assert reader.read(photo()).text == ""


def test_read_prints_the_lines_or_says_there_is_none(pictures: list[TextPicture], tmp_path: Path) -> None:
    label = tmp_path / "label.jpg"
    Image.fromarray(pictures[9].image).save(label)  # the medicine label, clean
    assert pictures[9].name == "label, clean"
    done = smolsight("read", str(label))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Ibuprofen 200 mg", "Take 1 tablet every 6 hours"]
    blank = tmp_path / "photo.png"
    Image.fromarray(photo()).save(blank)
    nothing = smolsight("read", str(blank))
    assert (nothing.returncode, nothing.stdout.strip()) == (0, NO_TEXT)


def test_an_unreadable_language_is_refused_plainly(tmp_path: Path) -> None:
    assert language_problem("en") is None and language_problem("de") is None
    done = smolsight("read", str(tmp_path / "missing.png"), "--language", "ar")
    assert done.returncode == ExitCode.INPUT
    assert "can't read 'ar'" in done.stderr and "English (en)" in done.stderr


def sign_video(path: Path, pictures: list[TextPicture], fps: float = 10.0) -> Path:
    """A wall for 2 s, then the station sign for 3 s, then a door's sign for 3 s (640×480)."""
    by_name = {p.name: p.image for p in pictures}
    wall = np.tile(np.linspace(60, 120, 640, dtype=np.uint8)[None, :, None], (480, 1, 3))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (640, 480))
    assert writer.isOpened()
    for sign, seconds in ((None, 2), ("sign, clean", 3), ("door, clean", 3)):
        frame = wall.copy()
        if sign is not None:
            image = by_name[sign]
            scale = min(1.0, 600 / image.shape[1])
            image = cv2.resize(image, None, fx=scale, fy=scale)
            top, left = (480 - image.shape[0]) // 2, (640 - image.shape[1]) // 2
            frame[top : top + image.shape[0], left : left + image.shape[1]] = image
        for _ in range(int(seconds * fps)):
            writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()
    return path


def test_narrate_read_reads_each_sign_once_as_it_comes_into_view(
    pictures: list[TextPicture], tmp_path: Path
) -> None:
    """No model at all: `narrate --read` needs nothing downloaded (HF_HUB_OFFLINE, no model folder)."""
    video = sign_video(tmp_path / "walk.mp4", pictures)
    done = smolsight("narrate", "--read", "--source", str(video), "--interval", "0.5", timeout=120)
    assert done.returncode == 0, done.stderr
    said = [line.split("] ", 1)[-1] for line in done.stdout.splitlines()]
    assert said == ["Platform 4", "Trains to Leeds", "Room 214", "Staff only"], done.stdout


def test_a_description_quotes_the_readers_text_and_tells_the_model_not_to_read(
    pictures: list[TextPicture],
) -> None:
    from app.capture.frames import Frame
    from app.inference.answer import collect
    from app.inference.seeing import DONT_READ, SeeingBackend
    from app.inference.types import GenerationRequest
    from tests.fakes import FakeBackend

    model = FakeBackend(answer=lambda _r: "A white medicine box on a table.")
    seeing = SeeingBackend(model)
    label = next(p for p in pictures if p.name == "label, clean")
    request = GenerationRequest("Describe the picture.", frames=(Frame(label.image),), read_text=True)
    answer = collect(seeing.stream(request)).text
    assert answer == (
        "A white medicine box on a table. "
        "The text reads: \u201cIbuprofen 200 mg\u201d, \u201cTake 1 tablet every 6 hours\u201d."
    )
    assert DONT_READ in model.calls[-1].prompt
    plain = collect(seeing.stream(GenerationRequest("Describe the picture.", frames=(Frame(photo()),)))).text
    assert plain == "A white medicine box on a table."  # no text, or not asked: the model's own words


def test_the_window_reads_the_picture_without_a_model(
    qtbot: QtBot, pictures: list[TextPicture], tmp_path: Path
) -> None:
    """Narration > Read the text while no model could be loaded."""
    from app.inference.model_files import ModelUnavailable
    from tests.windows import new_window

    def no_model(_settings: object) -> object:
        raise ModelUnavailable("The model is not on this computer.")

    label = tmp_path / "label.png"
    Image.fromarray(next(p for p in pictures if p.name == "label, clean").image).save(label)
    window = new_window(qtbot, tmp_path, no_model, source=str(label))  # type: ignore[arg-type]
    try:
        qtbot.waitUntil(lambda: window.session.current_frame() is not None, timeout=10000)
        qtbot.waitUntil(lambda: window.session.model_state.failure is not None, timeout=10000)
        read = window.menus.actions["read"]  # its key (Ctrl+Shift+R): test_every_shortcut_triggers_its_action
        assert read.shortcut().toString() == "Ctrl+Shift+R"
        read.trigger()
        qtbot.waitUntil(lambda: "Ibuprofen" in window.panel.caption.text(), timeout=20000)
        assert window.panel.caption.text() == "Ibuprofen 200 mg\nTake 1 tablet every 6 hours"
        assert window.speaker is not None
        assert window.speaker.history[-1] == "Ibuprofen 200 mg\nTake 1 tablet every 6 hours"
    finally:
        window.close()
