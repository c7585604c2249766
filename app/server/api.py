"""An OpenAI-compatible HTTP API over SmolSight's engine (FastAPI).

Endpoints: `GET /health`, `GET /v1/models`, `POST /v1/chat/completions` (with SSE streaming),
`GET/PATCH /api/v1/config`. Every error is answered in OpenAI's error shape; the server
never dies on a bad request.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import __version__
from app.capture.frames import MAX_FRAMES, Frame
from app.inference.backend import BackendError, ContextTooLong
from app.inference.engine import Answer, BackendFactory, Engine, JobHandle, NotReady, QueueFull
from app.inference.model_files import DEFAULT_MODELS
from app.inference.types import (
    MAX_PROMPT_CHARS,
    ChatTurn,
    GenerationChunk,
    GenerationRequest,
    PromptTooLong,
)
from app.server.errors import ApiError, validation_error
from app.server.images import ImageLimits, load_image_url


@dataclass
class ServedModel:
    """The engine the server answers with, the model name it reports, and how to switch models."""

    engine: Engine
    name: str | None = None  # None: whatever the engine loaded (or the default model)
    factory_for: Callable[[str | None], BackendFactory] | None = None  # model name → backend factory
    started_at: float = field(default_factory=time.time)

    def switch(self, model: str) -> None:
        """Load `model` in the background (after the running request); /health says loading."""
        if self.factory_for is None:
            raise ApiError(
                400, "This server can't switch models", code="invalid_request", param="active_model"
            )
        self.name = model
        self.engine.reload(self.factory_for(model))


@dataclass
class ServerOptions:
    """How the server behaves; `smolsight serve` fills this from flags."""

    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 50 * 1024 * 1024
    # A body over the limit is still read (and thrown away) up to this much, so the client,
    # which sends it all before reading, gets the 413 rather than a reset connection.
    max_drain_bytes: int = 512 * 1024 * 1024
    max_context_tokens: int | None = None  # a lower limit than the model's context, if any
    images: ImageLimits = field(default_factory=ImageLimits)
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    retry_after_s: int = 2


# ------------------------------------------------------------------------------------ schema
class ImageURL(BaseModel):
    """`{"url": ...}` of an image part."""

    url: str
    detail: str | None = None


class TextPart(BaseModel):
    """A text part of a message."""

    type: Literal["text"]
    text: str


class ImagePart(BaseModel):
    """An image part of a message."""

    type: Literal["image_url"]
    image_url: ImageURL | str


Part = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ChatMessage(BaseModel):
    """One message of the conversation."""

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[Part] | None = None
    name: str | None = None


class StreamOptions(BaseModel):
    """OpenAI's `stream_options`."""

    include_usage: bool = False


class ChatRequest(BaseModel):
    """The body of `POST /v1/chat/completions` (unknown fields are ignored, as OpenAI does)."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1, le=4096)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=4096)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=1)


class ConfigPatch(BaseModel):
    """The body of `PATCH /api/v1/config`: the active model and generation defaults."""

    model_config = ConfigDict(extra="forbid")

    active_model: str | None = Field(default=None, min_length=1)
    max_tokens: int | None = Field(default=None, ge=1, le=4096)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)


# ----------------------------------------------------------------------------- middleware
class LimitsAndAuth:
    """Plain ASGI middleware: body size limit (413) and bearer-key check (401)."""

    def __init__(self, app: ASGIApp, options: ServerOptions) -> None:
        self.app = app
        self.options = options

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the key and the body size, then pass the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        key = self.options.api_key
        if key and path.startswith(("/v1/", "/api/")) and headers.get("authorization", "") != f"Bearer {key}":
            await _send_error(
                send,
                ApiError(401, "Missing or wrong API key (Authorization: Bearer …)", code="invalid_api_key"),
            )
            return
        limit = self.options.max_body_bytes
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            await _discard_body(receive, self.options.max_drain_bytes)
            await _send_error(send, ApiError(413, _too_large_message(limit), code="request_too_large"))
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                if message.get("more_body", False):
                    await _discard_body(receive, self.options.max_drain_bytes - seen)
                # An HTTPException passes through FastAPI's body parsing untouched (any other
                # exception becomes a 400 "error parsing the body"); the app answers it as a 413.
                raise StarletteHTTPException(413, _too_large_message(limit))
            return message

        await self.app(scope, limited, send)


def _too_large_message(limit: int) -> str:
    return f"Request body is larger than {limit} bytes"


async def _discard_body(receive: Receive, budget: int) -> None:
    """Read and discard the rest of a request body (at most `budget` bytes)."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _send_error(send: Send, error: ApiError) -> None:
    body = json.dumps(error.body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


# ------------------------------------------------------------------------------------ app
def create_app(served: ServedModel, options: ServerOptions | None = None) -> FastAPI:
    """The FastAPI application answering with `served.engine` (a bounded-FIFO engine)."""
    opts = options or ServerOptions()
    # The docs page's scripts are served from the package itself: the API docs work offline.
    app = FastAPIOffline(
        title="SmolSight",
        version=__version__,
        description="OpenAI-compatible chat completions with images, served by SmolSight's SmolVLM2 engine.",
    )
    engine = served.engine
    app.state.served = served
    app.state.options = opts
    if opts.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(opts.cors_origins),
            allow_methods=["GET", "POST", "PATCH", "OPTIONS"],
            allow_headers=["*"],
        )
    app.add_middleware(LimitsAndAuth, options=opts)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        headers = {"Retry-After": str(opts.retry_after_s)} if exc.status in (429, 503) else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_error(exc.errors()).body(), status_code=400)

    @app.exception_handler(ValidationError)
    async def _invalid_body(_request: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse(validation_error(exc.errors()).body(), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(
            ApiError(exc.status_code, str(exc.detail), code=code).body(), status_code=exc.status_code
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        error = ApiError(500, f"Internal error: {type(exc).__name__}", code="internal_error")
        return JSONResponse(error.body(), status_code=500)

    @app.get(
        "/health",
        summary="Server and model status: 200 when ready, 503 while loading or after a failed load",
        responses={
            503: {"description": "The model is loading (status 'loading') or failed (status 'error')"}
        },
    )
    async def health() -> JSONResponse:
        state = engine.model_state
        info = state.info
        body = {
            "status": state.health,
            "model": served.name or (info.model if info else None),
            "backend": info.backend if info else None,
            "device": info.device if info else None,
            "dtype": info.dtype if info else None,
            "note": info.note if info and info.note else None,
            "uptime_s": round(time.time() - served.started_at, 1),
            "queued": engine.waiting,
            "error": None if state.ready or state.health == "loading" else state.not_ready_reason(),
        }
        return JSONResponse(body, status_code=200 if state.ready else 503)

    @app.get("/v1/models", summary="The served model")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {
                    "id": _model_id(served),
                    "object": "model",
                    "created": int(served.started_at),
                    "owned_by": "smolsight",
                }
            ],
        }

    @app.get("/api/v1/config", summary="Active model and generation defaults")
    async def get_config() -> dict[str, Any]:
        return _config(served, opts)

    @app.patch("/api/v1/config", summary="Switch the active model or change generation defaults")
    async def patch_config(patch: ConfigPatch) -> dict[str, Any]:
        if patch.max_tokens is not None:
            opts.max_tokens = patch.max_tokens
        if patch.temperature is not None:
            opts.temperature = patch.temperature
        if patch.top_p is not None:
            opts.top_p = patch.top_p
        if patch.active_model is not None and patch.active_model != served.name:
            served.switch(patch.active_model)  # /health says "loading" until it is ready
        return _config(served, opts)

    @app.post("/v1/chat/completions", summary="Chat completion with images (OpenAI-compatible)")
    async def chat(body: ChatRequest, request: Request) -> Any:
        if body.model and not _known_model(served, body.model):
            raise ApiError(
                404,
                f"The model '{body.model}' does not exist; this server serves '{_model_id(served)}'",
                code="model_not_found",
                param="model",
            )
        gen = await asyncio.to_thread(_to_generation_request, body, opts)
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[GenerationChunk | None] = asyncio.Queue()

        def deliver(item: GenerationChunk | None) -> None:
            loop.call_soon_threadsafe(chunks.put_nowait, item)  # from the model thread

        try:
            job = engine.submit(gen, on_chunk=deliver if body.stream else None)
        except QueueFull:
            raise ApiError(
                429,
                "The server is busy: every queue slot is taken. Retry shortly.",
                code="rate_limit_exceeded",
            ) from None
        except NotReady as exc:
            raise ApiError(503, f"The model is not ready: {exc}", code="model_not_ready") from None
        job.add_done_callback(lambda: deliver(None))
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        model = _model_id(served)
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            # Headers go out with the first chunk, so a request the model refuses (too long for its
            # context) is an HTTP 400 like OpenAI's, not a broken stream.
            watcher = asyncio.create_task(_cancel_on_disconnect(request, job))
            try:
                first = await chunks.get()
            finally:
                watcher.cancel()
            if first is None:
                _outcome(job)
            return StreamingResponse(
                _sse(request, job, first, chunks, completion_id, model, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        watcher = asyncio.create_task(_cancel_on_disconnect(request, job))
        try:
            await chunks.get()  # the job is done
        finally:
            watcher.cancel()
        answer = _outcome(job)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.text},
                    "finish_reason": _finish(answer.stats.finish_reason),
                }
            ],
            "usage": _usage(answer.stats),
            "smolsight_timings": _timings(answer.stats),
        }

    return app


# --------------------------------------------------------------------------------- helpers
def _model_id(served: ServedModel) -> str:
    info = served.engine.info
    return served.name or (info.model if info else None) or DEFAULT_MODELS["transformers"]


def _known_model(served: ServedModel, name: str) -> bool:
    model = _model_id(served)
    aliases = {model, Path(model).name, "default", "smolsight", *DEFAULT_MODELS.values()}
    aliases |= {Path(v).name for v in DEFAULT_MODELS.values()}
    return name in aliases


def _config(served: ServedModel, opts: ServerOptions) -> dict[str, Any]:
    return {
        "active_model": _model_id(served),
        "status": served.engine.model_state.health,
        "max_tokens": opts.max_tokens,
        "temperature": opts.temperature,
        "top_p": opts.top_p,
    }


def _text_of(content: str | list[Any] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.text for p in content if isinstance(p, TextPart))


def _to_generation_request(body: ChatRequest, opts: ServerOptions) -> GenerationRequest:
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
    frames: list[Frame] = []
    earlier: set[str] = set()  # images of the messages before this one
    for i, message in enumerate(body.messages):
        if isinstance(message.content, list):
            here: set[str] = set()
            for j, part in enumerate(message.content):
                if isinstance(part, ImagePart):
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
                    image = load_image_url(url, opts.images, f"messages[{i}].content[{j}].image_url")
                    frames.append(Frame(image, float(len(frames))))
            earlier |= here
    history = tuple(ChatTurn(m.role, _text_of(m.content)) for m in turns[:-1])  # type: ignore[arg-type]
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    if len(stop) > 4:
        raise ApiError(400, "At most 4 stop sequences", code="invalid_request", param="stop")
    return GenerationRequest(
        prompt=_text_of(turns[-1].content),
        frames=tuple(frames),
        history=history,
        system=system or None,
        max_tokens=body.max_completion_tokens or body.max_tokens or opts.max_tokens,
        temperature=opts.temperature if body.temperature is None else body.temperature,
        top_p=opts.top_p if body.top_p is None else body.top_p,
        stop=stop,
        max_context_tokens=opts.max_context_tokens,
    )


def _outcome(job: JobHandle[Answer]) -> Answer:
    """The finished job's description, or the ApiError its failure maps to."""
    try:
        return job.result(timeout=0)
    except ContextTooLong as exc:
        raise ApiError(400, str(exc), code="context_length_exceeded", param="messages") from None
    except NotReady as exc:
        raise ApiError(503, f"The model is not ready: {exc}", code="model_not_ready") from None
    except BackendError as exc:
        raise ApiError(500, f"The model failed on this request: {exc}", code="generation_failed") from None


async def _cancel_on_disconnect(request: Request, job: JobHandle[Answer]) -> None:
    while True:
        if await request.is_disconnected():
            job.cancel()
            return
        await asyncio.sleep(0.2)


def _finish(reason: str | None) -> str:
    return "length" if reason == "length" else "stop"


def _usage(stats: Any) -> dict[str, int]:
    prompt = stats.prompt_tokens if stats else 0
    completion = stats.generated_tokens if stats else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _timings(stats: Any) -> dict[str, Any]:
    if stats is None:
        return {}
    return {
        "preprocess_s": stats.preprocess_s,
        "time_to_first_token_s": stats.time_to_first_token_s,
        "prefill_tokens_per_s": stats.prefill_tokens_per_s,
        "decode_tokens_per_s": stats.decode_tokens_per_s,
        "total_s": stats.total_s,
    }


async def _sse(
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

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(payload)}\n\n"

    watcher = asyncio.create_task(_cancel_on_disconnect(request, job))
    try:
        yield event({"role": "assistant", "content": ""})
        stats = None
        item = first
        while item is not None:
            stats = item.stats
            if item.text:  # as the engine made it: clean, never starting with white space
                yield event({"content": item.text})
            item = await chunks.get()
        try:
            _outcome(job)
        except ApiError as error:
            yield f"data: {json.dumps(error.body())}\n\n"
        yield event({}, _finish(stats.finish_reason if stats else None), smolsight_timings=_timings(stats))
        if include_usage:
            usage = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": _usage(stats),
            }
            yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"
    finally:
        job.cancel()  # a client that went away stops its generation
        watcher.cancel()
