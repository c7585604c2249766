"""`smolsight summarize`: scene-by-scene descriptions, a summary and exports, with progress."""

from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from app.capture.media import MediaError, probe_video
from app.commands.flags import (
    CommandParser,
    add_engine_flags,
    add_setting,
    option_default,
    options_from,
    setting_default,
    settings_from_args,
)
from app.commands.options import SummarizeOptions
from app.commands.running import loaded_model
from app.config import Settings
from app.exit_codes import ExitCode
from app.files import check_writable_folder
from app.inference.backend import BackendError, VisionBackend
from app.inference.types import CancelToken
from app.prompts import DETAILS
from app.terminal import ProgressLine, fail, fail_backend
from app.timecode import format_clock
from app.video.audio_description import KINDS as AD_KINDS
from app.video.audio_description import AudioDescriptionError, DescribeCancelled, write_audio_description
from app.video.export import FORMATS, export
from app.video.summarize import NOT_DESCRIBED, Progress, VideoSummary, summarize
from app.video.voice import MAX_WPM, MIN_WPM, NO_VOICE, Voice, find_voice

OPTIONS = SummarizeOptions  # what the flags that are not settings fill


def add_arguments(parser: CommandParser) -> None:
    """The video, how much to say per scene, which files to write where."""
    parser.add_argument("path", type=Path, help="a video file")
    add_setting(
        parser,
        "--detail",
        setting="summary.detail",
        choices=DETAILS,
        help="one line, one sentence per scene, or a paragraph per scene "
        f"(default: {setting_default('summary.detail')})",
    )
    parser.add_argument(
        "--export",
        help="formats to write: any of vtt,srt,md,json, and for audio description "
        "'descriptions' (a WebVTT descriptions track timed to the dialogue's pauses) and "
        "'described-video' (an MP4 with an 'Audio description' sound track) "
        f"(default: {option_default(SummarizeOptions, 'export')})",
    )
    parser.add_argument("--out", type=Path, help="folder for the files (default: next to the video)")
    parser.add_argument(
        "--extended",
        action="store_true",
        default=None,
        help="audio description: say every description whole, pausing the video where a pause in "
        "the dialogue is too short (the described video is longer)",
    )
    parser.add_argument(
        "--voice-rate",
        type=int,
        metavar="WPM",
        help="audio description: words a minute the descriptions are said at "
        f"({MIN_WPM}-{MAX_WPM}, default {option_default(SummarizeOptions, 'voice_rate')})",
    )
    add_setting(
        parser,
        "--fps",
        setting="summary.fps",
        type=float,
        metavar="FPS",
        help=f"frames looked at per second (default {setting_default('summary.fps'):g})",
    )
    add_setting(
        parser,
        "--max-segment",
        setting="summary.max_segment_s",
        type=float,
        metavar="S",
        help=f"longest scene in seconds (default {setting_default('summary.max_segment_s'):g})",
    )
    add_setting(
        parser,
        "--frames-per-segment",
        setting="summary.frames_per_segment",
        type=int,
        metavar="N",
        help=f"frames the model sees per scene (default {setting_default('summary.frames_per_segment')})",
    )
    add_engine_flags(parser)


def run(args: argparse.Namespace) -> int:
    """Summarize a video with a progress bar; Ctrl-C keeps the finished scenes."""
    return run_summarize(options_from(OPTIONS, args), settings_from_args(args))


@dataclass(frozen=True)
class _Asked:
    """What `summarize` was asked to write, checked before any work."""

    formats: list[str]
    described: tuple[str, ...]  # audio description outputs
    voice: Voice | None
    out_dir: Path


def run_summarize(options: SummarizeOptions, settings: Settings) -> int:
    """Summarize the video with a progress bar; Ctrl-C keeps the finished scenes."""
    asked = _checked(options)
    if isinstance(asked, int):
        return asked
    result = _summary(options, settings)
    if isinstance(result, int):
        return result
    for note in result.notes:
        print(f"smolsight: {note}", file=sys.stderr)
    if result.described_nothing:  # a track of error messages would be worse than none
        return fail(
            f"no scene of {options.path.name} could be described, so nothing was written: "
            f"{result.failed[0].error}",
            ExitCode.MODEL,
        )
    paths = _written(result, asked, options)
    if isinstance(paths, int):
        return paths
    _report(result, paths)
    if result.partial:
        return ExitCode.INTERRUPTED
    return ExitCode.GAPS if result.gaps else ExitCode.OK


def _checked(options: SummarizeOptions) -> _Asked | int:
    """The exports asked for, the voice, the folder: checked before the model's long work; or an exit code."""
    asked = [f.strip().lower() for f in options.export.split(",") if f.strip()]
    formats = [f for f in asked if f in FORMATS]
    described = tuple(f for f in asked if f in AD_KINDS)
    if len(formats) + len(described) != len(asked) or not asked:
        names = ", ".join((*FORMATS, *AD_KINDS))
        return fail(f"--export takes any of {names}, not '{options.export}'", ExitCode.INPUT)
    if not MIN_WPM <= options.voice_rate <= MAX_WPM:
        return fail(f"--voice-rate takes {MIN_WPM} to {MAX_WPM} words a minute", ExitCode.USAGE)
    voice = find_voice(options.voice_rate) if described else None
    if described == ("described-video",) and voice is None:
        return fail(f"can't make a described video: {NO_VOICE}", ExitCode.INPUT)
    try:
        probe_video(options.path)
    except MediaError as exc:
        return fail(str(exc), ExitCode.INPUT)
    out_dir = options.out or options.path.parent
    problem = check_writable_folder(out_dir)
    if problem:
        return fail(f"can't save the results: {problem}", ExitCode.INPUT)
    return _Asked(formats, described, voice, out_dir)


def _summary(options: SummarizeOptions, settings: Settings) -> VideoSummary | int:
    """Describe the video on the model thread, with a progress bar (Ctrl-C stops after the scene)."""
    bar = ProgressLine(sys.stderr)

    def task(backend: VisionBackend, cancel: CancelToken) -> VideoSummary:
        def report(p: Progress) -> None:
            bar.update(p.fraction, p.message, p.eta_s)

        return summarize(
            options.path,
            backend,
            settings.summary,
            progress=report,
            cancel=cancel,
            read_text=settings.describe.read_text,
        )

    previous = signal.getsignal(signal.SIGINT)
    print(f"Loading the model for {options.path.name} …", file=sys.stderr)
    try:
        with loaded_model(settings) as (model_thread, _info):
            job = model_thread.run_task(task)

            def on_sigint(*_: object) -> None:
                if job.cancelled:
                    raise KeyboardInterrupt
                job.cancel()
                print("\nStopping after the current scene (Ctrl-C again to quit at once)…", file=sys.stderr)

            signal.signal(signal.SIGINT, on_sigint)
            while not job.wait(0.2):  # short waits let Python run the Ctrl-C handler
                pass
            return job.result()
    except BackendError as exc:
        return fail_backend(exc)
    except MediaError as exc:
        return fail(str(exc), ExitCode.INPUT)
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()


def _written(result: VideoSummary, asked: _Asked, options: SummarizeOptions) -> list[Path] | int:
    """Write the exports and the audio description; the files written, or an exit code."""
    try:
        paths = export(result, asked.out_dir, asked.formats) if asked.formats else []
    except OSError as exc:
        return fail(f"could not write the results to {asked.out_dir}: {exc.strerror or exc}", ExitCode.INPUT)
    if asked.described:
        made = _audio_description(result, asked.out_dir, asked.described, asked.voice, options)
        if isinstance(made, int):
            return made
        paths += made
    return paths


def _report(result: VideoSummary, paths: list[Path]) -> None:
    """The summary and the scenes on stdout; what was written and what failed on stderr."""
    if result.summary:
        print(result.summary)
    for seg in result.segments:
        text = seg.description or NOT_DESCRIBED
        print(f"[{format_clock(seg.start)}-{format_clock(seg.end)}] {text}")
    note = " (PARTIAL: stopped early)" if result.partial else ""
    print(f"{len(result.segments)} scenes in {result.seconds:.0f} s{note}; wrote:", file=sys.stderr)
    for p in paths:
        print(f"  {p}", file=sys.stderr)
    for gap in result.gaps:  # marked in the exports too; the reasons are in the JSON
        print(f"smolsight: {gap}", file=sys.stderr)


def _audio_description(
    result: VideoSummary,
    out_dir: Path,
    kinds: tuple[str, ...],
    voice: Voice | None,
    options: SummarizeOptions,
) -> list[Path] | int:
    """Write the audio description outputs with a progress bar; an exit code when it fails."""
    bar = ProgressLine(sys.stderr)
    cancel = CancelToken()
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        made = write_audio_description(
            result,
            out_dir,
            kinds,
            extended=options.extended,
            wpm=options.voice_rate,
            voice=voice,
            progress=lambda f, m: bar.update(f, m),
            cancel=cancel,
        )
    except DescribeCancelled:
        return fail("audio description stopped; the files written before it are kept", ExitCode.INTERRUPTED)
    except AudioDescriptionError as exc:
        return fail(f"no audio description: {exc}", ExitCode.INPUT)
    except OSError as exc:
        return fail(
            f"could not write the audio description to {out_dir}: {exc.strerror or exc}", ExitCode.INPUT
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    for note in made.notes:
        print(f"smolsight: {note}", file=sys.stderr)
    print(f"Audio description ({made.plan.voice or 'no voice'}): {made.plan.report()}", file=sys.stderr)
    return made.paths
