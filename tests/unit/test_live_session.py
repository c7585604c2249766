"""Live narration over real video files written by OpenCV, with a slow fake backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.capture.sources import ImageSource, VideoFileSource
from app.inference.model_thread import Dropped, ModelEvent, ModelThread
from app.live.session import LiveSession, NarrationEvent
from tests.cleanup import shut_down_after_test
from tests.fakes import FakeBackend, memory_only_answer, settings_of
from tests.media import write_photo, write_video


def make_session(
    qtbot: QtBot, backend: FakeBackend, *, memory: bool = True, **settings: float
) -> LiveSession:
    model_thread = ModelThread(lambda: backend)
    chosen = settings_of(
        interval_s=settings.get("interval", 0.5), memory=memory, buffer_fps=settings.get("fps", 2.0)
    )
    session = LiveSession(model_thread, chosen, poll_ms=20)
    shut_down_after_test(session)
    with qtbot.waitSignal(session.model_changed, timeout=5000, check_params_cb=lambda s: s.ready):
        session.start()
    return session


def run_until_end(qtbot: QtBot, session: LiveSession, source: VideoFileSource) -> list[NarrationEvent]:
    events: list[NarrationEvent] = []
    session.narration.connect(events.append)
    with qtbot.waitSignal(
        session.capture_event, timeout=10000, check_params_cb=lambda e: e.kind == "end_of_file"
    ):
        session.set_source(source)
    qtbot.waitUntil(lambda: session.pending_jobs == 0, timeout=5000)
    return events


def test_unchanged_scene_triggers_no_model_calls(qtbot: QtBot, tmp_path: Path) -> None:
    video = write_video(tmp_path / "still.mp4", [((90, 90, 90), 6.0)], moving_square=False)
    backend = FakeBackend(seconds_per_call=0.1)
    session = make_session(qtbot, backend)
    events = run_until_end(qtbot, session, VideoFileSource(video, speed=4.0))
    assert len(backend.calls) == 1  # the first look at the scene, then nothing
    assert len(events) == 1
    assert session.narrator.gate.skipped >= 5


def test_a_scene_change_triggers_one_call_and_a_repeat_is_not_announced(qtbot: QtBot, tmp_path: Path) -> None:
    video = write_video(tmp_path / "cut.mp4", [((200, 30, 30), 3.0), ((30, 30, 200), 3.0)])
    backend = FakeBackend(seconds_per_call=0.1)  # says the same words for both scenes
    session = make_session(qtbot, backend)
    events = run_until_end(qtbot, session, VideoFileSource(video, speed=2.0))
    assert len(backend.calls) == 2
    assert backend.calls[1].frame_times[0] == pytest.approx(3.0, abs=0.6)
    assert [e.verdict.reason for e in events] == ["new", "unchanged"]
    assert [e.verdict.announce for e in events] == [True, False]


def test_while_the_model_is_busy_stale_frames_are_dropped(qtbot: QtBot, tmp_path: Path) -> None:
    # A new scene every second, a model that needs 1.5 s: requests must not pile up.
    colours = [((30, 30, 30) if i % 2 else (220, 220, 220), 1.0) for i in range(7)]
    video = write_video(tmp_path / "busy.mp4", colours, moving_square=False)
    backend = FakeBackend(seconds_per_call=1.5)
    session = make_session(qtbot, backend, interval=0.0, fps=1.0)
    dropped: list[ModelEvent] = []
    session.model_thread.add_listener(
        lambda event: dropped.append(event) if isinstance(event, Dropped) else None
    )
    events = run_until_end(qtbot, session, VideoFileSource(video))
    times = [e.description.frame_times[0] for e in events]
    assert times == sorted(times)  # in order
    assert dropped  # a newer frame replaced one that was waiting
    assert len(backend.calls) < 7


@pytest.mark.parametrize(("memory", "expected_score"), [(True, 3), (False, 0)])
def test_follow_up_questions_are_answered_from_the_scene_log(
    qtbot: QtBot, tmp_path: Path, memory: bool, expected_score: int
) -> None:
    """The seed's context protocol: describe, then three questions without the image."""
    backend = FakeBackend(answer=memory_only_answer, seconds_per_call=0.05)
    session = make_session(qtbot, backend, memory=memory)
    session.continuous = False
    with qtbot.waitSignal(session.capture_event, timeout=5000):
        session.set_source(ImageSource(write_photo(tmp_path / "desk.png")))
    qtbot.waitUntil(lambda: session.current_frame() is not None, timeout=2000)
    with qtbot.waitSignal(session.narration, timeout=5000):
        session.describe_now()
    answers = []
    for question, expected in [
        ("What colour was the mug?", "red"),
        ("On what did the mug stand?", "wooden desk"),
        ("What was next to the mug?", "blue laptop"),
    ]:
        with qtbot.waitSignal(session.narration, timeout=5000) as got:
            session.ask(question, with_frame=False)
        event: NarrationEvent = got.args[0]
        answers.append(expected in event.description.text)
        assert backend.calls[-1].frame_times == ()  # no image in the follow-up
    assert sum(answers) == expected_score


def test_what_just_happened_sends_the_last_seconds_as_a_clip(qtbot: QtBot, tmp_path: Path) -> None:
    video = write_video(tmp_path / "walk.mp4", [((200, 30, 30), 3.0), ((30, 30, 200), 3.0)])
    backend = FakeBackend(seconds_per_call=0.05)
    session = make_session(qtbot, backend, fps=1.0)
    session.continuous = False
    session.apply(settings_of(interval_s=0.5, buffer_fps=1.0, clip_seconds=4.0))
    with qtbot.waitSignal(
        session.capture_event, timeout=10000, check_params_cb=lambda e: e.kind == "end_of_file"
    ):
        session.set_source(VideoFileSource(video, speed=3.0))
    with qtbot.waitSignal(session.narration, timeout=5000) as got:
        assert session.what_just_happened() is not None
    call = backend.calls[-1]
    assert len(call.frame_times) >= 4 and list(call.frame_times) == sorted(call.frame_times)
    assert call.frame_times[-1] - call.frame_times[0] <= 4.0 + 1e-6
    assert "Frame from 00:0" in call.prompt and "video." in call.prompt
    assert got.args[0].ask.mode == "what_happened"
