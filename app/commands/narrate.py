"""`smolsight narrate`: live narration in a terminal, one timestamped line per description."""

from __future__ import annotations

import argparse
import queue
import signal
import sys
from typing import TextIO

from PySide6.QtCore import QCoreApplication, QTimer

from app.capture.media import MediaError, probe_video
from app.capture.screen import ScreenSource
from app.capture.source_spec import parse_source
from app.capture.sources import CameraSource, CaptureEvent, FrameSource, VideoFileSource
from app.commands.flags import (
    CommandParser,
    add_engine_flags,
    add_setting,
    option_default,
    options_from,
    setting_default,
    settings_from_args,
)
from app.commands.options import NarrateOptions
from app.config import Settings
from app.exit_codes import ExitCode
from app.inference.model_thread import BackendFactory, ModelState, ModelThread
from app.inference.types import BackendInfo
from app.live.session import LiveSession, NarrationEvent
from app.narration.policy import MODES, Mode
from app.prompts import VERBOSITIES
from app.speech.speaker import SpeechOutput, SpeechStatus
from app.terminal import fail, failure_text
from app.timecode import format_clock

OPTIONS = NarrateOptions  # what the flags that are not settings fill


class TerminalNarration:
    """Prints narration events and decides when the run is over."""

    def __init__(
        self,
        session: LiveSession,
        source: FrameSource,
        *,
        mode: Mode,
        question: str,
        out: TextIO,
        err: TextIO,
        speaker: SpeechOutput | None = None,
    ) -> None:
        self.session = session
        self.source = source
        self.mode = mode
        self.question = question
        self.out = out
        self.err = err
        self.speaker = speaker
        self.exit_code = ExitCode.OK
        self.seconds: list[float] = []  # time per finished description
        self.one_shot_sent = False
        self.started = False
        self._speech_failed = False
        session.narration.connect(self._on_narration)
        session.capture_event.connect(self._on_capture_event)
        session.model_changed.connect(self._on_model_changed)
        session.error.connect(self._on_error)
        if speaker is not None:
            speaker.status_changed.connect(self._on_speech_status)

    def _on_model_changed(self, state: ModelState) -> None:
        if state.ready and state.info is not None:
            self._on_ready(state.info)
        elif state.failure is not None:
            self._on_model_failed(state)

    def _on_ready(self, info: BackendInfo) -> None:
        print(f"Model ready: {info.model} ({info.backend}, {info.device}, {info.dtype}).", file=self.err)
        if info.note:
            print(f"smolsight: {info.note}", file=self.err)
        self.session.continuous = self.mode == "continuous"
        if not self.started:
            # Start a file only now, so it is not half over before the model can see it.
            self.session.set_source(self.source)
            self.started = True
        if self.mode != "continuous":
            QTimer.singleShot(1500 if self.mode == "describe" else 0, self._one_shot)

    def _one_shot(self) -> None:
        if self.one_shot_sent:
            return
        if self.mode == "describe":
            job = self.session.describe_now()
        elif self.mode == "ask":
            job = self.session.ask(self.question)
        else:
            job = None  # what_happened waits for the buffer: sent at the end
        if job is None and self.mode != "what_happened":
            QTimer.singleShot(200, self._one_shot)  # no frame yet
            return
        self.one_shot_sent = self.mode != "what_happened"

    def _on_narration(self, event: NarrationEvent) -> None:
        self.seconds.append(event.description.total_s)
        text = event.description.text or "(no answer)"
        stamp = f"[{format_clock(event.source_time)}]"
        if event.verdict.reason == "stopped":
            print(f"{stamp} (stopped) {event.description.text}".rstrip(), file=self.out, flush=True)
        elif event.verdict.reason in ("empty", "unchanged") and event.ask.read:
            return  # reading as text comes into view: none yet, or read already
        elif event.verdict.reason == "unchanged":
            print(f"{stamp} (unchanged) {text}", file=self.out, flush=True)
        elif event.verdict.reason == "stale" and not event.verdict.announce:
            print(f"{stamp} (outdated: the scene has changed) {text}", file=self.out, flush=True)
        else:
            print(f"{stamp} {event.spoken or text}", file=self.out, flush=True)
            if self.speaker is not None and event.verdict.announce:
                self.speaker.say(event.spoken)
        if self.mode != "continuous":
            QCoreApplication.quit()

    def _on_capture_event(self, event: CaptureEvent) -> None:
        if event.is_error:
            print(f"smolsight: {event.message}", file=self.err, flush=True)
            self.exit_code = ExitCode.INPUT
            QCoreApplication.quit()
        elif event.kind == "end_of_file":
            print(event.message, file=self.err, flush=True)
            if self.mode == "what_happened":
                self.finish_what_happened()
            elif self.mode == "continuous":
                # let a running description finish, then stop
                QTimer.singleShot(0, self.quit_when_idle)

    def finish_what_happened(self) -> None:
        """Ask about the buffered clip (end of file or duration reached)."""
        if not self.one_shot_sent:
            self.one_shot_sent = True
            if self.session.what_just_happened() is None:
                QCoreApplication.quit()

    def quit_when_idle(self) -> None:
        """Quit once the running description has arrived."""
        if self.session.busy or self.session.pending_jobs:
            QTimer.singleShot(100, self.quit_when_idle)
        else:
            QCoreApplication.quit()

    def _on_model_failed(self, state: ModelState) -> None:
        text = failure_text(state.not_ready_reason(), missing=state.status == "missing")
        print(f"smolsight: {text}", file=self.err, flush=True)
        self.exit_code = ExitCode.MODEL
        QCoreApplication.quit()

    def _on_speech_status(self, status: SpeechStatus) -> None:
        """One line when speech stops working, one when it works again; the narration goes on."""
        if status.state == "unavailable":
            print(
                f"smolsight: speech is unavailable ({status.reason}); printing the descriptions only.",
                file=self.err,
                flush=True,
            )
        elif status.state == "ready" and self._speech_failed:
            print("smolsight: speech works again.", file=self.err, flush=True)
        self._speech_failed = status.state == "unavailable"

    def _on_error(self, message: str) -> None:
        print(f"smolsight: {message}", file=self.err, flush=True)


def add_arguments(parser: CommandParser) -> None:
    """The source, the mode, how often and how much to say."""
    parser.add_argument(
        "--source",
        help="webcam, webcam:INDEX, screen, screen:N (monitor N), window (the active window), sample, "
        f"or a video/image file (default: {option_default(NarrateOptions, 'source')})",
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        help="continuous narration (default), one description, the last seconds as a clip, or a question",
    )
    parser.add_argument("--question", help="the question for --mode ask")
    add_setting(
        parser,
        "--verbosity",
        setting="narration.verbosity",
        choices=VERBOSITIES,
        help=f"(default: {setting_default('narration.verbosity')})",
    )
    parser.add_argument("--duration", dest="duration_s", type=float, metavar="S", help="stop after S seconds")
    add_setting(
        parser,
        "--interval",
        setting="narration.interval_s",
        type=float,
        metavar="K",
        help=f"at most one description every K s (default {setting_default('narration.interval_s'):g})",
    )
    add_setting(
        parser,
        "--threshold",
        setting="narration.change_threshold",
        type=float,
        metavar="SCORE",
        help="scene-change score (0-100) that triggers a description "
        f"(default {setting_default('narration.change_threshold'):g})",
    )
    add_setting(
        parser,
        "--fps",
        setting="narration.buffer_fps",
        type=float,
        metavar="FPS",
        help=f"frames sampled per second, 0.2 to 4 (default {setting_default('narration.buffer_fps'):g})",
    )
    parser.add_argument("--fast", action="store_true", help="read video files as fast as possible")
    parser.add_argument("--loop", action="store_true", help="loop video files")
    parser.add_argument("--speak", action="store_true", help="also speak new descriptions aloud")
    parser.add_argument(
        "--read",
        action="store_true",
        help="read text as it comes into view, as written, each text once (the text reader: no model)",
    )
    parser.add_argument("--list-cameras", action="store_true", help="list the cameras that open, then exit")
    add_engine_flags(parser)


def run(args: argparse.Namespace) -> int:
    """Narrate a source in the terminal (or list the cameras)."""
    options = options_from(OPTIONS, args)
    if options.list_cameras:
        from app.capture.sources import list_cameras

        found = list_cameras()
        if not found:
            print("No camera could be opened. Use --source with a video or image file, or --source sample.")
            return ExitCode.INPUT
        for index in found:
            print(f"webcam:{index}")
        return ExitCode.OK
    if options.duration_s is not None and options.duration_s <= 0:
        return fail("--duration must be more than 0 seconds", ExitCode.INPUT)
    from app.inference.factory import backend_factory

    settings = settings_from_args(args)
    if options.read:
        from app.inference.seeing import ReaderOnlyBackend

        return run_narrate(options, settings, ReaderOnlyBackend)
    return run_narrate(options, settings, backend_factory(settings.engine))


def run_narrate(options: NarrateOptions, settings: Settings, backend_factory: BackendFactory) -> int:
    """Run narration until the duration passes, the file ends, or Ctrl-C; return the exit code."""
    if options.mode == "ask" and not options.question.strip():
        return fail("--mode ask needs --question", ExitCode.INPUT)
    source = _opened_source(options)
    if isinstance(source, int):
        return source
    app = QCoreApplication.instance() or QCoreApplication([])
    session = LiveSession(ModelThread(backend_factory), settings)
    if options.read:
        session.look_for("text")
    speaker = None
    if options.speak:
        from app.speech.speaker import Speaker

        # In its own process, with every call bounded: a speech engine that hangs can't hang us.
        speaker = Speaker(settings.speech)
        speaker.start()
    term = TerminalNarration(
        session,
        source,
        mode=options.mode,
        question=options.question,
        out=sys.stdout,
        err=sys.stderr,
        speaker=speaker,
    )
    print(f"Loading the model and opening {source.name} … (Ctrl-C stops)", file=sys.stderr)
    session.start()
    if _is_device(source):
        session.set_source(source)  # a device shows problems at once and narration starts when ready
        term.started = True
    if options.duration_s:
        _end_after(options.duration_s, options.mode, session, term)
    interrupted, stopped = _run_until_done(app, session, speaker)
    _print_summary(term.seconds)
    if interrupted:
        print("Stopped.", file=sys.stderr)
        return ExitCode.INTERRUPTED
    if not stopped:
        return fail("the model thread did not stop in time", ExitCode.INPUT)
    return term.exit_code


def _is_device(source: FrameSource) -> bool:
    """A camera or the screen: narrated from the model's start (a file starts when the model is ready)."""
    return isinstance(source, (CameraSource, ScreenSource))


def _opened_source(options: NarrateOptions) -> FrameSource | int:
    """The source, checked before the model loads: a bad file, camera or screen is said at once."""
    try:
        source = parse_source(options.source, realtime=not options.fast, loop=options.loop)
        if isinstance(source, VideoFileSource):
            probe_video(source.path)
    except MediaError as exc:
        return fail(str(exc), ExitCode.INPUT)
    if _is_device(source):
        source.start()
        try:
            first = source.events.get(timeout=15)
        except queue.Empty:
            first = None
        if first is None or first.is_error:
            source.stop()
            return fail(
                first.message if first else f"{source.name} did not respond within 15 s.", ExitCode.INPUT
            )
    return source


def _end_after(seconds: float, mode: Mode, session: LiveSession, term: TerminalNarration) -> None:
    """End the run `seconds` after the model is ready and the source starts (`--duration`)."""
    duration_ms = int(seconds * 1000)
    armed = False

    def arm(state: ModelState) -> None:
        nonlocal armed
        if not state.ready or armed:
            return
        armed = True
        end = term.finish_what_happened if mode == "what_happened" else term.quit_when_idle
        QTimer.singleShot(duration_ms, end)

    session.model_changed.connect(arm)


def _run_until_done(
    app: QCoreApplication, session: LiveSession, speaker: SpeechOutput | None
) -> tuple[bool, bool]:
    """Run the event loop until the narration ends or Ctrl-C; (interrupted, everything stopped in time)."""
    interrupted = False

    def on_sigint(*_: object) -> None:
        nonlocal interrupted
        interrupted = True
        QCoreApplication.quit()

    previous = signal.signal(signal.SIGINT, on_sigint)
    # Python runs signal handlers only between bytecodes: a timer gives it the chance.
    keepalive = QTimer()
    keepalive.timeout.connect(lambda: None)
    keepalive.start(100)
    try:
        app.exec()
    finally:
        signal.signal(signal.SIGINT, previous)
        keepalive.stop()
        stopped = session.shutdown(timeout=10.0)
        if speaker is not None:
            speaker.shutdown()
    return interrupted, stopped


def _print_summary(seconds: list[float]) -> None:
    """One closing line: how many descriptions, how long each took, the peak memory used."""
    import statistics

    from app.inference.generation import process_peak_rss_bytes

    peak = process_peak_rss_bytes()
    memory = f"; peak memory {peak / 1e9:.2f} GB" if peak else ""
    timing = f", {statistics.median(seconds):.2f} s each (median)" if seconds else ""
    print(f"{len(seconds)} description{'s' if len(seconds) != 1 else ''}{timing}{memory}.", file=sys.stderr)
