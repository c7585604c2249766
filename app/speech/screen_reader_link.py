"""The link to the user's screen reader: found by itself, every call bounded, a loss said once.

One worker thread talks to the screen readers' own channels (`app/speech/screen_readers.py`);
the window only queues work and hears back through queued signals, so a screen reader or a
bus that hangs can never freeze it. Every few seconds, while idle, the worker asks which screen
reader runs (the first in the list that answers wins). A call that takes longer than
`call_s` counts as "not answering": the worker is abandoned (a fresh one takes over the
probing), what it had not delivered comes back through `undelivered`, and `lost` names the
screen reader and why, once; when the screen reader answers again, `changed` names it again.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance, Slot

from app.speech.screen_readers import ChannelsFactory, ScreenReaderChannel, ScreenReaderGone, first_sentence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Present:
    text: str
    interrupt: bool


@dataclass(frozen=True)
class _Probe:
    pass


@dataclass(frozen=True)
class _Cancel:
    pass


_Job = _Present | _Probe | _Cancel


class _Worker:
    """One thread that makes the blocking calls, one at a time, and reports how they went."""

    def __init__(self, generation: int, channels: ChannelsFactory, report: SignalInstance) -> None:
        self.generation = generation
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.busy_since = 0.0  # when the call under way began (0: idle)
        self.current: _Job | None = None
        self._channels = channels
        self._found: Sequence[ScreenReaderChannel] | None = None
        self._active: ScreenReaderChannel | None = None
        self._report = report
        name = f"smolsight-screen-reader-{generation}"
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                for channel in self._found or ():
                    channel.close()
                return
            self.current, self.busy_since = job, time.monotonic()
            try:
                self._do(job)
            except Exception:  # a channel's own defect: logged, the link goes on
                log.exception("the screen-reader channel failed")
                self._report.emit(self.generation, "probe", "")
            finally:
                self.current, self.busy_since = None, 0.0

    def _channels_here(self) -> Sequence[ScreenReaderChannel]:
        if self._found is None:
            self._found = list(self._channels())
        return self._found

    def _do(self, job: _Job) -> None:
        if isinstance(job, _Probe):
            self._active = next((c for c in self._channels_here() if c.running()), None)
            self._report.emit(self.generation, "probe", self._active.name if self._active else "")
        elif isinstance(job, _Cancel):
            if self._active is not None:
                self._active.cancel()
        else:
            channel = self._active
            try:
                if channel is None:
                    raise ScreenReaderGone("no screen reader is running")
                channel.present(job.text, first_sentence(job.text), interrupt=job.interrupt)
            except ScreenReaderGone as exc:
                self._active = None
                self._report.emit(self.generation, "failed", (job.text, str(exc)))
            else:
                self._report.emit(self.generation, "delivered", job.text)


class ScreenReaderLink(QObject):
    """Hands text to the user's screen reader through its own channel, in the background too."""

    changed = Signal(str)  # the screen reader in use now, by name; "" when none
    lost = Signal(str, str)  # a screen reader that stopped or stopped answering, and why
    undelivered = Signal(str)  # text the screen reader did not take (our voice can say it)
    delivered = Signal(str)  # text the screen reader took
    _report = Signal(int, str, object)  # from the worker: its generation, what happened, details

    def __init__(self, channels: ChannelsFactory, *, call_s: float = 3.0, probe_s: float = 3.0) -> None:
        super().__init__()
        self.channels = channels
        self.call_s = call_s
        self.name = ""  # the screen reader in use now
        self._generations = itertools.count(1)
        self._worker: _Worker | None = None
        self._stalls = 0  # stalls in a row: each one waits longer before asking again
        self._quiet_until = 0.0
        self._report.connect(self._on_report)
        self._probe_timer = QTimer(self)
        self._probe_timer.setInterval(int(probe_s * 1000))
        self._probe_timer.timeout.connect(self.probe)
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(200)
        self._watchdog.timeout.connect(self._check_stalled)

    @property
    def available(self) -> bool:
        """Whether a screen reader answered the last time it was asked."""
        return bool(self.name)

    def start(self) -> None:
        """Start the worker and look for a screen reader at once, then every few seconds."""
        if self._worker is None:
            self._worker = _Worker(next(self._generations), self.channels, self._report)
        self._probe_timer.start()
        self._watchdog.start()
        self.probe()

    def probe(self) -> None:
        """Ask (on the worker) which screen reader runs now, unless it is busy delivering."""
        worker = self._worker
        if time.monotonic() < self._quiet_until:
            return
        if worker is not None and worker.current is None and worker.jobs.empty():
            worker.jobs.put(_Probe())

    def send(self, text: str, *, interrupt: bool) -> None:
        """Queue `text` for the screen reader; what it can't take comes back through `undelivered`."""
        if self._worker is None or not self.name:
            self.undelivered.emit(text)
            return
        self._worker.jobs.put(_Present(text, interrupt))

    def cancel(self) -> None:
        """Ask the screen reader to stop speaking (where its channel allows)."""
        if self._worker is not None and self.name:
            self._worker.jobs.put(_Cancel())

    def shutdown(self, timeout: float = 1.0) -> None:
        """Stop probing and end the worker (one stuck in a call is left to end with the process)."""
        self._probe_timer.stop()
        self._watchdog.stop()
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.jobs.put(None)
            worker.thread.join(timeout)

    # --- what the worker reports, on this (the GUI) thread ----------------------------------
    @Slot(int, str, object)
    def _on_report(self, generation: int, what: str, details: object) -> None:
        if self._worker is None or generation != self._worker.generation:
            return  # an abandoned worker's late news
        if what == "probe":
            assert isinstance(details, str)
            self._stalls = 0
            self._set_name(details, "it stopped")
        elif what == "failed":
            assert isinstance(details, tuple)
            text, why = str(details[0]), str(details[1])
            self._set_name("", why)
            self.undelivered.emit(text)
        elif what == "delivered":
            assert isinstance(details, str)
            self.delivered.emit(details)

    def _set_name(self, name: str, why: str) -> None:
        if name == self.name:
            return
        previous, self.name = self.name, name
        log.info("screen reader: %s", name or f"none ({previous}: {why})")
        if previous and not name:
            self.lost.emit(previous, why)
        self.changed.emit(name)

    @Slot()
    def _check_stalled(self) -> None:
        worker = self._worker
        if worker is None or not worker.busy_since or time.monotonic() - worker.busy_since < self.call_s:
            return
        stuck = worker.current
        log.warning("the screen reader did not answer within %.1f s: abandoning its thread", self.call_s)
        left: list[str] = [stuck.text] if isinstance(stuck, _Present) else []
        while True:
            try:
                job = worker.jobs.get_nowait()
            except queue.Empty:
                break
            if isinstance(job, _Present):
                left.append(job.text)
        worker.jobs.put(None)  # if it ever comes back, it ends
        # A screen reader that hangs would strand a thread at every probe: wait longer each time.
        self._stalls += 1
        self._quiet_until = time.monotonic() + min(60.0, 5.0 * 2 ** (self._stalls - 1))
        self._worker = _Worker(next(self._generations), self.channels, self._report)
        self._set_name("", f"it did not answer within {self.call_s:g} s")
        for text in left:
            self.undelivered.emit(text)
