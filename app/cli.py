"""The `smolsight` command: the desktop app by default, and headless tools as subcommands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app import __version__

EXIT_OK = 0
EXIT_INPUT = 1  # a file or value the user gave can't be used
EXIT_USAGE = 2  # argparse's own code for bad flags
EXIT_MODEL = 3  # the model or backend can't be loaded
EXIT_INTERRUPTED = 130


def _fail(message: str, code: int) -> int:
    print(f"smolsight: {message}", file=sys.stderr)
    return code


def _add_engine_flags(p: argparse.ArgumentParser, *, remote: bool = True) -> None:
    g = p.add_argument_group("model")
    choices = ["auto", "mlx", "transformers", "openai"] if remote else ["auto", "mlx", "transformers"]
    g.add_argument("--backend", choices=choices, help="inference engine (default: auto)")
    g.add_argument("--model", metavar="ID_OR_DIR", help="hub id or local model folder")
    g.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="transformers device")
    g.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"], help="transformers dtype")
    g.add_argument("--offline", action="store_true", help="never download; use the cache or a folder")
    g.add_argument("--config", type=Path, metavar="FILE", help="settings file (default: the per-user one)")
    if remote:
        r = p.add_argument_group("remote server (--backend openai)")
        r.add_argument(
            "--base-url", metavar="URL", help="an OpenAI-compatible server, e.g. http://host:8080/v1"
        )
        r.add_argument("--api-key", help="its API key")
        r.add_argument("--remote-model", metavar="NAME", help="the model name on that server")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="smolsight",
        description="SmolSight: local, private scene descriptions for blind and low-vision people, "
        "using SmolVLM2. With no command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"smolsight {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the desktop app (the default)")
    _add_engine_flags(gui)
    gui.add_argument("--source", help="start with this source: webcam[:INDEX], a video or an image file")

    describe = sub.add_parser("describe", help="describe an image, or a short video as a clip")
    describe.add_argument("path", type=Path, help="an image or video file")
    describe.add_argument("--prompt", default=None, help="what to ask (default: describe the scene briefly)")
    describe.add_argument(
        "--max-tokens", type=int, default=None, metavar="N", help="longest answer in tokens"
    )
    describe.add_argument("--temperature", type=float, default=None, help="0 = deterministic (default)")
    describe.add_argument("--stream", action="store_true", help="print the answer as it is generated")
    describe.add_argument("--split-images", action="store_true", help="tile the image for fine detail (slow)")
    describe.add_argument("--fps", type=float, default=1.0, help="video sampling rate (default 1)")
    describe.add_argument("--max-frames", type=int, default=16, help="most video frames to use (≤ 64)")
    describe.add_argument("--stats", action="store_true", help="print timing figures on stderr")
    _add_engine_flags(describe)

    narrate = sub.add_parser("narrate", help="narrate a camera or video in the terminal, line by line")
    narrate.add_argument(
        "--source",
        default="webcam",
        help="webcam, webcam:INDEX, sample, or a video/image file (default: webcam)",
    )
    narrate.add_argument(
        "--mode",
        choices=["continuous", "describe", "what_happened", "ask"],
        default="continuous",
        help="continuous narration (default), one description, the last seconds as a clip, or a question",
    )
    narrate.add_argument("--question", help="the question for --mode ask")
    narrate.add_argument("--verbosity", choices=["brief", "normal", "detailed"], default="brief")
    narrate.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    narrate.add_argument(
        "--interval", type=float, default=3.0, metavar="K", help="at most one description every K s"
    )
    narrate.add_argument(
        "--threshold", type=float, default=20.0, help="scene-change score (0-100) that triggers a description"
    )
    narrate.add_argument("--fps", type=float, default=1.0, help="frames sampled per second (0.2–4)")
    narrate.add_argument("--fast", action="store_true", help="read video files as fast as possible")
    narrate.add_argument("--loop", action="store_true", help="loop video files")
    narrate.add_argument("--speak", action="store_true", help="also speak new descriptions aloud")
    narrate.add_argument("--list-cameras", action="store_true", help="list the cameras that open, then exit")
    _add_engine_flags(narrate)

    summ = sub.add_parser("summarize", help="describe a video scene by scene, with a summary and exports")
    summ.add_argument("path", type=Path, help="a video file")
    summ.add_argument(
        "--detail",
        choices=["line", "sentence", "paragraph"],
        default="sentence",
        help="one line, one sentence per scene (default), or a paragraph per scene",
    )
    summ.add_argument(
        "--export", default="vtt,srt,md,json", help="formats to write: any of vtt,srt,md,json (default: all)"
    )
    summ.add_argument("--out", type=Path, help="folder for the files (default: next to the video)")
    summ.add_argument("--fps", type=float, default=1.0, help="frames looked at per second (default 1)")
    summ.add_argument("--max-segment", type=float, default=30.0, metavar="S", help="longest scene in seconds")
    summ.add_argument(
        "--frames-per-segment", type=int, default=8, metavar="N", help="frames the model sees per scene"
    )
    _add_engine_flags(summ)

    serve = sub.add_parser("serve", help="serve the model over an OpenAI-compatible HTTP API")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: this machine only)"
    )
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--api-key", help="require 'Authorization: Bearer KEY' on /v1 and /api")
    serve.add_argument("--no-auth", action="store_true", help="allow a non-local --host without a key")
    serve.add_argument(
        "--cors-origin", action="append", metavar="ORIGIN", help="allow browser pages from ORIGIN"
    )
    serve.add_argument(
        "--allow-files", action="append", metavar="DIR", help="let image_url name files in DIR"
    )
    serve.add_argument("--no-remote-images", action="store_true", help="never fetch http(s) image URLs")
    serve.add_argument("--queue-size", type=int, default=4, help="requests waiting before 429 (default 4)")
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    _add_engine_flags(serve, remote=False)

    ev = sub.add_parser("eval", help="measure answer quality: VQA accuracy or multi-turn context")
    ev_sub = ev.add_subparsers(dest="eval_command", metavar="KIND", required=True)
    vqa = ev_sub.add_parser("vqa", help="VQA accuracy (standard normalization, min(matches/3, 1))")
    vqa.add_argument(
        "--data", type=Path, help="JSONL of {image, question, answers} (default: our sample set)"
    )
    vqa.add_argument("--images", type=Path, help="folder of the data set's images")
    vqa.add_argument("--json", type=Path, help="also write every answer and score here")
    _add_engine_flags(vqa)
    ctx = ev_sub.add_parser("context", help="describe, then three follow-ups without the image")
    ctx.add_argument("--no-memory", action="store_true", help="turn the scene log off (the seed's setup)")
    ctx.add_argument("--json", type=Path, help="also write every exchange here")
    _add_engine_flags(ctx)

    bench = sub.add_parser(
        "bench", help="measure latency, throughput and memory (live vs the seed's settings)"
    )
    bench.add_argument("--quick", action="store_true", help="one run per setting (a few minutes)")
    bench.add_argument("--runs", type=int, default=3, help="runs per setting (median reported)")
    bench.add_argument("--model", help="model folder or hub id (default: a random 500M-architecture model)")
    bench.add_argument(
        "--backend",
        default="all",
        choices=["all", "transformers", "mlx"],
        help="all: every backend that can run fast here (default)",
    )
    bench.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    bench.add_argument("--json", type=Path, help="also write the figures here")

    download = sub.add_parser("download", help="download the model once, with a progress bar")
    download.add_argument("model", nargs="?", help="hub id (default: the backend's SmolVLM2)")
    download.add_argument("--backend", choices=["auto", "mlx", "transformers"], default="auto")

    build = sub.add_parser("build-test-model", help="write a random SmolVLM2 folder (tests, benchmarks)")
    build.add_argument("out", type=Path, help="folder to write")
    build.add_argument("--real-size", action="store_true", help="the real 500M architecture (≈2 GB)")

    config = sub.add_parser("config", help="show the settings file and its values")
    config.add_argument("--config", type=Path, metavar="FILE")
    return parser


def load_cli_settings(args: argparse.Namespace, **extra: Any) -> Any:
    """Settings from the file, with the command line's flags on top."""
    from app.config import apply_overrides, load_settings

    settings = load_settings(getattr(args, "config", None))
    overrides: dict[str, Any] = {
        "backend": getattr(args, "backend", None),
        "model": getattr(args, "model", None),
        "device": getattr(args, "device", None),
        "dtype": getattr(args, "dtype", None),
        "base_url": getattr(args, "base_url", None),
        "remote_model": getattr(args, "remote_model", None),
    }
    if args.command != "serve":  # serve's --api-key guards our own server instead
        overrides["api_key"] = getattr(args, "api_key", None)
    if getattr(args, "offline", False):
        overrides["allow_download"] = False
    overrides.update(extra)
    return apply_overrides(settings, overrides)


def engine_from_settings(settings: Any) -> Any:
    """A not-yet-loaded backend built from settings."""
    from app.inference.factory import create_backend

    return create_backend(
        settings.backend,
        model=settings.model,
        device=settings.device,
        dtype=settings.dtype,
        allow_download=settings.allow_download,
        base_url=settings.base_url,
        api_key=settings.api_key,
        remote_model=settings.remote_model,
        timeout_s=settings.timeout_s,
    )


def cmd_describe(args: argparse.Namespace) -> int:
    """Describe one image or a short clip and print the answer."""
    from app.capture.media import MediaError, load_media
    from app.inference.base import BackendError
    from app.inference.types import GenerationRequest
    from app.narration.prompts import DEFAULT_CLIP_PROMPT, DEFAULT_IMAGE_PROMPT

    settings = load_cli_settings(args, max_tokens=args.max_tokens, temperature=args.temperature)
    if not 1 <= args.max_frames <= 64:
        return _fail("--max-frames must be between 1 and 64", EXIT_INPUT)
    if not 0.05 <= args.fps <= 30:
        return _fail("--fps must be between 0.05 and 30", EXIT_INPUT)
    try:
        frames = load_media(args.path, fps=args.fps, max_frames=args.max_frames)
    except MediaError as exc:
        return _fail(str(exc), EXIT_INPUT)
    prompt = args.prompt or (DEFAULT_CLIP_PROMPT if len(frames) > 1 else DEFAULT_IMAGE_PROMPT)
    request = GenerationRequest(
        prompt=prompt,
        frames=tuple(frames),
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        split_images=args.split_images or settings.split_images,
    )
    backend = engine_from_settings(settings)
    try:
        backend.load()
        pieces: list[str] = []
        stats = None
        for chunk in backend.stream(request):
            text = chunk.text.lstrip() if not pieces else chunk.text
            pieces.append(text)
            stats = chunk.stats
            if args.stream and text:
                print(text, end="", flush=True)
    except BackendError as exc:
        return _fail(str(exc), EXIT_MODEL)
    finally:
        backend.close()
    if args.stream:
        print()
    else:
        print("".join(pieces).strip())
    if args.stats and stats is not None:
        ttft = stats.time_to_first_token_s
        print(
            f"[{backend.info.backend} {backend.info.device} {backend.info.dtype}] "
            f"{len(frames)} frame{'s' if len(frames) != 1 else ''}, "
            f"prompt {stats.prompt_tokens} tokens, first token "
            f"{'-' if ttft is None else f'{ttft:.2f} s'}, {stats.generated_tokens} tokens in "
            f"{stats.total_s:.2f} s",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_narrate(args: argparse.Namespace) -> int:
    """Narrate a source in the terminal."""
    from app.live.narrate_cli import run_narrate

    if args.list_cameras:
        from app.capture.sources import list_cameras

        found = list_cameras()
        if not found:
            print("No camera could be opened. Use --source with a video or image file, or --source sample.")
            return EXIT_INPUT
        for index in found:
            print(f"webcam:{index}")
        return EXIT_OK
    if not 0.2 <= args.fps <= 4:
        return _fail("--fps must be between 0.2 and 4", EXIT_INPUT)
    if args.duration is not None and args.duration <= 0:
        return _fail("--duration must be more than 0 seconds", EXIT_INPUT)
    settings = load_cli_settings(args)
    return run_narrate(args, settings, lambda: engine_from_settings(settings))


def cmd_summarize(args: argparse.Namespace) -> int:
    """Summarize a video with a progress bar; Ctrl-C keeps the finished scenes."""
    import signal

    from app.capture.media import MediaError, probe_video
    from app.inference.base import BackendError
    from app.inference.types import CancelToken
    from app.video.export import FORMATS, export
    from app.video.segments import SegmentSettings
    from app.video.summarize import SummarySettings, summarize

    formats = [f.strip().lower() for f in args.export.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        return _fail(f"--export takes vtt, srt, md and/or json, not '{args.export}'", EXIT_INPUT)
    try:
        cutting = SegmentSettings(fps=args.fps, max_segment_s=args.max_segment)
        options = SummarySettings(
            detail=args.detail, frames_per_segment=args.frames_per_segment, segments=cutting
        )
        probe_video(args.path)
    except (MediaError, ValueError) as exc:
        return _fail(str(exc), EXIT_INPUT)
    settings = load_cli_settings(args)
    backend = engine_from_settings(settings)
    cancel = CancelToken()

    def on_sigint(*_: object) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        print("\nStopping after the current scene (Ctrl-C again to quit at once)…", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    bar = ProgressLine(sys.stderr)
    try:
        print(f"Loading the model for {args.path.name} …", file=sys.stderr)
        backend.load()
        result = summarize(args.path, backend, options, progress=bar.update, cancel=cancel)
    except BackendError as exc:
        return _fail(str(exc), EXIT_MODEL)
    except MediaError as exc:
        return _fail(str(exc), EXIT_INPUT)
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
        backend.close()
    out_dir = args.out or args.path.parent
    try:
        paths = export(result, out_dir, formats)
    except OSError as exc:
        return _fail(f"could not write the results to {out_dir}: {exc.strerror or exc}", EXIT_INPUT)
    if result.summary:
        print(result.summary)
    from app.inference.prompts import format_clock

    for seg in result.segments:
        text = seg.description or f"(not described: {seg.error})"
        print(f"[{format_clock(seg.start)}-{format_clock(seg.end)}] {text}")
    failed = sum(1 for seg in result.segments if seg.error)
    note = " (PARTIAL: stopped early)" if result.partial else ""
    print(f"{len(result.segments)} scenes in {result.seconds:.0f} s{note}; wrote:", file=sys.stderr)
    for p in paths:
        print(f"  {p}", file=sys.stderr)
    if failed:
        print(f"{failed} scene(s) could not be described; see the files.", file=sys.stderr)
    return EXIT_INTERRUPTED if result.partial else EXIT_OK


class ProgressLine:
    """A one-line progress bar with ETA on a terminal; plain lines otherwise."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last = ""

    def update(self, p: Any) -> None:
        """Show a `Progress`."""
        filled = int(p.fraction * 24)
        eta = "" if p.eta_s is None else f"  ETA {int(p.eta_s // 60)}:{int(p.eta_s % 60):02d}"
        line = f"[{'#' * filled}{'.' * (24 - filled)}] {p.fraction:4.0%}{eta}  {p.message}"
        if self.tty:
            print("\r" + line.ljust(len(self.last)), end="", file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)
        self.last = line

    def close(self) -> None:
        """End the progress line."""
        if self.tty and self.last:
            print(file=self.stream)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP server."""
    from app.server.run import run_server

    if not 1 <= args.queue_size <= 1000:
        return _fail("--queue-size must be between 1 and 1000", EXIT_INPUT)
    return run_server(args, load_cli_settings(args))


def cmd_eval(args: argparse.Namespace) -> int:
    """Run an evaluation and print its score."""
    import json

    from app.inference.base import BackendError, collect
    from app.inference.types import Frame, GenerationRequest

    settings = load_cli_settings(args)
    backend = engine_from_settings(settings)
    try:
        backend.load()

        def ask(request: GenerationRequest) -> str:
            return collect(backend.stream(request)).text

        if args.eval_command == "vqa":
            from app.evaluation.vqa import evaluate, load_items

            data = (
                args.data
                or Path(__file__).resolve().parent.parent / "resources" / "eval" / "vqa_sample.jsonl"
            )
            try:
                items = load_items(data)
                result = evaluate(
                    items,
                    lambda image, q: ask(
                        GenerationRequest(
                            f"{q} Answer with one word or a short phrase.",
                            frames=(Frame(image),),
                            max_tokens=12,
                        )
                    ),
                    images=args.images,
                )
            except (OSError, ValueError) as exc:
                return _fail(str(exc), EXIT_INPUT)
            print(
                f"{result.items} questions: VQA accuracy {result.vqa_accuracy:.1%}, "
                f"exact match {result.exact_match:.1%}"
            )
            payload: Any = {
                "vqa_accuracy": result.vqa_accuracy,
                "exact_match": result.exact_match,
                "rows": result.rows,
            }
        else:
            from app.evaluation.context import evaluate_context

            try:
                ctx = evaluate_context(ask, memory=not args.no_memory)
            except ValueError as exc:
                return _fail(str(exc), EXIT_INPUT)
            memory = "off" if args.no_memory else "on"
            print(
                f"context understanding: {ctx.score:.0f}% "
                f"({ctx.correct} of {ctx.total} follow-ups; scene log {memory})"
            )
            payload = {"score": ctx.score, "rows": ctx.rows}
    except BackendError as exc:
        return _fail(str(exc), EXIT_MODEL)
    finally:
        backend.close()
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2, default=str))
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark."""
    from app.bench import run_bench
    from app.inference.base import BackendError

    try:
        return run_bench(args)
    except BackendError as exc:
        return _fail(str(exc), EXIT_MODEL)


def cmd_download(args: argparse.Namespace) -> int:
    """Fetch the model into the cache with a progress bar."""
    from app.inference.factory import choose_backend
    from app.inference.models import ModelUnavailable, default_model, download_model

    model = args.model or default_model(choose_backend(args.backend))
    print(f"Downloading {model} …", file=sys.stderr)
    try:
        folder = download_model(model)
    except ModelUnavailable as exc:
        return _fail(str(exc), EXIT_MODEL)
    print(folder)
    return EXIT_OK


def cmd_build_test_model(args: argparse.Namespace) -> int:
    """Write a random-weight SmolVLM2 model folder."""
    from app.devtools.model_builder import build_model

    print(build_model(args.out, real_size=args.real_size))
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    """Print where the settings live and what they are."""
    import json

    from app.config import default_config_path, load_settings

    path = args.config or default_config_path()
    settings = load_settings(path)
    print(f"# {path}{'' if path.exists() else ' (not written yet: defaults)'}")
    print(json.dumps(settings.model_dump(), indent=2))
    return EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the desktop app."""
    from app.ui.main_window import run_app

    settings = load_cli_settings(args)
    code: int = run_app(
        settings, source=getattr(args, "source", None), config_path=getattr(args, "config", None)
    )
    return code


COMMANDS = {
    "describe": cmd_describe,
    "narrate": cmd_narrate,
    "summarize": cmd_summarize,
    "serve": cmd_serve,
    "eval": cmd_eval,
    "bench": cmd_bench,
    "download": cmd_download,
    "build-test-model": cmd_build_test_model,
    "config": cmd_config,
    "gui": cmd_gui,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # `smolsight --model DIR` means `smolsight gui --model DIR`: the app is the default.
    if not argv or (argv[0].startswith("-") and argv[0] not in {"-h", "--help", "--version"}):
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    command = args.command
    from app.config import ConfigError

    try:
        return COMMANDS[command](args)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_INPUT)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
