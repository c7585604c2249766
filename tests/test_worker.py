"""The model thread: one job at a time, stale jobs dropped, bounded cancel and shutdown."""

from __future__ import annotations

import time

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from app.inference.types import Frame, GenerationRequest
from app.inference.worker import InferenceEngine
from tests.fakes import FakeBackend


def request(t: float = 0.0) -> GenerationRequest:
    return GenerationRequest("Describe.", frames=(Frame(np.zeros((8, 8, 3), np.uint8), t),))


@pytest.fixture
def engine_and_backend(qtbot: QtBot):  # type: ignore[no-untyped-def]
    backend = FakeBackend(seconds_per_call=0.4)
    engine = InferenceEngine(lambda: backend)
    with qtbot.waitSignal(engine.signals.ready, timeout=5000):
        engine.start()
    yield engine, backend
    assert engine.shutdown(timeout=5)
    assert not engine.model_thread.isRunning()


def test_stale_requests_are_dropped_and_results_arrive_in_order(qtbot: QtBot, engine_and_backend) -> None:  # type: ignore[no-untyped-def]
    engine, backend = engine_and_backend
    done: list[int] = []
    dropped: list[int] = []
    engine.signals.finished.connect(lambda d: done.append(d.job_id))
    engine.signals.dropped.connect(dropped.append)
    ids = []
    with qtbot.waitSignal(engine.signals.job_started, timeout=2000):
        ids.append(engine.submit(request(0), mode="continuous", priority="auto"))
    for t in range(1, 5):
        ids.append(engine.submit(request(t), mode="continuous", priority="auto"))
    qtbot.waitUntil(lambda: len(done) == 2, timeout=5000)
    assert done == [ids[0], ids[-1]]  # the first (already running) and the newest
    assert sorted(dropped) == ids[1:-1]
    assert [c.frame_times for c in backend.calls] == [(0,), (4,)]
    assert backend.load_thread == backend.calls[0].thread == engine.worker.thread_ident
    assert backend.load_thread != __import__("threading").main_thread().ident


def test_a_user_request_interrupts_narration_and_is_not_replaced_by_it(
    qtbot: QtBot, engine_and_backend
) -> None:  # type: ignore[no-untyped-def]
    engine, _backend = engine_and_backend
    results = []
    engine.signals.finished.connect(results.append)
    with qtbot.waitSignal(engine.signals.job_started, timeout=2000):
        auto = engine.submit(request(0), mode="continuous", priority="auto")
    user = engine.submit(request(1), mode="describe", priority="user")
    engine.submit(request(2), mode="continuous", priority="auto")  # must not push the user's aside
    qtbot.waitUntil(lambda: len(results) == 2, timeout=5000)
    assert [(r.job_id, r.finish_reason) for r in results] == [(auto, "cancelled"), (user, "stop")]


def test_cancel_takes_effect_within_one_token(qtbot: QtBot) -> None:
    backend = FakeBackend(seconds_per_call=4.0, tokens=40)  # 0.1 s per token
    engine = InferenceEngine(lambda: backend)
    with qtbot.waitSignal(engine.signals.ready, timeout=5000):
        engine.start()
    with qtbot.waitSignal(engine.signals.partial, timeout=3000):
        engine.submit(request(), mode="describe")
    start = time.monotonic()
    with qtbot.waitSignal(engine.signals.finished, timeout=2000) as blocker:
        engine.cancel()
    assert time.monotonic() - start < 0.5
    assert blocker.args[0].finish_reason == "cancelled"
    assert engine.shutdown(timeout=5)


def test_shutdown_during_a_long_generation_is_bounded_and_leaves_no_thread(qtbot: QtBot) -> None:
    backend = FakeBackend(seconds_per_call=30.0, tokens=300)
    engine = InferenceEngine(lambda: backend)
    with qtbot.waitSignal(engine.signals.ready, timeout=5000):
        engine.start()
    with qtbot.waitSignal(engine.signals.job_started, timeout=2000):
        engine.submit(request(), mode="describe")
    start = time.monotonic()
    assert engine.shutdown(timeout=3)
    assert time.monotonic() - start < 1.0
    assert not engine.model_thread.isRunning()
    assert backend.closed


def test_load_failure_is_reported_not_raised(qtbot: QtBot) -> None:
    from app.inference.base import BackendError

    def broken() -> FakeBackend:
        raise BackendError("The model 'x' is not on this computer")

    engine = InferenceEngine(broken)
    with qtbot.waitSignal(engine.signals.load_failed, timeout=5000) as blocker:
        engine.start()
    assert "not on this computer" in blocker.args[0]
    assert engine.shutdown(timeout=5)
