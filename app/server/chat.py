"""`POST /v1/chat/completions`: OpenAI's messages onto a `GenerationRequest`, and the answer back.

The answer is one `ChatCompletion`, or a stream of `ChatCompletionChunk` server-sent events.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import Request

from app.capture.frames import Frame
from app.inference.backend import BackendError, ContextTooLong
from app.inference.model_files import DEFAULT_MODELS
from app.inference.model_thread import Answer, JobHandle, NotReady
from app.inference.types import (
    MAX_PROMPT_CHARS,
    ChatTurn,
    GenerationChunk,
    GenerationRequest,
    GenerationStats,
    PromptTooLong,
)
from app.limits import MAX_FRAMES
from app.server.errors import ApiError
from app.server.images import PixelBudget, load_image_url
from app.server.schema import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatRequest,
    Choice,
    ChunkChoice,
    Delta,
    FinishReason,
    ImagePart,
    TextPart,
    Timings,
    Usage,
)
from app.server.state import ApiPolicy


def model_aliases(model_id: str) -> set[str]:
    """The names a request's `model` may give the model in use: its id, its folder's name, generic ones."""
    aliases = {model_id, Path(model_id).name, "default", "smolsight", *DEFAULT_MODELS.values()}
    return aliases | {Path(v).name for v in DEFAULT_MODELS.values()}


def _text_of(content: str | list[Any] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.text for p in content if isinstance(p, TextPart))


def to_generation_request(body: ChatRequest, opts: ApiPolicy) -> GenerationRequest:
    """Map OpenAI messages onto our request; images anywhere become frames of the last turn.

    An image sent again in a later message (clients such as NVDA's AI Content Describer repeat
    the picture with every follow-up question) is one picture, not a clip of copies; within
    one message every image is a frame, alike or not (a still scene over time).
    """
    system = "\n".join(_text_of(m.content) for m in body.messages if m.role in ("system", "developer"))
    turns = [m for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ApiError(
            400, "The last message must come from the user", code="invalid_request", param="messages"
        )
    chars = sum(len(_text_of(m.content)) for m in body.messages)
    if chars > MAX_PROMPT_CHARS:  # before tokenizing or fetching anything: a huge body can't stall us
        raise ApiError(400, str(PromptTooLong(chars)), code="context_length_exceeded", param="messages")
    history = tuple(ChatTurn(m.role, _text_of(m.content)) for m in turns[:-1])  # type: ignore[arg-type]
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    if len(stop) > 4:
        raise ApiError(400, "At most 4 stop sequences", code="invalid_request", param="stop")
    return GenerationRequest(
        prompt=_text_of(turns[-1].content),
        frames=_frames(body, opts),
        history=history,
        system=system or None,
        max_tokens=body.max_completion_tokens or body.max_tokens or opts.max_tokens,
        temperature=opts.temperature if body.temperature is None else body.temperature,
        top_p=opts.top_p if body.top_p is None else body.top_p,
        stop=stop,
        max_context_tokens=opts.max_context_tokens,
        read_text=opts.read_text,
    )


def _frames(body: ChatRequest, opts: ApiPolicy) -> tuple[Frame, ...]:
    """The pictures of every message, each loaded once, in order (see `to_generation_request`)."""
    frames: list[Frame] = []
    earlier: set[str] = set()  # images of the messages before this one
    budget = PixelBudget(opts.images.max_request_pixels)
    for i, message in enumerate(body.messages):
        if not isinstance(message.content, list):
            continue
        here: set[str] = set()
        for j, part in enumerate(message.content):
            if not isinstance(part, ImagePart):
                continue
            url = part.image_url if isinstance(part.image_url, str) else part.image_url.url
            if url in earlier:
                continue
            here.add(url)
            if len(frames) >= MAX_FRAMES:
                raise ApiError(
                    400,
                    f"Too many images: at most {MAX_FRAMES} per request",
                    code="too_many_images",
                    param="messages",
                )
            image = load_image_url(url, opts.images, f"messages[{i}].content[{j}].image_url", budget)
            frames.append(Frame(image, float(len(frames))))
        earlier |= here
    return tuple(frames)


def outcome(job: JobHandle[Answer]) -> Answer:
    """The finished job's description, or the ApiError its failure maps to."""
    try:
        return job.result(timeout=0)
    except ContextTooLong as exc:
        raise ApiError(400, str(exc), code="context_length_exceeded", param="messages") from None
    except NotReady as exc:
        raise ApiError(503, f"The model is not ready: {exc}", code="model_not_ready") from None
    except BackendError as exc:
        raise ApiError(500, f"The model failed on this request: {exc}", code="generation_failed") from None


async def cancel_on_disconnect(request: Request, job: JobHandle[Answer]) -> None:
    """Cancel `job` when the client goes away (checked five times a second)."""
    while True:
        if await request.is_disconnected():
            job.cancel()
            return
        await asyncio.sleep(0.2)


def _finish(reason: str | None) -> FinishReason:
    return "length" if reason == "length" else "stop"


def _usage(stats: GenerationStats | None) -> Usage:
    prompt = stats.prompt_tokens if stats else 0
    completion = stats.generated_tokens if stats else 0
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _timings(stats: GenerationStats | None) -> Timings:
    if stats is None:
        return Timings()
    return Timings(
        preprocess_s=stats.preprocess_s,
        time_to_first_token_s=stats.time_to_first_token_s,
        prefill_tokens_per_s=stats.prefill_tokens_per_s,
        decode_tokens_per_s=stats.decode_tokens_per_s,
        total_s=stats.total_s,
    )


def completion(answer: Answer, completion_id: str, model: str) -> ChatCompletion:
    """The whole answer as one `ChatCompletion`."""
    return ChatCompletion(
        id=completion_id,
        object="chat.completion",
        created=int(time.time()),
        model=model,
        choices=[
            Choice(
                index=0,
                message=AssistantMessage(role="assistant", content=answer.text),
                finish_reason=_finish(answer.stats.finish_reason),
            )
        ],
        usage=_usage(answer.stats),
        smolsight_timings=_timings(answer.stats),
    )


async def stream_events(
    request: Request,
    job: JobHandle[Answer],
    first: GenerationChunk | None,
    chunks: asyncio.Queue[GenerationChunk | None],
    completion_id: str,
    model: str,
    include_usage: bool,
) -> AsyncIterator[str]:
    """OpenAI's chunk format as server-sent events, ending with `[DONE]`."""
    created = int(time.time())

    def chunk(delta: Delta, finish: FinishReason | None = None, **extra: Any) -> str:
        choice = ChunkChoice(index=0, delta=delta, finish_reason=finish)
        return ChatCompletionChunk(
            id=completion_id,
            object="chat.completion.chunk",
            created=created,
            model=model,
            choices=[choice],
            **extra,
        ).event()

    watcher = asyncio.create_task(cancel_on_disconnect(request, job))
    try:
        yield chunk(Delta(role="assistant", content=""))
        stats = None
        item = first
        while item is not None:
            stats = item.stats
            if item.text:  # as the engine made it: clean, never starting with white space
                yield chunk(Delta(content=item.text))
            item = await chunks.get()
        try:
            outcome(job)
        except ApiError as error:
            yield f"data: {json.dumps(error.body())}\n\n"
        finish = _finish(stats.finish_reason if stats else None)
        yield chunk(Delta(), finish, smolsight_timings=_timings(stats))
        if include_usage:
            yield ChatCompletionChunk(
                id=completion_id,
                object="chat.completion.chunk",
                created=created,
                model=model,
                choices=[],
                usage=_usage(stats),
            ).event()
        yield "data: [DONE]\n\n"
    finally:
        job.cancel()  # a client that went away stops its generation
        watcher.cancel()
