"""Honest freshness: each description knows its picture's age; never said as current after the scene moved."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.capture.sources import VideoFileSource
from app.inference.model_thread import ModelThread
from app.live.session import LiveSession, NarrationEvent
from tests.cleanup import shut_down_after_test
from tests.fakes import FakeBackend, settings_of
from tests.media import write_video


def narrate(qtbot: QtBot, video: Path, backend: FakeBackend, **settings: object) -> list[NarrationEvent]:
    chosen = settings_of(interval_s=0.2, buffer_fps=2.0, **settings)
    session = LiveSession(ModelThread(lambda: backend), chosen, poll_ms=20)
    shut_down_after_test(session)
    with qtbot.waitSignal(session.model_changed, timeout=5000, check_params_cb=lambda s: s.ready):
        session.start()
    events: list[NarrationEvent] = []
    session.narration.connect(events.append)
    with qtbot.waitSignal(
        session.capture_event, timeout=15000, check_params_cb=lambda e: e.kind == "end_of_file"
    ):
        session.set_source(VideoFileSource(video))  # real time: the scene changes while the model works
    qtbot.waitUntil(lambda: session.pending_jobs == 0, timeout=10000)
    return events


@pytest.fixture
def cut_while_describing(tmp_path: Path) -> Path:
    # Red for 1 s, then blue: a description of the red scene takes 1.6 s, so it arrives after the cut.
    return write_video(
        tmp_path / "cut.mp4", [((200, 30, 30), 1.0), ((30, 30, 200), 3.0)], moving_square=False
    )


def test_a_description_the_scene_has_outrun_is_said_as_past(qtbot: QtBot, cut_while_describing: Path) -> None:
    backend = FakeBackend(answer=lambda r: "A red wall.", seconds_per_call=1.6, tokens=8)
    events = narrate(qtbot, cut_while_describing, backend)
    first = events[0]
    assert first.description.frame_times[0] < 1.0  # it describes the red scene …
    assert first.verdict.reason == "stale" and first.verdict.announce
    assert first.spoken == "A moment ago: A red wall."  # … said as past, not as current
    assert first.age_s >= 1.0  # and it knows how old its picture is


def test_a_user_setting_drops_outrun_descriptions_instead(qtbot: QtBot, cut_while_describing: Path) -> None:
    backend = FakeBackend(answer=lambda r: "A red wall.", seconds_per_call=1.6, tokens=8)
    events = narrate(qtbot, cut_while_describing, backend, stale="drop")
    assert events[0].verdict.reason == "stale" and not events[0].verdict.announce


def test_a_description_that_is_still_true_is_said_as_current(qtbot: QtBot, tmp_path: Path) -> None:
    video = write_video(tmp_path / "still.mp4", [((200, 30, 30), 3.0)], moving_square=False)
    backend = FakeBackend(answer=lambda r: "A red wall.", seconds_per_call=0.8, tokens=8)
    events = narrate(qtbot, video, backend)
    assert events[0].verdict.reason == "new" and events[0].spoken == "A red wall."
    assert (
        0.5 <= events[0].age_s <= 2.5
    )  # the picture aged while the model worked: the event says by how much


def test_the_window_shows_the_age_and_says_it_as_past(qtbot: QtBot, tmp_path: Path) -> None:
    from tests.windows import open_window

    # The window's model may be ready before or after the video's first second is sampled (the
    # 1 FPS buffer): red for 2 s, so the first description is of red whether it starts at 0 s
    # or 1 s, and it takes 2.5 s, so it arrives after the cut to blue either way.
    cut = write_video(tmp_path / "cut.mp4", [((200, 30, 30), 2.0), ((30, 30, 200), 4.0)], moving_square=False)
    backend = FakeBackend(answer=lambda r: "A red wall.", seconds_per_call=2.5, tokens=8)
    window = open_window(qtbot, tmp_path, backend=backend, source=str(cut), narration_interval_s=0.5)
    try:
        qtbot.waitUntil(lambda: window.panel.history_list.count() >= 1, timeout=10000)
        assert "the scene has changed since" in window.panel.caption_status.text()
        assert "s old" in window.panel.caption_status.text()
        assert window.speaker is not None and "A moment ago: A red wall." in window.speaker.history
    finally:
        window.close()


def test_narrate_follows_the_saved_settings_under_its_own_flags(qtbot: QtBot) -> None:
    """`smolsight narrate` drops outdated descriptions when the settings say so, like the app."""
    from app.cli import parse_args
    from app.commands.flags import settings_from_args

    saved = settings_of(stale_descriptions="drop", clip_seconds=8.0, verbosity="detailed", memory=False)
    args = parse_args(["narrate", "--verbosity", "brief", "--interval", "5", "--threshold", "30"])
    session = LiveSession(ModelThread(lambda: FakeBackend()), settings_from_args(args, saved=saved))
    made = session.narrator.settings  # what narrate's session narrates with
    assert (made.stale, made.clip_seconds, made.memory) == ("drop", 8.0, False)
    assert (made.verbosity, made.interval_s, made.change_threshold) == ("brief", 5.0, 30.0)
    assert session.narrator.gate.threshold == 30.0 and not session.narrator.log.enabled
