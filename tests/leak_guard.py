"""A pytest plugin that fails a test which leaves a thread, a QThread or a process running.

Every `threading.Thread` and every `QThread` the test starts is recorded (daemon or not:
daemon threads are how leaks hide), as napari's test fixtures do for QThreads. After the test,
each recorded one gets a short grace period to finish; any still running fails the test with
its name.

"The test starts" means: started from the main thread during the test, or from a thread the
test started. Child processes (the speech helper, a server a test launched) are counted too:
any process of ours that appeared during the test and still runs after the grace period fails
it, by command line. A thread started by a longer-lived fixture's own thread (a module-scoped test
server's event loop creating its worker pool) belongs to that fixture, which stops it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

GRACE_S = 2.0


def leftover(threads: list[threading.Thread], qthreads: list[object], grace_s: float = GRACE_S) -> list[str]:
    """Names of the recorded threads still running once `grace_s` has passed."""
    deadline = time.monotonic() + grace_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    names = [f"thread {t.name!r}" for t in threads if t.is_alive()]
    for qthread in qthreads:
        waiting = int(max(0.0, deadline - time.monotonic()) * 1000)
        if qthread.isRunning() and not qthread.wait(waiting):  # type: ignore[attr-defined]
            names.append(f"QThread {qthread.objectName() or type(qthread).__name__!r}")  # type: ignore[attr-defined]
    return names


def children() -> dict[int, str]:
    """The living descendants of the test process: pid → command line."""
    import psutil

    alive = {}
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive[child.pid] = " ".join(child.cmdline()[:4])
        except psutil.Error:
            continue
    return alive


def leftover_processes(before: set[int], grace_s: float = GRACE_S) -> list[str]:
    """Command lines of the processes started since `before` still running after `grace_s`."""
    deadline = time.monotonic() + grace_s
    while True:
        new = {pid: cmd for pid, cmd in children().items() if pid not in before}
        if not new or time.monotonic() > deadline:
            return [f"process {cmd!r}" for cmd in new.values()]
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def _no_leftover_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if a thread, QThread or process it started is still running afterwards."""
    processes_before = set(children())
    started: list[threading.Thread] = []
    qstarted: list[object] = []
    original_start = threading.Thread.start
    outer = {t for t in threading.enumerate() if t is not threading.main_thread()}

    def recording_start(self: threading.Thread) -> None:
        if threading.current_thread() not in outer:
            started.append(self)
        original_start(self)

    monkeypatch.setattr(threading.Thread, "start", recording_start)
    try:
        from PySide6.QtCore import QThread
    except ImportError:  # pragma: no cover - PySide6 is a dependency
        QThread = None
    if QThread is not None:
        original_qstart = QThread.start

        def recording_qstart(self: QThread, *args: object) -> None:
            qstarted.append(self)
            original_qstart(self, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(QThread, "start", recording_qstart)
    yield
    monkeypatch.undo()
    still = leftover(started, qstarted) + leftover_processes(processes_before)
    assert not still, f"the test left these running: {', '.join(still)}"
