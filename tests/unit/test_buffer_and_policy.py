"""Mailbox, 1 FPS buffer, change gate, de-duplication and the scene log."""

from __future__ import annotations

import numpy as np
import pytest

from app.capture.buffer import FrameBuffer, LatestFrame
from app.capture.change import ChangeGate
from app.capture.frames import Frame
from app.config import NarrationSettings
from app.narration.policy import Deduper, Narrator, SceneLog, normalize


def solid(value: int, t: float = 0.0) -> Frame:
    return Frame(np.full((48, 64, 3), value, np.uint8), t)


def test_mailbox_keeps_only_the_newest_and_counts_drops() -> None:
    box = LatestFrame()
    assert box.get() == (None, 0)
    for i in range(5):
        box.put(solid(i, i))
    frame, seq = box.get()
    assert frame is not None and frame.timestamp == 4 and seq == 5
    assert box.dropped == 4


def test_buffer_samples_at_its_rate_and_hands_out_clips() -> None:
    buf = FrameBuffer(fps=1.0, capacity=4)
    kept = [buf.offer(solid(0, i / 10)) for i in range(0, 61)]  # 10 FPS for 6 s
    assert sum(kept) == 7  # t = 0..6 s
    assert len(buf) == 4  # capacity
    assert [f.timestamp for f in buf.clip(2.0)] == [4.0, 5.0, 6.0]
    assert buf.offer(solid(0, 0.0))  # a restarted source starts a new history
    assert len(buf) == 1


@pytest.mark.parametrize(("fps", "size"), [(0, 16), (-1, 16), (1, 0), (1, 65)])
def test_buffer_limits(fps: float, size: int) -> None:
    with pytest.raises(ValueError):
        FrameBuffer(fps=fps, capacity=size)


@pytest.mark.parametrize(("fps", "size"), [(0.1, 16), (5, 16), (1, 0), (1, 65)])
def test_the_settings_keep_the_buffer_within_what_narration_can_use(fps: float, size: int) -> None:
    with pytest.raises(ValueError):
        NarrationSettings(buffer_fps=fps, buffer_frames=size)


def test_change_gate_skips_unchanged_and_passes_changes() -> None:
    gate = ChangeGate(threshold=12)
    assert gate.check(solid(100))
    gate.accept(solid(100))
    noisy = Frame(
        np.clip(
            np.full((48, 64, 3), 100) + np.random.default_rng(0).integers(-6, 6, (48, 64, 3)), 0, 255
        ).astype(np.uint8)
    )
    assert not gate.check(noisy)  # sensor noise is not a change
    assert not gate.check(solid(104))
    assert gate.check(solid(160))
    assert gate.skipped == 2 and gate.passed == 2


def test_dedup_recognises_rephrasings_not_new_scenes() -> None:
    d = Deduper()
    d.remember("A red mug on a wooden desk.")
    assert d.is_repeat("There is probably a red mug on the wooden desk")
    assert not d.is_repeat("A man opens the front door.")
    assert normalize("Probably, THE cat!") == "cat"


def test_scene_log_context_and_memory_switch() -> None:
    log = SceneLog()
    log.add(3.0, "description", "A red mug.")
    assert "[00:03] Seen: A red mug." in log.as_context()
    off = SceneLog(enabled=False)
    off.add(1.0, "description", "x")
    assert off.as_context() == "" and len(off) == 0


def test_narrator_asks_on_change_respecting_the_interval() -> None:
    n = Narrator(NarrationSettings(interval_s=2.0))
    assert n.on_sampled_frame(solid(10, 0.0)) is not None
    assert n.on_sampled_frame(solid(200, 1.0)) is None  # changed, but too soon
    assert n.on_sampled_frame(solid(10, 2.0)) is None  # same as the last described
    ask = n.on_sampled_frame(solid(200, 3.0))
    assert ask is not None and ask.priority == "auto" and ask.max_tokens == 32


def test_repeated_description_is_not_announced_but_user_requests_are() -> None:
    n = Narrator()
    auto = n.on_sampled_frame(solid(10, 0.0))
    assert auto is not None
    assert n.on_answer(auto, "A red mug on a desk.", 0.0).announce
    verdict = n.on_answer(auto, "Probably a red mug on the desk", 5.0)
    assert not verdict.announce and verdict.reason == "unchanged"
    user = n.describe_now(solid(10, 6.0))
    assert n.on_answer(user, "A red mug on a desk.", 6.0).announce
