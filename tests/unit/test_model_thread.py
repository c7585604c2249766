"""The one model thread: queue policies, handles, cancel, load failures, progress, bounded shutdown."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from app.capture.frames import Frame
from app.inference.backend import BackendError
from app.inference.model_thread import (
    Answer,
    BoundedFifo,
    Dropped,
    JobDropped,
    LatestWins,
    ModelChanged,
    ModelEvent,
    ModelState,
    ModelThread,
    NotReady,
    Partial,
    QueueFull,
)
from app.inference.types import GenerationRequest
from tests.cleanup import shut_down_after_test
from tests.fakes import FakeBackend


def request(t: float = 0.0) -> GenerationRequest:
    return GenerationRequest("Describe.", frames=(Frame(np.zeros((8, 8, 3), np.uint8), t),))


class Recorder:
    """An engine listener that keeps every event, thread-safely."""

    def __init__(self) -> None:
        self.events: list[ModelEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: ModelEvent) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: type) -> list[ModelEvent]:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]


def started(backend: FakeBackend, **kwargs: object) -> tuple[ModelThread, Recorder]:
    events = Recorder()
    model_thread = ModelThread(lambda: backend, listener=events, **kwargs)  # type: ignore[arg-type]
    shut_down_after_test(model_thread)
    model_thread.wait_ready(timeout=5)
    return model_thread, events


def wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_latest_wins_drops_stale_requests_and_answers_in_order() -> None:
    backend = FakeBackend(seconds_per_call=0.4)
    model_thread, events = started(backend)
    first = model_thread.submit(request(0), priority="auto")
    wait_until(lambda: backend.calls)
    later = [model_thread.submit(request(t), priority="auto") for t in range(1, 5)]
    assert first.result(timeout=5).frame_times == (0,)
    assert later[-1].result(timeout=5).frame_times == (4,)
    for stale in later[:-1]:
        with pytest.raises(JobDropped):
            stale.result(timeout=1)
    assert sorted(e.job_id for e in events.of(Dropped)) == [h.id for h in later[:-1]]  # type: ignore[attr-defined]
    assert [c.frame_times for c in backend.calls] == [(0,), (4,)]
    assert backend.load_thread == backend.calls[0].thread == model_thread.thread_ident
    assert backend.load_thread != threading.main_thread().ident


def test_a_user_request_interrupts_narration_and_is_not_replaced_by_it() -> None:
    model_thread, _ = started(FakeBackend(seconds_per_call=0.4))
    auto = model_thread.submit(request(0), priority="auto")
    wait_until(lambda: model_thread.busy)
    user = model_thread.submit(request(1), priority="user")
    late = model_thread.submit(request(2), priority="auto")  # must not push the user's aside
    assert auto.result(timeout=5).finish_reason == "cancelled"
    assert user.result(timeout=5).finish_reason == "stop"
    with pytest.raises(JobDropped):
        late.result(timeout=1)


def test_bounded_fifo_answers_everyone_in_order_and_refuses_when_full() -> None:
    model_thread, _ = started(FakeBackend(seconds_per_call=0.3), policy=BoundedFifo(2))
    running = model_thread.submit(request(0))
    wait_until(lambda: model_thread.busy)
    waiting = [model_thread.submit(request(1)), model_thread.submit(request(2))]
    with pytest.raises(QueueFull):
        model_thread.submit(request(3))
    results = [h.result(timeout=5) for h in [running, *waiting]]
    assert [r.frame_times for r in results] == [(0,), (1,), (2,)]
    assert all(r.finish_reason == "stop" for r in results)
    assert model_thread.submit(request(4)).result(timeout=5).text  # room again once the queue drained


def test_clients_take_turns_so_one_burst_cannot_starve_another() -> None:
    gate = threading.Event()  # the first answer waits until every request is queued: no race

    def answer(_request: object) -> str:
        gate.wait(10)
        return "An answer."

    model_thread, _ = started(FakeBackend(answer=answer), policy=BoundedFifo(3))  # type: ignore[arg-type]
    finished: list[str] = []

    def ask(client: str, n: int) -> None:
        job = model_thread.submit(request(n), client=client)
        job.add_done_callback(lambda: finished.append(f"{client}{n}"))

    ask("desk-a", 1)
    wait_until(lambda: model_thread.busy)
    for n in (2, 3, 4):  # desk A's burst waits...
        ask("desk-a", n)
    with pytest.raises(QueueFull):  # ...up to its own share of the queue
        model_thread.submit(request(5), client="desk-a")
    ask("desk-b", 1)  # desk B still gets in, and goes next
    ask("desk-c", 1)
    gate.set()
    wait_until(lambda: len(finished) == 6, timeout=10)
    assert finished == ["desk-a1", "desk-b1", "desk-c1", "desk-a2", "desk-a3", "desk-a4"]


def test_a_handle_cancels_its_own_job_within_one_token() -> None:
    model_thread, _ = started(FakeBackend(seconds_per_call=4.0, tokens=40))  # 0.1 s per token
    chunks: list[str] = []
    job = model_thread.submit(request(), on_chunk=lambda c: chunks.append(c.text))
    wait_until(lambda: chunks)
    start = time.monotonic()
    job.cancel()
    assert job.result(timeout=2).finish_reason == "cancelled"
    assert time.monotonic() - start < 0.5


def test_tasks_run_on_the_model_thread_and_return_their_value() -> None:
    backend = FakeBackend()
    model_thread, _ = started(backend)
    job = model_thread.run_task(lambda b, _cancel: (threading.get_ident(), b.info.model))
    assert job.result(timeout=5) == (model_thread.thread_ident, "fake-model")

    def broken(_backend: object, _cancel: object) -> None:
        raise ValueError("that video has no frames")

    with pytest.raises(ValueError, match="no frames"):
        model_thread.run_task(broken).result(timeout=5)
    assert model_thread.model_state.ready  # a failing task never kills the model thread


def test_a_load_failure_is_reported_once_and_every_caller_hears_why() -> None:
    def broken() -> FakeBackend:
        raise BackendError("The model 'x' is not on this computer")

    events = Recorder()
    model_thread = ModelThread(broken, listener=events)
    shut_down_after_test(model_thread)
    with pytest.raises(BackendError, match="not on this computer"):
        model_thread.wait_ready(timeout=5)
    assert model_thread.model_state.status == "failed"
    failures = [e.state.failure for e in events.of(ModelChanged) if e.state.failure]  # type: ignore[attr-defined]
    assert [f.message for f in failures] == ["The model 'x' is not on this computer"]  # reported once
    with pytest.raises(NotReady, match="not on this computer"):
        model_thread.submit(request())


def test_submitting_while_loading_says_so() -> None:
    model_thread = ModelThread(lambda: FakeBackend(load_seconds=1.0))
    shut_down_after_test(model_thread)
    model_thread.start()
    with pytest.raises(NotReady, match="still loading"):
        model_thread.submit(request())
    model_thread.wait_ready(timeout=5)


def test_load_progress_reaches_listeners_before_ready() -> None:
    backend = FakeBackend(download_steps=((0, 2_000_000), (1_000_000, 2_000_000)))
    model_thread, events = started(backend)
    states: list[ModelState] = [e.state for e in events.of(ModelChanged)]  # type: ignore[attr-defined]
    loading = [s.progress for s in states if s.progress is not None]
    downloads = [p for p in loading if p.stage == "download"]
    assert [p.fraction for p in downloads] == [0.0, 0.5]
    assert loading[-1].stage == "warm_up"
    assert states[-1].ready and states[-1].info == model_thread.info and all(not s.ready for s in states[:-1])


def test_reload_switches_the_backend_after_the_running_job() -> None:
    first, second = FakeBackend(seconds_per_call=0.3), FakeBackend()
    model_thread, events = started(first)
    running = model_thread.submit(request(0))
    wait_until(lambda: model_thread.busy)
    model_thread.reload(lambda: second)
    assert model_thread.model_state.status == "loading"
    assert running.result(timeout=5).finish_reason == "stop"  # a person's request is finished
    model_thread.wait_ready(timeout=5)
    model_thread.submit(request(1)).result(timeout=5)
    assert first.closed and len(second.calls) == 1
    assert len([e for e in events.of(ModelChanged) if e.state.ready]) == 2  # type: ignore[attr-defined]


def test_the_streamed_pieces_and_the_answer_are_the_same_clean_text() -> None:
    # A model that starts with white space and emits a control character and a broken letter.
    backend = FakeBackend(answer=lambda _r: "  \x05A red mug\ufffd.", seconds_per_call=0.05, tokens=5)
    model_thread, events = started(backend)
    pieces: list[str] = []
    answer = model_thread.submit(request(), on_chunk=lambda chunk: pieces.append(chunk.text)).result(
        timeout=5
    )
    assert answer.text == "A red mug."
    assert "".join(pieces).rstrip() == answer.text  # what --stream and SSE print is the answer
    assert pieces[0] == "" and next(p for p in pieces if p) == "A "  # never a leading space
    assert [p.text for p in events.of(Partial)][-1].rstrip() == answer.text


def test_shutdown_during_a_long_generation_is_bounded() -> None:
    backend = FakeBackend(seconds_per_call=30.0, tokens=300)
    model_thread, _ = started(backend)
    job = model_thread.submit(request())
    wait_until(lambda: model_thread.busy)
    start = time.monotonic()
    assert model_thread.shutdown(timeout=3)
    assert time.monotonic() - start < 1.0
    assert not model_thread.running and backend.closed
    assert isinstance(job.result(timeout=1), Answer)  # finished as cancelled, not lost
    with pytest.raises(NotReady):
        model_thread.submit(request())


def test_a_retired_model_thread_answers_what_it_was_given_then_stops() -> None:
    backend = FakeBackend(seconds_per_call=0.2)
    model_thread, _ = started(backend, policy=BoundedFifo(4))
    given = [model_thread.submit(request(t)) for t in (0, 1, 2)]
    wait_until(lambda: model_thread.busy)
    model_thread.retire()
    late = model_thread.submit(request(3))  # asked before the queue drained: still answered
    results = [h.result(timeout=5) for h in [*given, late]]
    assert [r.frame_times for r in results] == [(0,), (1,), (2,), (3,)]
    assert all(r.finish_reason == "stop" for r in results)
    wait_until(lambda: not model_thread.running)
    assert backend.closed and model_thread.model_state.status == "stopped"
    with pytest.raises(NotReady):
        model_thread.submit(request(4))  # refused, never stranded in a queue nobody reads


def test_latest_wins_is_the_default_policy() -> None:
    assert isinstance(ModelThread(lambda: FakeBackend()).policy, LatestWins)


def test_listeners_hear_that_the_model_stopped() -> None:
    model_thread, events = started(FakeBackend())
    assert model_thread.shutdown(timeout=5)
    changes = [e.state.status for e in events.of(ModelChanged)]  # type: ignore[attr-defined]
    assert changes[-1] == "stopped" and changes.count("stopped") == 1
    assert model_thread.model_state.status == "stopped"
    never_started = Recorder()
    idle = ModelThread(lambda: FakeBackend(), listener=never_started)
    assert idle.shutdown(timeout=5)
    assert [e.state.status for e in never_started.of(ModelChanged)] == ["stopped"]  # type: ignore[attr-defined]
