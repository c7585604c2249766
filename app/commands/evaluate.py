"""`smolsight eval`: VQA accuracy on a question set, or multi-turn context through the scene log."""

from __future__ import annotations

import json

from app.capture.frames import Frame
from app.commands.options import EvalOptions
from app.config import Settings
from app.exit_codes import ExitCode
from app.files import check_writable_folder, write_text_atomic
from app.inference.backend import BackendError
from app.inference.engine import Engine
from app.inference.factory import backend_factory
from app.inference.types import GenerationRequest
from app.paths import resource_file
from app.prompts import VQA_MAX_TOKENS, vqa_prompt
from app.terminal import LoadReporter, fail, fail_backend


def run_eval(options: EvalOptions, settings: Settings) -> int:
    """Run the evaluation, print its score, optionally write every answer; return the exit code."""
    if options.json_out is not None and (problem := check_writable_folder(options.json_out.parent)):
        return fail(f"can't save the answers: {problem}", ExitCode.INPUT)
    engine = Engine(backend_factory(settings.engine), listener=LoadReporter())

    def ask(request: GenerationRequest) -> str:
        return engine.submit(request).result().text

    payload: dict[str, object]
    try:
        engine.wait_ready()
        if options.kind == "vqa":
            from app.evaluation.vqa import evaluate, load_items

            try:
                data = options.data or resource_file("eval", "vqa_sample.jsonl")
                items = load_items(data)
                result = evaluate(
                    items,
                    lambda image, q: ask(
                        GenerationRequest(vqa_prompt(q), frames=(Frame(image),), max_tokens=VQA_MAX_TOKENS)
                    ),
                    images=options.images or data.parent,
                )
            except (OSError, ValueError) as exc:
                return fail(str(exc), ExitCode.INPUT)
            print(
                f"{result.items} questions: VQA accuracy {result.vqa_accuracy:.1%}, "
                f"exact match {result.exact_match:.1%}"
            )
            payload = {
                "vqa_accuracy": result.vqa_accuracy,
                "exact_match": result.exact_match,
                "rows": result.rows,
            }
        else:
            from app.evaluation.context import evaluate_context

            try:
                ctx = evaluate_context(ask, memory=options.memory)
            except ValueError as exc:
                return fail(str(exc), ExitCode.INPUT)
            memory = "on" if options.memory else "off"
            print(
                f"context understanding: {ctx.score:.0f}% "
                f"({ctx.correct} of {ctx.total} follow-ups; scene log {memory})"
            )
            payload = {"score": ctx.score, "rows": ctx.rows}
    except BackendError as exc:
        return fail_backend(exc)
    finally:
        engine.shutdown()
    if options.json_out:
        write_text_atomic(options.json_out, json.dumps(payload, indent=2, default=str))
    return ExitCode.OK
