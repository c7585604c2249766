"""The API's routes, in routers by what they serve, reading the server's state through dependencies.

- `status`: `GET /health`;
- `openai`: `GET /v1/models`, `POST /v1/chat/completions` (OpenAI-compatible);
- `settings`: `GET/PATCH /api/v1/config` (SmolSight's own).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from app.inference.model_thread import NotReady, QueueFull
from app.inference.types import GenerationChunk
from app.server.chat import (
    cancel_on_disconnect,
    completion,
    model_aliases,
    outcome,
    stream_events,
    to_generation_request,
)
from app.server.errors import ApiError
from app.server.middleware import key_of
from app.server.schema import (
    ChatCompletion,
    ChatRequest,
    ConfigPatch,
    ErrorResponse,
    Health,
    ModelCard,
    ModelList,
    ModelSwitchState,
    ServerConfig,
)
from app.server.state import ApiPolicy, ServedModel


def served_model(request: Request) -> ServedModel:
    """The model this app serves (set by `create_app`)."""
    served: ServedModel = request.app.state.served
    return served


def api_policy(request: Request) -> ApiPolicy:
    """How this app behaves (set by `create_app`; `PATCH /api/v1/config` changes the defaults)."""
    options: ApiPolicy = request.app.state.options
    return options


def client_of(request: Request, opts: ApiPolicy) -> str:
    """Who asks, for taking turns: their key when the server gives out several, else their address."""
    if len(opts.client_keys) > 1:
        key = key_of({k.lower(): v for k, v in request.headers.items()}, opts.client_keys)
        if key is not None:
            return "key " + hashlib.sha256(key.encode()).hexdigest()[:16]
    return request.client.host if request.client else ""


Served = Annotated[ServedModel, Depends(served_model)]
Policy = Annotated[ApiPolicy, Depends(api_policy)]


def _error(description: str) -> dict[str, object]:
    return {"model": ErrorResponse, "description": description}


# Every error is `ErrorResponse` ("default"; FastAPI's 422 is never sent: a bad body is a 400).
ERRORS: dict[int | str, dict[str, object]] = {
    "default": _error("An error, in OpenAI's shape"),
    400: _error("The request is malformed (the message names the field)"),
}
KEYED: dict[int | str, dict[str, object]] = {
    401: _error("The server wants 'Authorization: Bearer KEY' (smolsight serve --api-key)"),
    403: _error("The Host header names another site, or (PATCH) the key is not the administrator's"),
    413: _error("The request body is too large"),
}

# One event of a streamed answer (OpenAPI 3.1 describes a text/event-stream by its events).
STREAM_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "description": "a chat.completion.chunk object as JSON (an error object if the model fails "
            "midway), or [DONE] at the end",
        },
        "event": {"type": "string", "enum": ["message"]},
    },
}

status = APIRouter(tags=["status"], responses=ERRORS)
openai = APIRouter(prefix="/v1", tags=["OpenAI-compatible"], responses={**ERRORS, **KEYED})
settings = APIRouter(prefix="/api/v1", tags=["SmolSight"], responses={**ERRORS, **KEYED})


@status.get(
    "/health",
    response_model=Health,
    summary="Server and model status: 200 when ready, 503 while loading or after a failed load",
    responses={
        503: {"model": Health, "description": "The model is loading (status 'loading') or failed ('error')"}
    },
)
async def health(served: Served) -> JSONResponse:
    """Where the model is, what it runs on, and how many requests wait."""
    model_thread = served.model_thread
    state = model_thread.model_state
    info = state.info
    body = Health(
        status=state.health,
        model=served.model_id,
        backend=info.backend if info else None,
        device=info.device if info else None,
        dtype=info.dtype if info else None,
        note=info.note if info and info.note else None,
        uptime_s=round(time.time() - served.started_at, 1),
        queued=model_thread.waiting,
        error=None if state.ready or state.health == "loading" else served.public(state.not_ready_reason()),
        switch=_switch(served),
    )
    return JSONResponse(body.model_dump(), status_code=200 if state.ready else 503)


@openai.get("/models", response_model=ModelList, summary="The served model")
async def models(served: Served) -> ModelList:
    """The one model this server serves."""
    card = ModelCard(id=served.model_id, object="model", created=int(served.started_at), owned_by="smolsight")
    return ModelList(object="list", data=[card])


@openai.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="Chat completion with images (OpenAI-compatible)",
    responses={
        200: {
            "description": "The answer; with `stream`, server-sent events of chat.completion.chunk objects "
            "(OpenAI's), then `data: [DONE]`",
            "content": {"text/event-stream": {"schema": STREAM_EVENT}},
        },
        404: _error("The request names a model this server does not serve"),
        429: _error("Every queue slot is taken; retry after the Retry-After header's seconds"),
        503: _error("The model is not ready"),
    },
)
async def chat(
    body: ChatRequest, request: Request, served: Served, opts: Policy
) -> ChatCompletion | StreamingResponse:
    """Answer the conversation's last user message, with every image in it."""
    named = served.serving(body.model or None, model_aliases)  # the model that answers, pinned now
    generation = await asyncio.to_thread(to_generation_request, body, opts)
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[GenerationChunk | None] = asyncio.Queue()

    def deliver(item: GenerationChunk | None) -> None:
        loop.call_soon_threadsafe(chunks.put_nowait, item)  # from the model thread

    try:
        job = served.submit(
            generation,
            on_chunk=deliver if body.stream else None,
            client=client_of(request, opts),  # clients take turns
            model_thread=named,
        )
    except QueueFull:
        raise ApiError(
            429, "The server is busy: every queue slot is taken. Retry shortly.", code="rate_limit_exceeded"
        ) from None
    except NotReady as exc:
        raise ApiError(503, served.public(f"The model is not ready: {exc}"), code="model_not_ready") from None
    job.add_done_callback(lambda: deliver(None))
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    watcher = asyncio.create_task(cancel_on_disconnect(request, job))
    try:
        # Streaming: the headers go out with the first chunk, so a request the model refuses (too
        # long for its context) is an HTTP 400 like OpenAI's, not a broken stream.
        first = await chunks.get()  # without streaming, None: the job is done
    finally:
        watcher.cancel()
    if not body.stream:
        return completion(outcome(job), completion_id, served.model_id)
    if first is None:
        outcome(job)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return StreamingResponse(
        stream_events(request, job, first, chunks, completion_id, served.model_id, include_usage),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@settings.get("/config", response_model=ServerConfig, summary="Active model and generation defaults")
async def get_config(served: Served, opts: Policy) -> ServerConfig:
    """The active model, its status, and the defaults a request without its own values gets."""
    return _config(served, opts)


@settings.patch(
    "/config", response_model=ServerConfig, summary="Switch the active model or change generation defaults"
)
async def patch_config(patch: ConfigPatch, request: Request, served: Served, opts: Policy) -> ServerConfig:
    """Change the defaults; a new `active_model` loads in the background (/health says loading).

    On a server with client keys this is the administrator's: only `--admin-key` may, and only to
    the models `--models` lists. Without keys (this machine only, by default) the user is the
    administrator.
    """
    if opts.client_keys:
        _check_administrator(request, opts)
        if patch.active_model is not None and not served.offers(patch.active_model, opts.offered_models):
            listed = ", ".join(opts.offered_models) or "none"
            raise ApiError(
                403,
                f"'{patch.active_model}' is not among the models this server offers ({listed}); "
                "its operator lists them with --models",
                code="model_not_offered",
                param="active_model",
            )
    if patch.max_tokens is not None:
        opts.max_tokens = patch.max_tokens
    if patch.temperature is not None:
        opts.temperature = patch.temperature
    if patch.top_p is not None:
        opts.top_p = patch.top_p
    if patch.active_model is not None:
        served.switch(patch.active_model)  # the model in use: nothing to load (a pending load is called off)
    return _config(served, opts)


def _check_administrator(request: Request, opts: ApiPolicy) -> None:
    """403 unless the request carries the administrator's key (client keys can't change the server)."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    if opts.admin_key is None or key_of(headers, (opts.admin_key,)) is None:
        how = "the administrator's key" if opts.admin_key else "an administrator's key (--admin-key)"
        raise ApiError(
            403,
            f"Changing the server's model or defaults needs {how}; client keys can only ask",
            code="admin_only",
        )


def _config(served: ServedModel, opts: ApiPolicy) -> ServerConfig:
    return ServerConfig(
        active_model=served.model_id,
        status=served.model_thread.model_state.health,
        max_tokens=opts.max_tokens,
        temperature=opts.temperature,
        top_p=opts.top_p,
        switch=_switch(served),
    )


def _switch(served: ServedModel) -> ModelSwitchState | None:
    switching = served.switching
    if switching is None:
        return None
    return ModelSwitchState(model=switching.model, status=switching.status, detail=switching.detail)
