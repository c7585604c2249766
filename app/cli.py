"""The `smolsight` command: the desktop app by default, and headless tools as subcommands."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TypeVar, get_args

from app import __version__
from app.commands.options import (
    BenchOptions,
    DescribeOptions,
    EvalOptions,
    NarrateOptions,
    ServeOptions,
    SummarizeOptions,
    default_of,
)
from app.config import (
    BackendName,
    DescribeSettings,
    Device,
    DType,
    NarrationSettings,
    Settings,
    SummarySettings,
    default_config_path,
    load_settings,
)
from app.devtools.model_builder import GEOMETRIES
from app.exit_codes import ExitCode
from app.narration.policy import MODES
from app.prompts import DETAILS, VERBOSITIES
from app.terminal import fail, fail_backend

BACKEND_CHOICES: tuple[str, ...] = get_args(BackendName)
LOCAL_BACKENDS = tuple(b for b in BACKEND_CHOICES if b != "openai")
Options = TypeVar("Options")

# The flags that change a setting for one run: the flag's destination → (its name, the setting).
# A flag not given is None and leaves the setting as the file (or its default) says.
SETTING_FLAGS: dict[str, tuple[str, tuple[str, str]]] = {
    "backend": ("--backend", ("engine", "backend")),
    "model": ("--model", ("engine", "model")),
    "device": ("--device", ("engine", "device")),
    "dtype": ("--dtype", ("engine", "dtype")),
    "allow_download": ("--offline", ("engine", "allow_download")),
    "base_url": ("--base-url", ("engine", "base_url")),
    "api_key": ("--api-key", ("engine", "api_key")),
    "remote_model": ("--remote-model", ("engine", "remote_model")),
    "max_tokens": ("--max-tokens", ("describe", "max_tokens")),
    "temperature": ("--temperature", ("describe", "temperature")),
    "split_images": ("--split-images", ("describe", "split_images")),
    "video_fps": ("--fps", ("describe", "video_fps")),
    "video_frames": ("--max-frames", ("describe", "video_frames")),
    "verbosity": ("--verbosity", ("narration", "verbosity")),
    "interval_s": ("--interval", ("narration", "interval_s")),
    "threshold": ("--threshold", ("narration", "change_threshold")),
    "buffer_fps": ("--fps", ("narration", "buffer_fps")),
    "detail": ("--detail", ("summary", "detail")),
    "summary_fps": ("--fps", ("summary", "fps")),
    "max_segment_s": ("--max-segment", ("summary", "max_segment_s")),
    "frames_per_segment": ("--frames-per-segment", ("summary", "frames_per_segment")),
    "allow_private_urls": ("--allow-private-urls", ("input", "allow_private_urls")),
}


def _setting(group: type[object], key: str) -> object:
    """A setting's default, for help texts."""
    return group.model_fields[key].default  # type: ignore[attr-defined]


SETTINGS_NOTE = (
    "A flag that matches a setting changes it for this run only (the file is not written); "
    "without it the settings file decides (smolsight config shows it), and the defaults shown "
    "apply when the file says nothing."
)


def _add_engine_flags(p: argparse.ArgumentParser, *, remote: bool = True) -> None:
    p.epilog = SETTINGS_NOTE
    g = p.add_argument_group("model")
    choices = BACKEND_CHOICES if remote else LOCAL_BACKENDS
    g.add_argument("--backend", choices=choices, help="inference engine (default: auto)")
    g.add_argument("--model", metavar="ID_OR_DIR", help="hub id or local model folder")
    g.add_argument("--device", choices=get_args(Device), help="device for transformers (auto: a GPU if any)")
    g.add_argument(
        "--dtype",
        choices=get_args(DType),
        help="precision; openvino: auto/int8 = 8-bit weights, float32 = full precision",
    )
    g.add_argument(
        "--offline",
        dest="allow_download",
        action="store_const",
        const=False,
        help="never download; use the cache or a folder",
    )
    g.add_argument("--config", type=Path, metavar="FILE", help="settings file (default: the per-user one)")
    if remote:
        r = p.add_argument_group("remote server (--backend openai)")
        r.add_argument(
            "--base-url", metavar="URL", help="an OpenAI-compatible server, e.g. http://host:8080/v1"
        )
        r.add_argument("--api-key", help="its API key")
        r.add_argument("--remote-model", metavar="NAME", help="the model name on that server")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem and where to look, not the whole usage block."""

    def error(self, message: str) -> NoReturn:
        """Print `smolsight: <problem>` and a hint on stderr; exit 2."""
        self.exit(ExitCode.USAGE, f"smolsight: {message}\nSee '{self.prog} --help' for the options.\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = _Parser(
        prog="smolsight",
        description="SmolSight: local, private scene descriptions for blind and low-vision people, "
        "using SmolVLM2. With no command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"smolsight {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the desktop app (the default)")
    _add_engine_flags(gui)
    gui.add_argument(
        "--source",
        help="start with this source: webcam[:INDEX], screen[:N], window, a video or an image file",
    )
    gui.add_argument(
        "file", nargs="?", type=Path, metavar="FILE", help="a video or image to open (as --source)"
    )

    describe = sub.add_parser(
        "describe", help="describe an image, a short video as a clip, the screen, a window or the clipboard"
    )
    what = describe.add_mutually_exclusive_group(required=True)
    what.add_argument("path", type=Path, nargs="?", help="an image or video file")
    what.add_argument(
        "--source",
        choices=None,
        metavar="SCREEN",
        help="screen (all of monitor 1), screen:N (monitor N), or window (the active window), taken now",
    )
    what.add_argument("--clipboard", action="store_true", help="the picture on the clipboard")
    describe.add_argument("--prompt", default=None, help="what to ask (default: describe the scene briefly)")
    d = DescribeSettings
    describe.add_argument(
        "--max-tokens",
        type=int,
        metavar="N",
        help=f"longest answer in tokens (default {_setting(d, 'max_tokens')})",
    )
    describe.add_argument(
        "--temperature", type=float, help=f"0 = deterministic (default {_setting(d, 'temperature')})"
    )
    describe.add_argument("--stream", action="store_true", help="print the answer as it is generated")
    describe.add_argument(
        "--split-images", action="store_const", const=True, help="tile the image for fine detail (slow)"
    )
    describe.add_argument(
        "--fps",
        dest="video_fps",
        type=float,
        help=f"video sampling rate (default {_setting(d, 'video_fps'):g})",
    )
    describe.add_argument(
        "--max-frames",
        dest="video_frames",
        type=int,
        metavar="N",
        help=f"most video frames to use (default {_setting(d, 'video_frames')}, at most 64)",
    )
    describe.add_argument("--stats", action="store_true", help="print timing figures on stderr")
    _add_engine_flags(describe)

    narrate = sub.add_parser("narrate", help="narrate a camera or video in the terminal, line by line")
    n = NarrationSettings
    narrate.add_argument(
        "--source",
        help="webcam, webcam:INDEX, screen, screen:N (monitor N), window (the active window), sample, "
        f"or a video/image file (default: {default_of(NarrateOptions, 'source')})",
    )
    narrate.add_argument(
        "--mode",
        choices=MODES,
        help="continuous narration (default), one description, the last seconds as a clip, or a question",
    )
    narrate.add_argument("--question", help="the question for --mode ask")
    narrate.add_argument("--verbosity", choices=VERBOSITIES, help=f"(default: {_setting(n, 'verbosity')})")
    narrate.add_argument(
        "--duration", dest="duration_s", type=float, metavar="S", help="stop after S seconds"
    )
    narrate.add_argument(
        "--interval",
        dest="interval_s",
        type=float,
        metavar="K",
        help=f"at most one description every K s (default {_setting(n, 'interval_s'):g})",
    )
    narrate.add_argument(
        "--threshold",
        type=float,
        metavar="SCORE",
        help="scene-change score (0-100) that triggers a description "
        f"(default {_setting(n, 'change_threshold'):g})",
    )
    narrate.add_argument(
        "--fps",
        dest="buffer_fps",
        type=float,
        metavar="FPS",
        help=f"frames sampled per second, 0.2 to 4 (default {_setting(n, 'buffer_fps'):g})",
    )
    narrate.add_argument("--fast", action="store_true", help="read video files as fast as possible")
    narrate.add_argument("--loop", action="store_true", help="loop video files")
    narrate.add_argument("--speak", action="store_true", help="also speak new descriptions aloud")
    narrate.add_argument("--list-cameras", action="store_true", help="list the cameras that open, then exit")
    _add_engine_flags(narrate)

    summ = sub.add_parser("summarize", help="describe a video scene by scene, with a summary and exports")
    summ.add_argument("path", type=Path, help="a video file")
    m = SummarySettings
    summ.add_argument(
        "--detail",
        choices=DETAILS,
        help=f"one line, one sentence per scene, or a paragraph per scene (default: {_setting(m, 'detail')})",
    )
    summ.add_argument(
        "--export",
        help=f"formats to write: any of vtt,srt,md,json (default: {default_of(SummarizeOptions, 'export')})",
    )
    summ.add_argument("--out", type=Path, help="folder for the files (default: next to the video)")
    summ.add_argument(
        "--fps",
        dest="summary_fps",
        type=float,
        metavar="FPS",
        help=f"frames looked at per second (default {_setting(m, 'fps'):g})",
    )
    summ.add_argument(
        "--max-segment",
        dest="max_segment_s",
        type=float,
        metavar="S",
        help=f"longest scene in seconds (default {_setting(m, 'max_segment_s'):g})",
    )
    summ.add_argument(
        "--frames-per-segment",
        type=int,
        metavar="N",
        help=f"frames the model sees per scene (default {_setting(m, 'frames_per_segment')})",
    )
    _add_engine_flags(summ)

    serve = sub.add_parser("serve", help="serve the model over an OpenAI-compatible HTTP API")
    serve.add_argument("--host", help="address to listen on (default: this machine only)")
    serve.add_argument("--port", type=int, help=f"(default {default_of(ServeOptions, 'port')})")
    serve.add_argument(
        "--api-key", dest="server_api_key", help="require 'Authorization: Bearer KEY' on /v1 and /api"
    )
    serve.add_argument("--no-auth", action="store_true", help="allow a non-local --host without a key")
    serve.add_argument(
        "--cors-origin",
        dest="cors_origins",
        action="append",
        metavar="ORIGIN",
        help="allow browser pages from ORIGIN",
    )
    serve.add_argument(
        "--allow-files", action="append", metavar="DIR", help="let image_url name files in DIR"
    )
    serve.add_argument("--no-remote-images", action="store_true", help="never fetch http(s) image URLs")
    serve.add_argument(
        "--allow-private-urls",
        action="store_const",
        const=True,
        help="also fetch image URLs on this machine or its private network (refused by default)",
    )
    serve.add_argument(
        "--allow-link-local-urls",
        action="store_true",
        help="with --allow-private-urls, also fetch from link-local addresses, where cloud machines "
        "serve their credentials (refused even with --allow-private-urls)",
    )
    serve.add_argument(
        "--queue-size",
        type=int,
        help=f"requests waiting before 429 (default {default_of(ServeOptions, 'queue_size')})",
    )
    serve.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        help=f"(default: {default_of(ServeOptions, 'log_level')})",
    )
    _add_engine_flags(serve, remote=False)

    ev = sub.add_parser("eval", help="measure answer quality: VQA accuracy or multi-turn context")
    ev_sub = ev.add_subparsers(dest="kind", metavar="KIND", required=True)
    vqa = ev_sub.add_parser("vqa", help="VQA accuracy (standard normalization, min(matches/3, 1))")
    vqa.add_argument(
        "--data", type=Path, help="JSONL of {image, question, answers} (default: our sample set)"
    )
    vqa.add_argument(
        "--images", type=Path, help="folder of the data set's images (default: the JSONL's folder)"
    )
    vqa.add_argument("--json", dest="json_out", type=Path, help="also write every answer and score here")
    _add_engine_flags(vqa)
    ctx = ev_sub.add_parser("context", help="describe, then three follow-ups without the image")
    ctx.add_argument(
        "--no-memory",
        action="store_true",
        help="turn the scene log off (follow-ups then know only the current picture)",
    )
    ctx.add_argument("--json", dest="json_out", type=Path, help="also write every exchange here")
    _add_engine_flags(ctx)

    bench = sub.add_parser(
        "bench", help="measure latency, throughput and memory (live narration vs describing the naive way)"
    )
    bench.add_argument("--quick", action="store_true", help="one run per setting (a few minutes)")
    bench.add_argument(
        "--runs",
        type=int,
        help=f"runs per setting, median reported (default {default_of(BenchOptions, 'runs')})",
    )
    bench.add_argument("--model", help="model folder or hub id (default: a random 500M-architecture model)")
    bench.add_argument(
        "--backend",
        choices=("all", *LOCAL_BACKENDS[1:]),
        help="all: every backend that can run fast here (default)",
    )
    bench.add_argument("--dtype", choices=get_args(DType), help="(default: auto)")
    bench.add_argument("--json", dest="json_out", type=Path, help="also write the figures here")

    download = sub.add_parser("download", help="download the model once, with a progress bar")
    download.add_argument("model", nargs="?", help="hub id (default: the backend's SmolVLM2)")
    download.add_argument("--backend", choices=LOCAL_BACKENDS, help="(default: as the settings say)")

    check = sub.add_parser(
        "check-model",
        help="list a downloaded model's files (size, SHA-256) and ONNX graphs' operators, for bug reports",
    )
    check.add_argument("model", nargs="?", help="hub id or folder (default: the CPU engine's SmolVLM2)")
    check.add_argument("--json", dest="json_out", type=Path, help="also write it here as JSON")

    build = sub.add_parser("build-test-model", help="write a random SmolVLM2 folder (tests, benchmarks)")
    build.add_argument("out", type=Path, help="folder to write")
    build.add_argument("--real-size", action="store_true", help="the real 500M architecture (≈2 GB)")
    build.add_argument(
        "--geometry",
        choices=tuple(GEOMETRIES),
        help="how it sees pictures: the 500M's 512 px tiles (default), 64 px tiles, or the 2.2B's 384 px",
    )

    entry = sub.add_parser(
        "desktop-entry", help="add SmolSight to the Linux application menu, or take it out"
    )
    entry.add_argument("action", choices=("install", "remove"))

    config = sub.add_parser("config", help="show the settings file and its values")
    config.add_argument("--config", type=Path, metavar="FILE")
    return parser


def options_from(cls: type[Options], args: argparse.Namespace, **derived: object) -> Options:
    """A command's options: each from its flag (or `derived`) when given, else its default."""
    values = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if getattr(args, f.name, None) is not None
    }
    return cls(**{**values, **{k: v for k, v in derived.items() if v is not None}})


def settings_from_args(args: argparse.Namespace, *, saved: Settings | None = None) -> Settings:
    """Settings from the file (or `saved`, already read from it), this run's flags on top (never saved).

    The one place flags meet settings (`SETTING_FLAGS`); an error names the flag.
    """
    settings = saved if saved is not None else load_settings(getattr(args, "config", None))
    given = {
        target: getattr(args, dest)
        for dest, (_flag, target) in SETTING_FLAGS.items()
        if getattr(args, dest, None) is not None
    }
    names = {f"{group}.{key}": flag for flag, (group, key) in SETTING_FLAGS.values()}
    return settings.with_values(given, source="command line", names=names)


def cmd_describe(args: argparse.Namespace) -> int:
    """Describe one image or a short clip and print the answer."""
    from app.commands.describe import run_describe

    return run_describe(options_from(DescribeOptions, args), settings_from_args(args))


def cmd_narrate(args: argparse.Namespace) -> int:
    """Narrate a source in the terminal."""
    from app.commands.narrate import run_narrate

    if args.list_cameras:
        from app.capture.sources import list_cameras

        found = list_cameras()
        if not found:
            print("No camera could be opened. Use --source with a video or image file, or --source sample.")
            return ExitCode.INPUT
        for index in found:
            print(f"webcam:{index}")
        return ExitCode.OK
    if args.duration_s is not None and args.duration_s <= 0:
        return fail("--duration must be more than 0 seconds", ExitCode.INPUT)
    from app.inference.factory import backend_factory

    settings = settings_from_args(args)
    return run_narrate(options_from(NarrateOptions, args), settings, backend_factory(settings.engine))


def cmd_summarize(args: argparse.Namespace) -> int:
    """Summarize a video with a progress bar; Ctrl-C keeps the finished scenes."""
    from app.commands.summarize import run_summarize

    return run_summarize(options_from(SummarizeOptions, args), settings_from_args(args))


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP server."""
    from app.commands.serve import run_server

    options = options_from(
        ServeOptions,
        args,
        cors_origins=tuple(args.cors_origins or ()),
        allow_files=tuple(Path(d).expanduser() for d in (args.allow_files or ())),
        remote_images=not args.no_remote_images,
    )
    if not 1 <= options.queue_size <= 1000:
        return fail("--queue-size must be between 1 and 1000", ExitCode.INPUT)
    settings = settings_from_args(args)
    if options.allow_link_local_urls and not settings.input.allow_private_urls:
        return fail("--allow-link-local-urls goes with --allow-private-urls", ExitCode.USAGE)
    return run_server(options, settings)


def cmd_eval(args: argparse.Namespace) -> int:
    """Run an evaluation and print its score."""
    from app.commands.evaluate import run_eval

    options = options_from(EvalOptions, args, memory=False if getattr(args, "no_memory", False) else None)
    return run_eval(options, settings_from_args(args))


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark."""
    from app.commands.bench import run_bench
    from app.inference.backend import BackendError

    try:
        return run_bench(options_from(BenchOptions, args))
    except BackendError as exc:
        return fail_backend(exc)


def cmd_download(args: argparse.Namespace) -> int:
    """Fetch the model into the cache with a progress bar."""
    from app.inference.backend import BackendError
    from app.inference.factory import choose_backend
    from app.inference.model_files import DamagedDownload, ModelUnavailable, default_model, download_model
    from app.inference.types import LoadProgress
    from app.terminal import ProgressLine

    engine = settings_from_args(args).engine
    backend = choose_backend(engine.backend, device=engine.device)
    model = args.model or default_model(backend)
    print(f"Downloading {model} …", file=sys.stderr)
    bar = ProgressLine(sys.stderr)

    def report(progress: LoadProgress) -> None:
        bar.update(progress.fraction, progress.message)

    try:
        if backend == "openvino":  # the CPU engine's files only: one precision of the ONNX export
            from app.inference.openvino_backend import OpenVINOBackend

            folder = OpenVINOBackend(model=model, dtype=engine.dtype).download(report)
        else:
            folder = download_model(model, progress=report)
    except DamagedDownload as exc:
        return fail(str(exc), ExitCode.MODEL)
    except ModelUnavailable as exc:
        return fail(f"{exc} Check the internet connection and try again.", ExitCode.MODEL)
    except BackendError as exc:
        return fail(str(exc), ExitCode.MODEL)
    finally:
        bar.close()
    print(folder)
    return ExitCode.OK


def cmd_check_model(args: argparse.Namespace) -> int:
    """Print a downloaded model's files and its ONNX graphs' census."""
    from app.commands.check_model import run_check_model
    from app.inference.model_files import default_model

    return run_check_model(args.model or default_model("transformers"), args.json_out)


def cmd_build_test_model(args: argparse.Namespace) -> int:
    """Write a random-weight SmolVLM2 model folder."""
    from app.devtools.model_builder import build_model

    shape = {"geometry": args.geometry} if args.geometry else {}
    print(build_model(args.out, real_size=args.real_size, **shape))
    return ExitCode.OK


def cmd_config(args: argparse.Namespace) -> int:
    """Print where the settings live and what they are."""
    import json

    path = args.config or default_config_path()
    settings = load_settings(path)
    print(f"# {path}{'' if path.exists() else ' (not written yet: defaults)'}")
    print(json.dumps(settings.model_dump(), indent=2))
    return ExitCode.OK


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the desktop app (or hand the file to the one already open)."""
    from app.ui.app import run_app

    saved = load_settings(args.config)  # the file alone: the window never writes this run's flags back
    source = str(args.file.resolve()) if args.file else args.source
    return run_app(settings_from_args(args, saved=saved), saved=saved, source=source, config_path=args.config)


def cmd_desktop_entry(args: argparse.Namespace) -> int:
    """Install or remove the application-menu entry (Linux and other freedesktop desktops)."""
    from app import desktop_entry

    if sys.platform in ("win32", "darwin"):
        return fail(
            "menu entries are for Linux desktops; see the README for Windows and macOS", ExitCode.USAGE
        )
    try:
        paths = desktop_entry.install() if args.action == "install" else desktop_entry.remove()
    except OSError as exc:
        return fail(f"could not write the menu entry: {exc.strerror or exc}", ExitCode.INPUT)
    verb = "wrote" if args.action == "install" else "removed"
    print(f"{verb} {len(paths)} file{'s' if len(paths) != 1 else ''}:", file=sys.stderr)
    for path in paths:
        print(path)
    return ExitCode.OK


COMMANDS = {
    "describe": cmd_describe,
    "narrate": cmd_narrate,
    "summarize": cmd_summarize,
    "serve": cmd_serve,
    "eval": cmd_eval,
    "bench": cmd_bench,
    "download": cmd_download,
    "build-test-model": cmd_build_test_model,
    "check-model": cmd_check_model,
    "config": cmd_config,
    "desktop-entry": cmd_desktop_entry,
    "gui": cmd_gui,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["speech-host"]:
        # Not a user's command: the speech helper process, started by SmolSight itself (an app
        # bundle's launcher can only run this entry point; see app/speech/speaker.py).
        from app.speech.host import main as speech_host

        return speech_host(argv[1:])
    parser = build_parser()
    # `smolsight --model DIR` means `smolsight gui --model DIR`: the app is the default.
    if not argv or (argv[0].startswith("-") and argv[0] not in {"-h", "--help", "--version"}):
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    if args.command != "serve":  # a server's operator reads its own log, tracebacks and all
        from app.logs import setup_logging

        setup_logging()  # details to the log file; to the terminal, one line (app/logs.py)
    from app.config import ConfigError

    try:
        return int(COMMANDS[args.command](args))
    except ConfigError as exc:
        return fail(str(exc), ExitCode.INPUT)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return ExitCode.INTERRUPTED


def entry() -> None:
    """Console-script entry point: `smolsight`."""
    sys.exit(main())


def gui_entry() -> None:
    """GUI-script entry point: `smolsight-app [FLAGS] [FILE]`, the desktop app (no console on Windows)."""
    sys.exit(main(["gui", *sys.argv[1:]]))
