"""Speech can never stall SmolSight: the real engine in its helper process, against stand-ins.

Qt's mock engine for the speaking policy; stand-in speech-dispatchers (tests/speechd.py) for
an engine that never answers, one that hangs up, one that stalls mid-narration and one that
comes back. No test starts a real speech-dispatcher (conftest.py checks).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.config import SpeechSettings
from app.speech.speaker import Speaker, SpeechLimits, SpeechStatus
from tests.fakes import FakeBackend, FakeScreenReader, FakeSpeaker, settings_of
from tests.speechd import SpeechDispatcherStandIn, speechd_engine_installed, speechd_standin
from tests.windows import open_window

# Short bounds so the tests take seconds; the defaults are in SpeechLimits.
QUICK = SpeechLimits(engine_s=1.5, command_s=1.5, begin_s=3.0, retry_s=(1.0,))


def needs_speechd() -> None:
    """Qt's speechd engine needs libspeechd (Debian: libspeechd2); CI installs it."""
    if not speechd_engine_installed():
        if os.environ.get("SMOLSIGHT_REQUIRE_DESKTOP_TOOLS") == "1":
            pytest.fail("libspeechd is not installed; .ci/run installs it")
        pytest.skip("libspeechd is not installed (Debian: libspeechd2)")


@pytest.fixture
def speaker_for() -> Iterator[list[Speaker]]:
    """Speakers made in a test are shut down after it (their helper processes end)."""
    made: list[Speaker] = []
    yield made
    for speaker in made:
        speaker.shutdown()


def speechd_speaker(
    made: list[Speaker], standin: SpeechDispatcherStandIn, monkeypatch: pytest.MonkeyPatch
) -> tuple[Speaker, list[SpeechStatus], list[str]]:
    """A speaker on Qt's speechd engine talking to `standin`, with every status and undelivered text."""
    needs_speechd()
    monkeypatch.setenv("SPEECHD_ADDRESS", standin.address)
    monkeypatch.setenv("LANG", "en_US.UTF-8")  # the stand-in's one voice is American English
    speaker = Speaker(SpeechSettings(engine="speechd"), limits=QUICK)
    made.append(speaker)
    statuses: list[SpeechStatus] = []
    undelivered: list[str] = []
    speaker.status_changed.connect(statuses.append)
    speaker.undelivered.connect(undelivered.append)
    return speaker, statuses, undelivered


def test_polite_narration_waits_and_answers_interrupt(qtbot: QtBot, speaker_for: list[Speaker]) -> None:
    speaker = Speaker(SpeechSettings(engine="mock"))
    speaker_for.append(speaker)
    spoken: list[str] = []
    speaker.spoken.connect(spoken.append)
    speaker.start()
    qtbot.waitUntil(lambda: speaker.status.state == "ready", timeout=10000)
    speaker.say("A long first description of the whole room and everything in it.")
    qtbot.waitUntil(speaker.speaking, timeout=2000)
    speaker.say("An older routine description.")
    speaker.say("A newer routine description.")  # replaces the older one, not yet spoken
    assert speaker.pending == "A newer routine description."
    speaker.say("Your answer: the mug is red.", interrupt=True)
    assert spoken[-1] == "Your answer: the mug is red." and speaker.pending is None
    speaker.say("Routine after the answer.")
    assert spoken[-1] == "Your answer: the mug is red."  # the answer is not cut short
    qtbot.waitUntil(lambda: spoken[-1] == "Routine after the answer.", timeout=10000)
    assert "An older routine description." not in spoken
    assert speaker.status.state == "ready"


@pytest.mark.parametrize("mode", ["silent", "hangup"])
def test_an_engine_that_never_answers_is_noticed_once_and_its_text_handed_back(
    qtbot: QtBot, speaker_for: list[Speaker], monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    with speechd_standin(mode) as standin:  # type: ignore[arg-type]
        speaker, statuses, undelivered = speechd_speaker(speaker_for, standin, monkeypatch)
        started = time.monotonic()
        speaker.start()
        speaker.say("The first description.")  # waits for the engine, which never comes
        qtbot.waitUntil(lambda: speaker.status.state == "unavailable", timeout=10000)
        assert time.monotonic() - started < QUICK.engine_s + 3
        reason = speaker.status.reason
        assert reason in ("the speech engine crashed", "the speech engine did not answer within 2 s"), reason
        assert undelivered == ["The first description."]
        speaker.say("Said while speech is unavailable.")
        assert undelivered[-1] == "Said while speech is unavailable."
        # It is tried again by itself (a new helper each time), and still said to be broken once.
        qtbot.waitUntil(lambda: standin.connections >= 3, timeout=15000)
        assert [s.state for s in statuses] == ["starting", "unavailable"]


def test_speech_comes_back_by_itself_when_the_engine_answers_again(
    qtbot: QtBot, speaker_for: list[Speaker], monkeypatch: pytest.MonkeyPatch
) -> None:
    with speechd_standin("silent") as standin:
        speaker, statuses, _ = speechd_speaker(speaker_for, standin, monkeypatch)
        speaker.start()
        qtbot.waitUntil(lambda: speaker.status.state == "unavailable", timeout=10000)
        standin.mode = "working"  # the daemon got its audio back
        qtbot.waitUntil(lambda: speaker.status.state == "ready", timeout=10000)
        assert [s.state for s in statuses] == ["starting", "unavailable", "ready"]
        speaker.say("The kettle is boiling.")
        qtbot.waitUntil(lambda: standin.spoken == ["The kettle is boiling."], timeout=5000)


def test_an_engine_that_stalls_mid_narration_is_left_and_the_text_goes_elsewhere(
    qtbot: QtBot, speaker_for: list[Speaker], monkeypatch: pytest.MonkeyPatch
) -> None:
    with speechd_standin("mute") as standin:
        speaker, statuses, undelivered = speechd_speaker(speaker_for, standin, monkeypatch)
        speaker.start()
        qtbot.waitUntil(lambda: speaker.status.state == "ready", timeout=10000)
        speaker.say("A man crosses the street.")
        qtbot.waitUntil(lambda: speaker.status.state == "unavailable", timeout=QUICK.command_s * 1000 + 3000)
        assert "stopped answering" in speaker.status.reason
        assert undelivered == ["A man crosses the street."]
        assert [s.state for s in statuses] == ["starting", "ready", "unavailable"]


def test_choosing_another_engine_brings_speech_back_at_once(
    qtbot: QtBot, speaker_for: list[Speaker], monkeypatch: pytest.MonkeyPatch
) -> None:
    with speechd_standin("silent") as standin:
        speaker, _, _ = speechd_speaker(speaker_for, standin, monkeypatch)
        speaker.start()
        qtbot.waitUntil(lambda: speaker.status.state == "unavailable", timeout=10000)
        assert "mock" in speaker.engine_names() and "speechd" in speaker.engine_names()
        speaker.set_engine("mock")
        qtbot.waitUntil(lambda: speaker.status.state == "ready", timeout=5000)
        assert speaker.status.engine == "mock"


def test_shutdown_ends_even_a_stalled_helper_at_once(
    qtbot: QtBot, speaker_for: list[Speaker], monkeypatch: pytest.MonkeyPatch
) -> None:
    with speechd_standin("silent") as standin:
        speaker, _, _ = speechd_speaker(speaker_for, standin, monkeypatch)
        speaker.start()
        qtbot.waitUntil(lambda: standin.connections == 1, timeout=10000)  # stuck creating its engine
        started = time.monotonic()
        speaker.shutdown()
        assert time.monotonic() - started < 2.0
        assert speaker.status.state == "off"
    # the leak guard fails this test if the helper process were still running


def test_a_missing_engine_is_said_plainly(qtbot: QtBot, speaker_for: list[Speaker]) -> None:
    speaker = Speaker(SpeechSettings(engine="no-such-engine"))
    speaker_for.append(speaker)
    speaker.start()
    qtbot.waitUntil(lambda: speaker.status.state == "unavailable", timeout=10000)
    assert speaker.status.reason == "the speech engine 'no-such-engine' is not installed"


def test_the_window_says_once_that_speech_broke_and_narrates_to_the_screen_reader(
    qtbot: QtBot, tmp_path: Path
) -> None:
    window = open_window(qtbot, tmp_path, backend=FakeBackend(seconds_per_call=0.05))
    window.session.continuous = False
    assert window.speaker is not None
    speaker = window.speaker
    assert isinstance(speaker, FakeSpeaker) and speaker.started
    speaker.fail("the speech engine did not answer within 6 s")
    message = (
        "Speech isn't working (the speech engine did not answer within 6 s); descriptions go to your "
        "screen reader and the caption."
    )
    assert window.status.notice.text() == message
    assert window.panel.caption_status.text() == message
    reader = window.announcer.screen_reader
    assert isinstance(reader, FakeScreenReader) and (message, True) in reader.heard
    speaker.fail("the speech engine did not answer within 6 s")  # a retry failing again: already said
    window.describe_now()
    qtbot.waitUntil(lambda: window.panel.history_list.count() == 1, timeout=5000)
    text = "A red mug on a wooden desk."
    assert window.panel.caption.text() == text
    assert (text, True) in reader.heard  # not lost: the screen reader says it
    assert text not in speaker.history
    speaker.recover()
    assert window.status.notice.text() == ""
    assert speaker.history[-1] == "Speech is working again."
    window.close()


def test_the_window_starts_speech_unless_the_output_is_text_only(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, tmp_path, output="text")
    speaker = window.speaker
    assert isinstance(speaker, FakeSpeaker) and speaker.started == 0
    window.prefs.update("speech", output="speech")
    assert speaker.started == 1 and speaker.status.state == "ready"
    window.prefs.update("speech", output="text")
    assert speaker.status.state == "off"
    # The screen reader's choices keep our voice ready, to take over at once if it stops answering.
    window.prefs.update("speech", output="screen_reader")
    assert speaker.started == 2 and speaker.status.state == "ready"
    window.close()


def test_settings_offer_the_installed_speech_engines(qtbot: QtBot, tmp_path: Path) -> None:
    from app.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(
        settings_of(voice="Saved voice", speech_engine="sapi"), voices=[], engines=["mock", "speechd"]
    )
    qtbot.addWidget(dialog)
    engines = [dialog.speech_engine.itemData(i) for i in range(dialog.speech_engine.count())]
    assert engines == ["", "speechd", "sapi"]  # the system's, the installed ones, the saved one; never mock
    assert dialog.speech_engine.currentData() == "sapi"
    assert dialog.voice.currentData() == "Saved voice"  # kept even while the engine can't list it
    assert dialog.values()[("speech", "engine")] == "sapi"


@pytest.mark.slow
def test_narrate_speak_finishes_on_time_when_speech_never_answers(tiny_model: Path) -> None:
    needs_speechd()
    exe = Path(sys.executable).with_name("smolsight")
    command = [str(exe), "narrate", "--source", "sample", "--model", str(tiny_model), "--speak"]
    with speechd_standin("silent") as standin:
        started = time.monotonic()
        proc = subprocess.Popen(
            [*command, "--duration", "8"],
            env={**os.environ, "SPEECHD_ADDRESS": standin.address},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stderr is not None
            lines = []
            for line in proc.stderr:
                lines.append(line)
                if line.startswith("Model ready"):
                    ready = time.monotonic()
                    break
            out, rest = proc.communicate(timeout=60)
        finally:
            proc.kill()
            proc.wait()
        ended = time.monotonic()
    err = "".join(lines) + rest
    assert proc.returncode == 0, err
    assert ended - ready < 8 + 4, f"ran {ended - ready:.1f} s after the model was ready"
    assert ended - started < 60
    said = [line for line in err.splitlines() if "speech is unavailable" in line]
    assert said == [
        "smolsight: speech is unavailable (the speech engine did not answer within 6 s); "
        "printing the descriptions only."
    ], err
    assert out.strip() and "Traceback" not in err  # the descriptions were printed all the same
