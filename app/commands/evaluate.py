"""`smolsight eval`: VQA accuracy on a question set, or multi-turn context through the scene log."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from app.capture.frames import Frame
from app.commands.flags import CommandParser, add_engine_flags, options_from, settings_from_args
from app.commands.options import EvalOptions
from app.commands.running import loaded_model
from app.config import Settings
from app.exit_codes import ExitCode
from app.files import check_writable_folder, write_text_atomic
from app.inference.backend import BackendError
from app.inference.types import GenerationRequest
from app.paths import resource_file
from app.prompts import VQA_MAX_TOKENS, vqa_prompt
from app.terminal import fail, fail_backend

Ask = Callable[[GenerationRequest], str]

OPTIONS = EvalOptions  # what the flags that are not settings fill


def add_arguments(parser: CommandParser) -> None:
    """`eval vqa` and `eval context`, each with its data and the engine's flags."""
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    vqa = kinds.add_parser("vqa", help="VQA accuracy (standard normalization, min(matches/3, 1))")
    vqa.add_argument(
        "--data", type=Path, help="JSONL of {image, question, answers} (default: our sample set)"
    )
    vqa.add_argument(
        "--images", type=Path, help="folder of the data set's images (default: the JSONL's folder)"
    )
    vqa.add_argument("--json", dest="json_out", type=Path, help="also write every answer and score here")
    add_engine_flags(vqa)
    context = kinds.add_parser("context", help="describe, then three follow-ups without the image")
    context.add_argument(
        "--no-memory",
        dest="memory",
        action="store_const",
        const=False,
        help="turn the scene log off (follow-ups then know only the current picture)",
    )
    context.add_argument("--json", dest="json_out", type=Path, help="also write every exchange here")
    add_engine_flags(context)


def run(args: argparse.Namespace) -> int:
    """Run an evaluation and print its score."""
    return run_eval(options_from(OPTIONS, args), settings_from_args(args))


def run_eval(options: EvalOptions, settings: Settings) -> int:
    """Run the evaluation, print its score, optionally write every answer; return the exit code."""
    if options.json_out is not None and (problem := check_writable_folder(options.json_out.parent)):
        return fail(f"can't save the answers: {problem}", ExitCode.INPUT)
    try:
        with loaded_model(settings, warm_up=True) as (model_thread, _info):

            def ask(request: GenerationRequest) -> str:
                return model_thread.submit(request).result().text

            evaluation = _vqa if options.kind == "vqa" else _follow_ups
            try:
                payload = evaluation(options, ask)
            except (OSError, ValueError) as exc:
                return fail(str(exc), ExitCode.INPUT)
    except BackendError as exc:
        return fail_backend(exc)
    if options.json_out:
        write_text_atomic(options.json_out, json.dumps(payload, indent=2, default=str))
    return ExitCode.OK


def _vqa(options: EvalOptions, ask: Ask) -> dict[str, object]:
    from app.evaluation.vqa import evaluate, load_items

    data = options.data or resource_file("eval", "vqa_sample.jsonl")
    result = evaluate(
        load_items(data),
        lambda image, q: ask(
            GenerationRequest(vqa_prompt(q), frames=(Frame(image),), max_tokens=VQA_MAX_TOKENS)
        ),
        images=options.images or data.parent,
    )
    print(
        f"{result.items} questions: VQA accuracy {result.vqa_accuracy:.1%}, "
        f"exact match {result.exact_match:.1%}"
    )
    return {"vqa_accuracy": result.vqa_accuracy, "exact_match": result.exact_match, "rows": result.rows}


def _follow_ups(options: EvalOptions, ask: Ask) -> dict[str, object]:
    from app.evaluation.follow_ups import evaluate_follow_ups

    result = evaluate_follow_ups(ask, memory=options.memory)
    memory = "on" if options.memory else "off"
    print(
        f"context understanding: {result.score:.0f}% "
        f"({result.correct} of {result.total} follow-ups; scene log {memory})"
    )
    return {"score": result.score, "rows": result.rows}
