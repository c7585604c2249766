"""`smolsight read`: a picture's text as written, by the text reader (no vision-language model).

One line per line, in reading order (columns apart); "No text found." when there is none. It
needs no model download and no network: the reader's weights come with the install.
"""

from __future__ import annotations

import argparse
import sys

from app.capture.frames import CaptureError, to_rgb_array
from app.capture.media import MediaError
from app.commands.describe import add_picture_arguments, pictures
from app.commands.flags import CommandParser, options_from, settings_from_args
from app.commands.options import ReadOptions
from app.exit_codes import ExitCode
from app.terminal import fail

OPTIONS = ReadOptions  # what the flags fill


def add_arguments(parser: CommandParser) -> None:
    """What to read, in which language."""
    add_picture_arguments(parser, "a picture file (PNG, JPEG, WebP, …)")
    parser.add_argument(
        "--language",
        metavar="CODE",
        default="en",
        help="the text's language (default en); the reader reads Latin-script languages, Chinese and "
        "Japanese, and says so for any other",
    )
    parser.add_argument("--stats", action="store_true", help="print the reading time on stderr")


def run(args: argparse.Namespace) -> int:
    """Read the picture's text and print it."""
    return run_read(options_from(OPTIONS, args), args)


def run_read(options: ReadOptions, args: argparse.Namespace) -> int:
    """Print the text one line per line, or "No text found."; return the exit code."""
    from app.reading.reader import ReaderError, language_problem, shared_reader, what_it_says

    problem = language_problem(options.language)
    if problem:
        return fail(problem, ExitCode.INPUT)
    try:
        frames = pictures(options, settings_from_args(args))
    except (MediaError, CaptureError) as exc:
        return fail(str(exc), ExitCode.INPUT)
    if len(frames) != 1:
        return fail(
            f"{options.path}: `read` takes a picture, not a video (`smolsight summarize` describes videos).",
            ExitCode.INPUT,
        )
    image = to_rgb_array(frames[0].image)
    try:
        read = shared_reader().read(image)
    except ReaderError as exc:
        return fail(str(exc), ExitCode.MODEL)
    print(what_it_says(read, image))
    if options.stats:
        print(f"[text reader] {len(read.lines)} lines in {read.seconds:.2f} s", file=sys.stderr)
    return ExitCode.OK
