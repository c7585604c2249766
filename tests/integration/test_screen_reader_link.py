"""Heard wherever you are: the screen reader's own channel, its loss said once, our voice taking over.

Orca's service is a stand-in on a private session bus (both of its names); other screen readers
are `FakeChannel`s at the channel boundary. Nothing reaches the developer's own bus or speech.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from app.config import Settings
from app.inference.types import GenerationRequest
from app.speech.screen_reader_link import ScreenReaderLink
from app.speech.screen_readers import ORCA_SERVICES, OrcaChannel, ScreenReaderGone
from app.ui.main_window import MainWindow
from app.ui.settings_dialog import SettingsDialog
from tests.desktop import linux_only
from tests.fakes import FakeBackend, FakeSpeaker
from tests.screen_readers import FakeChannel, orca_standin, private_bus
from tests.windows import open_window

ANSWER = "A red mug on a wooden desk."


@pytest.fixture
def bus() -> Iterator[str]:
    with private_bus() as address:
        yield address


@linux_only
@pytest.mark.parametrize("service", ORCA_SERVICES, ids=lambda s: s.bus_name)
def test_orca_takes_the_text_under_either_of_its_names(bus: str, service: object) -> None:
    channel = OrcaChannel(bus)
    assert not channel.running()
    with orca_standin(bus, service) as orca:  # type: ignore[arg-type]
        assert channel.running() and channel.service == service
        channel.present("A cat on a sofa. It sleeps.", "A cat on a sofa.", interrupt=True)
        assert orca.messages == ["A cat on a sofa. It sleeps."]
    channel.close()


@linux_only
def test_the_newest_orca_name_is_asked_first_and_a_silent_or_declining_orca_is_refused(bus: str) -> None:
    old, new = ORCA_SERVICES[1], ORCA_SERVICES[0]
    with orca_standin(bus, old) as orca_50, orca_standin(bus, new) as orca_51:
        channel = OrcaChannel(bus)
        channel.present("Hello.", "Hello.", interrupt=False)
        assert orca_51.messages == ["Hello."] and orca_50.messages == []
        orca_51.mode = "declining"
        with pytest.raises(ScreenReaderGone, match="declined"):
            channel.present("Again.", "Again.", interrupt=False)
        orca_51.mode = "silent"
        channel.timeout_s = 0.5
        started = time.monotonic()
        with pytest.raises(ScreenReaderGone, match=r"no answer within 0\.5 s"):
            channel.present("Anyone?", "Anyone?", interrupt=False)
        assert time.monotonic() - started < 3
        channel.close()


@linux_only
def test_the_link_finds_orca_hears_it_stop_and_finds_it_again(qtbot: QtBot, bus: str) -> None:
    link = ScreenReaderLink(lambda: [OrcaChannel(bus)], call_s=2.0, probe_s=0.3)
    lost: list[tuple[str, str]] = []
    link.lost.connect(lambda name, why: lost.append((name, why)))
    link.start()
    try:
        with orca_standin(bus, ORCA_SERVICES[1]) as orca:
            qtbot.waitUntil(lambda: link.name == "Orca", timeout=5000)
            with qtbot.waitSignal(link.delivered, timeout=5000):
                link.send("A bus stop.", interrupt=False)
            assert orca.messages == ["A bus stop."]
        qtbot.waitUntil(lambda: not link.available, timeout=5000)  # Orca quit: the bus freed its name
        assert lost == [("Orca", "it stopped")]
        with qtbot.waitSignal(link.undelivered, timeout=2000) as undelivered:
            link.send("Nobody hears this.", interrupt=False)
        assert undelivered.args == ["Nobody hears this."]
        with orca_standin(bus, ORCA_SERVICES[0]):
            qtbot.waitUntil(lambda: link.name == "Orca", timeout=5000)  # back, under the new name
        assert len(lost) == 1
    finally:
        link.shutdown()


@linux_only
def test_an_orca_that_stops_answering_is_detected_within_seconds_and_said_once(
    qtbot: QtBot, tmp_path: Path, bus: str
) -> None:
    link = ScreenReaderLink(lambda: [OrcaChannel(bus, timeout_s=30)], call_s=1.0, probe_s=0.3)
    with orca_standin(bus, ORCA_SERVICES[0]) as orca:
        w = open_window(qtbot, tmp_path, screen_reader_link=link)
        w.session.continuous = False
        speaker = w.speaker
        assert isinstance(speaker, FakeSpeaker) and speaker.started  # ready to take over at once
        qtbot.waitUntil(lambda: link.name == "Orca", timeout=5000)
        w.describe_now()
        qtbot.waitUntil(lambda: ANSWER in orca.messages, timeout=5000)
        assert ANSWER not in speaker.history  # one voice: the screen reader's
        orca.mode = "silent"  # hung: it takes the call and never answers (the bus call waits 30 s)
        started = time.monotonic()
        w.describe_now()
        qtbot.waitUntil(lambda: ANSWER in speaker.history, timeout=10000)
        assert time.monotonic() - started < 6
        said = [t for t in speaker.history if "stopped answering" in t]
        assert said == [
            "Orca stopped answering (it did not answer within 1 s): SmolSight's voice speaks instead."
        ]
        assert w.panel.caption_status.text().startswith("Orca stopped answering")
        asked = orca.version_asked
        qtbot.waitUntil(lambda: orca.version_asked > asked, timeout=15000)  # the link asks again: still hung
        w.describe_now()  # the next one goes straight to our voice, and the loss isn't said again
        qtbot.waitUntil(lambda: speaker.history.count(ANSWER) == 2, timeout=10000)
        assert len([t for t in speaker.history if "stopped answering" in t]) == 1
        assert not link.available
        orca.mode = "working"  # it answers again: descriptions go back to it
        qtbot.waitUntil(lambda: link.name == "Orca", timeout=30000)
        qtbot.waitUntil(lambda: any("answers again" in m for m in orca.messages), timeout=5000)
        w.close()


def test_each_output_choice_sends_words_where_it_says(qtbot: QtBot, tmp_path: Path) -> None:
    nvda = FakeChannel("NVDA")
    link = ScreenReaderLink(lambda: [nvda], probe_s=0.3)
    w = open_window(qtbot, tmp_path, screen_reader_link=link)
    w.session.continuous = False
    speaker = w.speaker
    assert isinstance(speaker, FakeSpeaker)
    qtbot.waitUntil(lambda: link.name == "NVDA", timeout=5000)
    heard: dict[str, tuple[int, int]] = {}
    delivered = {"auto": (1, 0), "screen_reader": (1, 0), "speech": (0, 1), "both": (1, 1), "text": (0, 0)}
    for output, expected in delivered.items():
        w.prefs.update("speech", output=output)
        before = (nvda.spoken.count(ANSWER), speaker.history.count(ANSWER))

        def now(before: tuple[int, int] = before) -> tuple[int, int]:
            return nvda.spoken.count(ANSWER) - before[0], speaker.history.count(ANSWER) - before[1]

        w.describe_now()
        qtbot.waitUntil(lambda: w.session.pending_jobs == 0 and not w.session.busy, timeout=5000)
        with contextlib.suppress(TimeoutError):  # the link's thread delivers after the answer
            qtbot.waitUntil(lambda expected=expected: now() == expected, timeout=3000)
        heard[output] = now()
    assert heard == {
        "auto": (1, 0),
        "screen_reader": (1, 0),
        "speech": (0, 1),
        "both": (1, 1),
        "text": (0, 0),
    }
    braille = [b for s, b, _ in nvda.presented if s == ANSWER]
    assert set(braille) == {"A red mug on a wooden desk."}
    w.prefs.update("speech", output="auto")
    nvda.up = False  # NVDA quit: within a probe, our voice speaks
    qtbot.waitUntil(lambda: not link.available, timeout=5000)
    w.describe_now()
    qtbot.waitUntil(lambda: speaker.history.count(ANSWER) == 3, timeout=5000)
    w.close()


def test_the_output_choice_persists_and_is_named_for_screen_readers(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = open_window(qtbot, tmp_path)
    assert w.settings.speech.output == "auto"  # the default: the screen reader when one runs
    seen: list[list[str]] = []

    def choose_both(dialog: SettingsDialog) -> QDialog.DialogCode:
        box = dialog.output
        assert box.accessibleName() == "Speak with" and "screen reader" in box.accessibleDescription()
        seen.append([box.itemText(i) for i in range(box.count())])
        box.setCurrentIndex(box.findData("both"))
        dialog._on_accept()  # OK, as the button does
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(SettingsDialog, "exec", choose_both)
    w.open_settings()
    assert seen == [
        [
            "My screen reader if running, else SmolSight's voice",
            "My screen reader",
            "SmolSight's voice",
            "Both",
            "Nobody (text only)",
        ]
    ]
    assert w.settings.speech.output == "both" and w.announcer.output == "both"
    saved = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))
    assert saved["speech"]["output"] == "both"
    w.close()
    again = SettingsDialog(Settings.model_validate(saved), voices=[], engines=[])
    qtbot.addWidget(again)
    assert again.output.currentData() == "both"


def test_a_question_from_anywhere_asks_about_the_picture_described_last(qtbot: QtBot, tmp_path: Path) -> None:
    seen: list[object] = []

    def answer(request: GenerationRequest) -> str:
        seen.append(request.frames[-1].image if request.frames else None)
        return "It says EXIT." if "sign" in request.prompt else ANSWER

    backend = FakeBackend(answer=answer)
    nvda = FakeChannel("NVDA")
    link = ScreenReaderLink(lambda: [nvda], probe_s=0.3)
    w = open_window(qtbot, tmp_path, backend=backend, screen_reader_link=link)
    w.session.continuous = False
    qtbot.waitUntil(lambda: link.name == "NVDA", timeout=5000)
    noise = np.random.default_rng(7).integers(0, 255, (48, 64, 3), dtype=np.uint8)  # something to see
    w.anywhere.on_picture_taken(noise, "the active window")  # what the system-wide key does with its picture
    qtbot.waitUntil(lambda: ANSWER in nvda.spoken, timeout=5000)
    w.anywhere.on_global_key("ask")
    box = w.anywhere.question_box
    qtbot.waitUntil(box.isVisible, timeout=2000)
    assert box.line.text() == ""
    box.line.setText("What does the sign say?")
    box.ask_button.click()
    qtbot.waitUntil(lambda: "It says EXIT." in nvda.spoken, timeout=5000)
    assert not box.isVisible()
    last = seen[-1]
    assert isinstance(last, np.ndarray) and np.array_equal(last, noise)  # the window's, not the live source
    w.anywhere.on_global_key("ask")  # again: the previous question is there, selected; Enter asks it again
    assert box.line.text() == "What does the sign say?" and box.line.selectedText() == box.line.text()
    box.ask_button.click()
    qtbot.waitUntil(lambda: nvda.spoken.count("It says EXIT.") == 2, timeout=5000)
    w.close()


def test_the_question_box_names_everything_a_screen_reader_reads(qtbot: QtBot, tmp_path: Path) -> None:
    from tests.integration.test_accessibility import audit

    w: MainWindow = open_window(qtbot, tmp_path)
    w.anywhere.on_global_key("ask")
    unnamed, unlabelled, count = audit(w.anywhere.question_box)
    assert count >= 3 and unnamed == [] and unlabelled == []
    w.close()
