"""`smolsight describe`: one description of an image, or of a short video as a clip."""

from __future__ import annotations

import sys

from app.capture.frames import CaptureError, Frame
from app.capture.media import MediaError, load_media
from app.commands.options import DescribeOptions
from app.config import Settings
from app.exit_codes import ExitCode
from app.inference.backend import BackendError, ContextTooLong
from app.inference.engine import Engine
from app.inference.factory import backend_factory
from app.inference.types import GenerationRequest, PromptTooLong
from app.prompts import DEFAULT_CLIP_PROMPT, DEFAULT_IMAGE_PROMPT
from app.terminal import LoadReporter, fail, fail_backend


def pictures(options: DescribeOptions, settings: Settings) -> list[Frame]:
    """What to describe: the file's picture or frames, a capture of the screen, or the clipboard's picture."""
    if options.clipboard:
        from app.live.clipboard import clipboard_image

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
        )
    except PromptTooLong as exc:
        return fail(f"--prompt is too long: {exc}", ExitCode.INPUT)
    except (MediaError, CaptureError) as exc:
        return fail(str(exc), ExitCode.INPUT)
    engine = Engine(backend_factory(settings.engine), warm_up=False, listener=LoadReporter())
    # --stream prints each piece as the model thread produces it; the answer comes back whole.
    printed = (lambda chunk: print(chunk.text, end="", flush=True)) if options.stream else None
    try:
        info = engine.wait_ready()
        answer = engine.submit(request, on_chunk=printed).result()
    except ContextTooLong as exc:
        return fail(str(exc), ExitCode.INPUT)
    except BackendError as exc:
        return fail_backend(exc)
    finally:
        engine.shutdown()
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
