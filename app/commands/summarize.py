"""`smolsight summarize`: scene-by-scene descriptions, a summary and exports, with progress."""

from __future__ import annotations

import signal
import sys

from app.capture.media import MediaError, probe_video
from app.commands.options import SummarizeOptions
from app.config import Settings
from app.exit_codes import ExitCode
from app.files import check_writable_folder
from app.inference.backend import BackendError, VisionBackend
from app.inference.engine import Engine
from app.inference.factory import backend_factory
from app.inference.types import CancelToken
from app.terminal import LoadReporter, ProgressLine, fail, fail_backend
from app.timecode import format_clock
from app.video.export import FORMATS, export
from app.video.summarize import NOT_DESCRIBED, Progress, VideoSummary, summarize


def run_summarize(options: SummarizeOptions, settings: Settings) -> int:
    """Summarize the video with a progress bar; Ctrl-C keeps the finished scenes."""
    formats = [f.strip().lower() for f in options.export.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        return fail(f"--export takes vtt, srt, md and/or json, not '{options.export}'", ExitCode.INPUT)
    try:
        probe_video(options.path)
    except MediaError as exc:
        return fail(str(exc), ExitCode.INPUT)
    out_dir = options.out or options.path.parent
    problem = check_writable_folder(out_dir)  # before any work, not after describing the video
    if problem:
        return fail(f"can't save the results: {problem}", ExitCode.INPUT)

    engine = Engine(backend_factory(settings.engine), warm_up=False, listener=LoadReporter())
    bar = ProgressLine(sys.stderr)

    def task(backend: VisionBackend, cancel: CancelToken) -> VideoSummary:
        def report(p: Progress) -> None:
            bar.update(p.fraction, p.message, p.eta_s)

        return summarize(options.path, backend, settings.summary, progress=report, cancel=cancel)

    previous = signal.getsignal(signal.SIGINT)
    try:
        print(f"Loading the model for {options.path.name} …", file=sys.stderr)
        engine.wait_ready()
        job = engine.run_task(task)

        def on_sigint(*_: object) -> None:
            if job.cancelled:
                raise KeyboardInterrupt
            job.cancel()
            print("\nStopping after the current scene (Ctrl-C again to quit at once)…", file=sys.stderr)

        signal.signal(signal.SIGINT, on_sigint)
        while not job.wait(0.2):  # short waits let Python run the Ctrl-C handler
            pass
        result = job.result()
    except BackendError as exc:
        return fail_backend(exc)
    except MediaError as exc:
        return fail(str(exc), ExitCode.INPUT)
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
        engine.shutdown()
    for note in result.notes:
        print(f"smolsight: {note}", file=sys.stderr)
    failed = result.failed
    if result.described_nothing:  # a track of error messages would be worse than none
        return fail(
            f"no scene of {options.path.name} could be described, so nothing was written: {failed[0].error}",
            ExitCode.MODEL,
        )
    try:
        paths = export(result, out_dir, formats)
    except OSError as exc:
        return fail(f"could not write the results to {out_dir}: {exc.strerror or exc}", ExitCode.INPUT)
    if result.summary:
        print(result.summary)
    for seg in result.segments:
        text = seg.description or NOT_DESCRIBED
        print(f"[{format_clock(seg.start)}-{format_clock(seg.end)}] {text}")
    note = " (PARTIAL: stopped early)" if result.partial else ""
    print(f"{len(result.segments)} scenes in {result.seconds:.0f} s{note}; wrote:", file=sys.stderr)
    for p in paths:
        print(f"  {p}", file=sys.stderr)
    if failed:
        reasons = sorted({seg.error or "" for seg in failed})
        print(
            f"{len(failed)} of {len(result.segments)} scenes could not be described (marked as gaps; "
            f"the reasons are in the JSON): {'; '.join(reasons)}",
            file=sys.stderr,
        )
    return ExitCode.INTERRUPTED if result.partial else ExitCode.OK
