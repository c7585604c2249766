"""Spoken output that can never stall SmolSight, with a polite/interrupt policy.

The speech engine runs in a child process (`app/speech/host.py`): an engine that hangs
(speech-dispatcher with no audio output blocks forever, holding Python's GIL) blocks only that
process. Every command must be answered within a bound, every utterance must start and end
within one; when the engine is late the process is ended, the status turns `unavailable`
with the reason (said once by whoever listens), and what could not be said is handed back
through `undelivered` so the caller can send it to the screen reader. The engine is tried
again by itself, less and less often, and at once when another engine or voice is chosen.

Routine narration is polite: it waits for the current utterance, and a newer description
replaces one that has not been spoken yet (stale descriptions are dropped). Answers to the
user's own requests and errors interrupt whatever is being said.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Literal, Protocol

from PySide6.QtCore import QObject, QProcess, QTimer, Signal, SignalInstance, Slot

from app.config import SpeechSettings
from app.helpers import helper_command

log = logging.getLogger(__name__)

SpeechState = Literal["off", "starting", "ready", "unavailable"]


@dataclass(frozen=True)
class SpeechStatus:
    """Whether speech works now: `off` (not started), `starting`, `ready` or `unavailable` (why)."""

    state: SpeechState
    reason: str = ""  # why speech is unavailable, in words a person can act on
    engine: str = ""  # the engine speaking (e.g. speechd, sapi, darwin)


@dataclass(frozen=True)
class SpeechLimits:
    """How long the engine may take before it counts as stalled, and when to try it again."""

    start_s: float = 20.0  # the helper process starts and lists the engines
    engine_s: float = 6.0  # the engine is created (connects to its service)
    command_s: float = 4.0  # a command is carried out
    begin_s: float = 20.0  # an utterance starts (other programs' speech may come first)
    end_base_s: float = 10.0  # an utterance ends: this plus `per_word_s` per word
    per_word_s: float = 1.0
    retry_s: tuple[float, ...] = (10.0, 30.0, 60.0, 120.0)  # tries after a failure, the last repeated


class SpeechOutput(Protocol):
    """What the window and `narrate` need of speech (the real `Speaker`, or a test's fake)."""

    muted: bool
    status_changed: SignalInstance  # SpeechStatus
    undelivered: SignalInstance  # str: text that could not be spoken

    @property
    def status(self) -> SpeechStatus:
        """Whether speech works now."""
        ...

    def start(self) -> None:
        """Start the engine (nothing happens when it runs already)."""

    def say(self, text: str, *, interrupt: bool = False) -> None:
        """Speak `text`: now (interrupt) or after the current utterance (polite)."""

    def stop(self) -> None:
        """Stop speaking at once and forget what was waiting."""

    def apply(self, settings: SpeechSettings) -> None:
        """Speak with the user's speech settings from now on (engine, voice, rate, volume, mute)."""

    def voice_names(self) -> list[str]:
        """The voices the engine offers (empty until it is ready)."""
        ...

    def engine_names(self) -> list[str]:
        """The speech engines installed (empty until the helper has started)."""
        ...

    def shutdown(self) -> None:
        """End the engine's process (bounded)."""


def host_command(engine: str) -> list[str]:
    """The command line that starts the speech helper, from this interpreter or app launcher."""
    extra = [*(["--engine", engine] if engine else []), "--parent", str(os.getpid())]
    return helper_command("speech", *extra)


@dataclass
class _Utterance:
    text: str
    sent_at: float
    began: bool = False

    def deadline(self, limits: SpeechLimits) -> float:
        words = len(self.text.split())
        return self.sent_at + limits.end_base_s + limits.per_word_s * words


class Speaker(QObject):
    """Speaks through QTextToSpeech in a helper process; a stalled engine is noticed, never waited on."""

    status_changed = Signal(object)  # SpeechStatus
    spoken = Signal(str)  # text handed to the engine
    undelivered = Signal(str)  # text that could not be spoken (the engine is unavailable or stalled)

    def __init__(self, settings: SpeechSettings | None = None, *, limits: SpeechLimits | None = None) -> None:
        super().__init__()
        first = settings or SpeechSettings()
        self.muted = first.muted
        self._engine = first.engine
        self._rate = first.rate
        self._volume = first.volume
        self._voice = first.voice
        self._limits = limits or SpeechLimits()
        self._status = SpeechStatus("off")
        self._process: QProcess | None = None
        # The helper: none, launched (Python starting), hello (creating the engine), checking (the
        # engine exists; its first commands must be answered before it counts), ready.
        self._host: Literal["none", "launched", "hello", "checking", "ready"] = "none"
        self._launched_at = 0.0
        self._hello_at = 0.0
        self._output = b""
        self._next_id = 0
        self._unacked: dict[int, tuple[str, float]] = {}  # id → (command, sent at)
        self._utterance: _Utterance | None = None
        self._pending: str | None = None
        self._engines: list[str] = []
        self._engine_name = ""
        self._voices: list[str] = []
        self._failures = 0
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(250)
        self._watchdog.timeout.connect(self._on_watchdog)
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.timeout.connect(self._launch)

    # --- the caller's side ---------------------------------------------------------------
    @property
    def status(self) -> SpeechStatus:
        """Whether speech works now."""
        return self._status

    @property
    def pending(self) -> str | None:
        """The description waiting for the current utterance to end."""
        return self._pending

    def speaking(self) -> bool:
        """Whether an utterance is in progress."""
        return self._utterance is not None

    def start(self) -> None:
        """Start the helper and its engine; the status says when it is ready (or why not)."""
        if self._status.state == "off":
            self._set_status(SpeechStatus("starting"))
            self._launch()

    def say(self, text: str, *, interrupt: bool = False) -> None:
        """Speak `text`: now (interrupt) or after the current utterance (polite)."""
        text = text.strip()
        if not text or self.muted:
            return
        if self._status.state in ("unavailable", "off"):
            self.undelivered.emit(text)
        elif self._host != "ready":
            self._pending = text  # said as soon as the engine is ready
        elif interrupt:
            self._pending = None
            self._send("stop")
            self._speak(text)
        elif self.speaking():
            self._pending = text  # replaces an older description not yet spoken
        else:
            self._speak(text)

    def stop(self) -> None:
        """Stop speaking at once and forget what was waiting."""
        self._pending = None
        if self._host == "ready":
            self._send("stop")
            self._utterance = None

    def apply(self, settings: SpeechSettings) -> None:
        """Speak with the user's speech settings from now on (engine, voice, rate, volume, mute)."""
        self.muted = settings.muted
        if settings.rate != self._rate:
            self.set_rate(settings.rate)
        if settings.volume != self._volume:
            self.set_volume(settings.volume)
        self.set_engine(settings.engine)
        if settings.voice != self._voice:
            self.set_voice(settings.voice)

    def set_rate(self, rate: float) -> None:
        """Speech rate from -1 (slow) to 1 (fast)."""
        self._rate = max(-1.0, min(1.0, rate))
        if self._host in ("checking", "ready"):
            self._send("rate", value=self._rate)

    def set_volume(self, volume: float) -> None:
        """Volume from 0 to 1."""
        self._volume = max(0.0, min(1.0, volume))
        if self._host in ("checking", "ready"):
            self._send("volume", value=self._volume)

    def set_voice(self, name: str) -> None:
        """Use the voice called `name`; an unavailable engine is tried again at once."""
        changed, self._voice = name != self._voice, name
        if self._host in ("checking", "ready") and name:
            self._send("voice", name=name)
        elif changed:
            self._try_again_now()

    def set_engine(self, name: str) -> None:
        """Use the engine called `name` ('' for the system's): the helper starts anew with it."""
        if name == self._engine:
            return
        self._engine = name
        if self._status.state != "off":
            self._end_process()
            self._failures = 0
            self._launch()

    def voice_names(self) -> list[str]:
        """The voices the engine offers (empty until it is ready)."""
        return list(self._voices)

    def engine_names(self) -> list[str]:
        """The speech engines installed (empty until the helper has started)."""
        return list(self._engines)

    def shutdown(self, timeout: float = 2.0) -> None:
        """Ask the helper to quit; end it if it doesn't within `timeout` (a stalled one at once)."""
        self._retry.stop()
        self._watchdog.stop()
        process, self._process = self._process, None
        if process is not None:
            if self._host == "ready" and not self._unacked:
                process.write(b'{"id": 0, "do": "quit"}\n')
                process.closeWriteChannel()
                process.waitForFinished(int(timeout * 1000))
            if process.state() != QProcess.ProcessState.NotRunning:
                process.kill()
                process.waitForFinished(1000)
            process.deleteLater()
        self._host = "none"
        self._reset_work()
        self._set_status(SpeechStatus("off"))

    # --- the helper process ----------------------------------------------------------------
    def _launch(self) -> None:
        self._retry.stop()  # a launch now replaces one that was waiting
        self._end_process()
        command = host_command(self._engine)
        process = QProcess(self)
        process.setProgram(command[0])
        process.setArguments(command[1:])
        # Bound slots, not lambdas: each names its process through `sender()`, and nothing outlives
        # a process deleted later.
        process.readyReadStandardOutput.connect(self._on_output)
        process.readyReadStandardError.connect(self._on_stderr)
        process.errorOccurred.connect(self._on_process_error)
        process.finished.connect(self._on_finished)
        self._process = process
        self._host = "launched"
        self._launched_at = time.monotonic()
        self._output = b""
        log.info("starting the speech helper: %s", " ".join(command))
        process.start()
        self._watchdog.start()

    def _end_process(self) -> None:
        process, self._process = self._process, None
        self._host = "none"
        if process is not None and process.state() != QProcess.ProcessState.NotRunning:
            process.kill()  # a stalled engine never answers a polite request; its process ends at once
        self._reset_work()

    def _reset_work(self) -> None:
        self._unacked.clear()
        self._utterance = None

    def _send(self, do: str, **fields: object) -> None:
        if self._process is None:
            return
        self._next_id += 1
        self._unacked[self._next_id] = (do, time.monotonic())
        line = json.dumps({"id": self._next_id, "do": do, **fields}) + "\n"
        self._process.write(line.encode("utf-8"))

    def _speak(self, text: str) -> None:
        self._utterance = _Utterance(text, time.monotonic())
        self._send("say", text=text)
        self.spoken.emit(text)

    def _sender(self) -> QProcess | None:
        process = self.sender()
        return process if isinstance(process, QProcess) else None

    @Slot()
    def _on_output(self) -> None:
        process = self._sender()
        if process is None:
            return
        data = bytes(process.readAllStandardOutput().data())
        if process is not self._process:
            return
        self._output += data
        *lines, self._output = self._output.split(b"\n")
        for line in lines:
            try:
                message = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                log.debug("speech helper: %r", line[:200])
                continue
            if isinstance(message, dict):
                self._on_message(message)
            if process is not self._process:  # the message ended this helper
                return

    def _on_message(self, message: dict[str, object]) -> None:
        event = message.get("event")
        if "ack" in message:
            ack = message["ack"]
            if isinstance(ack, int):
                self._unacked.pop(ack, None)
            if self._host == "checking" and not self._unacked:
                self._on_confirmed()
        elif event == "hello":
            self._host = "hello"
            self._hello_at = time.monotonic()
            engines = message.get("engines")
            self._engines = [str(e) for e in engines] if isinstance(engines, list) else []
        elif event == "failed":
            self._fail(str(message.get("reason") or "the speech engine could not start"))
        elif event == "ready":
            self._on_ready(str(message.get("engine", "")), message.get("voices"))
        elif event == "state":
            self._on_state(str(message.get("state", "")), str(message.get("reason") or ""))

    def _on_ready(self, engine: str, voices: object) -> None:
        """The engine exists; it counts as working once it has carried out its first commands."""
        self._host = "checking"
        self._engine_name = engine
        self._voices = [str(v) for v in voices] if isinstance(voices, list) else []
        self._send("rate", value=self._rate)
        self._send("volume", value=self._volume)
        if self._voice:
            self._send("voice", name=self._voice)

    def _on_confirmed(self) -> None:
        self._host = "ready"
        self._failures = 0
        log.info("speech is ready (engine %s, %d voices)", self._engine_name, len(self._voices))
        self._set_status(SpeechStatus("ready", engine=self._engine_name))
        if self._pending:
            text, self._pending = self._pending, None
            self._speak(text)

    def _on_state(self, state: str, reason: str) -> None:
        if state == "error":
            self._fail(reason or "the speech engine reported an error")
        elif state == "speaking" and self._utterance is not None:
            self._utterance.began = True
        elif state == "ready":
            if self._utterance is not None and not self._utterance.began:
                return  # the end of what an interruption cut short, not of the text just sent
            self._utterance = None
            if self._pending:
                text, self._pending = self._pending, None
                self._speak(text)

    @Slot()
    def _on_stderr(self) -> None:
        process = self._sender()
        if process is None:
            return
        text = bytes(process.readAllStandardError().data()).decode("utf-8", "replace").strip()
        if text:
            log.debug("speech helper: %s", text)

    @Slot(QProcess.ProcessError)
    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        process = self._sender()
        if process is not None and process is self._process and error == QProcess.ProcessError.FailedToStart:
            self._fail(f"the speech helper could not be started ({process.errorString()})")

    @Slot(int, QProcess.ExitStatus)
    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        process = self._sender()
        if process is None:
            return
        if process is self._process:
            crashed = status == QProcess.ExitStatus.CrashExit or code != 0
            self._fail("the speech engine crashed" if crashed else "the speech engine stopped")
        process.deleteLater()

    # --- stalls and failures -----------------------------------------------------------------
    @Slot()
    def _on_watchdog(self) -> None:
        reason = self._stall(time.monotonic())
        if reason:
            self._fail(reason)

    def _stall(self, now: float) -> str:
        """Why the helper counts as stalled now, or ''."""
        limits = self._limits
        if self._host == "launched" and now - self._launched_at > limits.start_s:
            return f"the speech helper did not start within {limits.start_s:.0f} s"
        if self._host == "hello" and now - self._hello_at > limits.engine_s:
            return f"the speech engine did not answer within {limits.engine_s:.0f} s"
        for do, sent in self._unacked.values():
            if now - sent > limits.command_s:
                return f"the speech engine stopped answering ('{do}' took over {limits.command_s:.0f} s)"
        u = self._utterance
        if u is not None and not u.began and now - u.sent_at > limits.begin_s:
            return f"the speech engine took the text but did not start speaking within {limits.begin_s:.0f} s"
        if u is not None and now > u.deadline(limits):
            return "the speech engine did not finish speaking"
        return ""

    def _fail(self, reason: str) -> None:
        """End the helper, say why (once per outage), hand back unsaid text, try again later."""
        log.info("speech is unavailable: %s", reason)  # the status says it to the person
        lost = [t for t in (self._utterance.text if self._utterance else None, self._pending) if t]
        self._pending = None
        self._end_process()
        self._watchdog.stop()
        if self._status.state != "unavailable":
            self._set_status(SpeechStatus("unavailable", reason=reason))
        for text in lost:
            self.undelivered.emit(text)
        delays = self._limits.retry_s
        delay = delays[min(self._failures, len(delays) - 1)]
        self._failures += 1
        self._retry.start(int(delay * 1000))

    def _try_again_now(self) -> None:
        if self._status.state == "unavailable":
            self._retry.stop()
            self._failures = 0
            self._launch()

    def _set_status(self, status: SpeechStatus) -> None:
        if status != self._status:
            self._status = status
            self.status_changed.emit(status)
