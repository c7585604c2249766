"""`smolsight describe`: one description of an image, or of a short video as a clip."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.capture.frames import CaptureError, Frame
from app.capture.media import MediaError, load_media
from app.commands.flags import (
    CommandParser,
    add_engine_flags,
    add_setting,
    options_from,
    setting_default,
    settings_from_args,
)
from app.commands.options import DescribeOptions, ReadOptions
from app.commands.running import loaded_model
from app.config import Settings
from app.exit_codes import ExitCode
from app.inference.backend import BackendError, ContextTooLong
from app.inference.types import GenerationRequest, PromptTooLong
from app.prompts import DEFAULT_CLIP_PROMPT, DEFAULT_IMAGE_PROMPT
from app.terminal import fail, fail_backend

OPTIONS = DescribeOptions  # what the flags that are not settings fill


def add_picture_arguments(parser: CommandParser, file_help: str) -> None:
    """One of: a file, `--source` (the screen or a window, taken now), `--clipboard` (`pictures`)."""
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("path", type=Path, nargs="?", help=file_help)
    what.add_argument(
        "--source",
        metavar="SCREEN",
        help="screen (all of monitor 1), screen:N (monitor N), or window (the active window), taken now",
    )
    what.add_argument("--clipboard", action="store_true", help="the picture on the clipboard")


def add_arguments(parser: CommandParser) -> None:
    """What to describe, what to ask, how long an answer may be."""
    add_picture_arguments(parser, "an image or video file")
    parser.add_argument("--prompt", help="what to ask (default: describe the scene briefly)")
    add_setting(
        parser,
        "--max-tokens",
        setting="describe.max_tokens",
        type=int,
        metavar="N",
        help=f"longest answer in tokens (default {setting_default('describe.max_tokens')})",
    )
    add_setting(
        parser,
        "--temperature",
        setting="describe.temperature",
        type=float,
        help=f"0 = deterministic (default {setting_default('describe.temperature')})",
    )
    parser.add_argument("--stream", action="store_true", help="print the answer as it is generated")
    add_setting(
        parser,
        "--split-images",
        setting="describe.split_images",
        const=True,
        help="tile the image for fine detail (slow)",
    )
    add_setting(
        parser,
        "--fps",
        setting="describe.video_fps",
        type=float,
        help=f"video sampling rate (default {setting_default('describe.video_fps'):g})",
    )
    add_setting(
        parser,
        "--max-frames",
        setting="describe.video_frames",
        type=int,
        metavar="N",
        help=f"most video frames to use (default {setting_default('describe.video_frames')}, at most 64)",
    )
    add_setting(
        parser,
        "--no-read-text",
        setting="describe.read_text",
        const=False,
        help="let the model read a picture's text itself (default: the text reader's words, quoted)",
    )
    parser.add_argument("--stats", action="store_true", help="print timing figures on stderr")
    add_engine_flags(parser)


def run(args: argparse.Namespace) -> int:
    """Describe one image or a short clip and print the answer."""
    return run_describe(options_from(OPTIONS, args), settings_from_args(args))


def pictures(options: DescribeOptions | ReadOptions, settings: Settings) -> list[Frame]:
    """What to describe: the file's picture or frames, a capture of the screen, or the clipboard's picture."""
    if options.clipboard:
        from app.desktop.clipboard import clipboard_image

        return [Frame(clipboard_image(), 0.0)]
    if options.source is not None:
        from app.capture.screen import capture_once

        spec = options.source
        if spec == "window":
            return [Frame(capture_once("window"), 0.0)]
        name, _, number = spec.partition(":")
        if name != "screen" or (number and not number.isdigit()):
            raise CaptureError(f"'{spec}': --source takes screen, screen:N (a monitor's number) or window")
        return [Frame(capture_once("screen", int(number or 1)), 0.0)]
    assert options.path is not None
    d = settings.describe
    return load_media(
        options.path, fps=d.video_fps, max_frames=d.video_frames, max_pixels=settings.input.max_image_pixels
    )


def run_describe(options: DescribeOptions, settings: Settings) -> int:
    """Describe the file and print the answer; return the exit code."""
    try:
        frames = pictures(options, settings)
        prompt = options.prompt or (DEFAULT_CLIP_PROMPT if len(frames) > 1 else DEFAULT_IMAGE_PROMPT)
        request = GenerationRequest(
            prompt=prompt,
            frames=tuple(frames),
            max_tokens=settings.describe.max_tokens,
            temperature=settings.describe.temperature,
            split_images=settings.describe.split_images,
            read_text=settings.describe.read_text,
        )
    except PromptTooLong as exc:
        return fail(f"--prompt is too long: {exc}", ExitCode.INPUT)
    except (MediaError, CaptureError) as exc:
        return fail(str(exc), ExitCode.INPUT)
    # --stream prints each piece as the model thread produces it; the answer comes back whole.
    printed = (lambda chunk: print(chunk.text, end="", flush=True)) if options.stream else None
    try:
        with loaded_model(settings) as (model_thread, info):
            answer = model_thread.submit(request, on_chunk=printed).result()
    except ContextTooLong as exc:
        return fail(str(exc), ExitCode.INPUT)
    except BackendError as exc:
        return fail_backend(exc)
    print("" if options.stream else answer.text)
    stats = answer.stats
    if stats.note:
        print(f"smolsight: {stats.note}", file=sys.stderr)
    if options.stats:
        ttft = stats.time_to_first_token_s
        print(
            f"[{info.backend} {info.device} {info.dtype}] "
            f"{len(frames)} frame{'s' if len(frames) != 1 else ''}, "
            f"prompt {stats.prompt_tokens} tokens, first token "
            f"{'-' if ttft is None else f'{ttft:.2f} s'}, {stats.generated_tokens} tokens in "
            f"{stats.total_s:.2f} s",
            file=sys.stderr,
        )
    return ExitCode.OK
