"""What the HTTP API accepts and answers, as pydantic models (OpenAI's shapes, and SmolSight's own).

The request models ignore unknown fields where OpenAI does; the response models are what the
routes return and what the OpenAPI document describes, so clients (and the schema fuzz test)
can check every body against it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

FinishReason = Literal["stop", "length"]


def _whole_characters(text: str) -> str:
    r"""Refuse a lone UTF-16 surrogate (JSON's "\ud800"): it is no character, and nothing can encode it."""
    if any("\ud800" <= c <= "\udfff" for c in text):
        raise ValueError("holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not a character")
    return text


def _not_a_boolean(value: object) -> object:
    """A number field given true or false is refused (pydantic would read it as 1 or 0)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


Text = Annotated[str, AfterValidator(_whole_characters)]  # every string a request carries
Number = Annotated[float, BeforeValidator(_not_a_boolean)]  # 1 and 1.0 alike, never true


# ------------------------------------------------------------------------------- requests
class ImageURL(BaseModel):
    """`{"url": ...}` of an image part."""

    url: Text
    detail: Text | None = None


class TextPart(BaseModel):
    """A text part of a message."""

    type: Literal["text"]
    text: Text


class ImagePart(BaseModel):
    """An image part of a message."""

    type: Literal["image_url"]
    image_url: ImageURL | Text


Part = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ChatMessage(BaseModel):
    """One message of the conversation."""

    role: Literal["system", "developer", "user", "assistant"]
    content: Text | list[Part] | None = None
    name: Text | None = None


class StreamOptions(BaseModel):
    """OpenAI's `stream_options`."""

    include_usage: StrictBool = False


class ChatRequest(BaseModel):
    """The body of `POST /v1/chat/completions` (unknown fields are ignored, as OpenAI does)."""

    model_config = ConfigDict(extra="allow")

    model: Text | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: StrictInt | None = Field(default=None, ge=1, le=4096)
    max_completion_tokens: StrictInt | None = Field(default=None, ge=1, le=4096)
    temperature: Number | None = Field(default=None, ge=0.0, le=2.0)
    top_p: Number | None = Field(default=None, gt=0.0, le=1.0)
    stop: Text | list[Text] | None = None
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    n: StrictInt = Field(default=1, ge=1, le=1)


class ConfigPatch(BaseModel):
    """The body of `PATCH /api/v1/config`: the active model and generation defaults."""

    model_config = ConfigDict(extra="forbid")

    active_model: Text | None = Field(default=None, min_length=1)
    max_tokens: StrictInt | None = Field(default=None, ge=1, le=4096)
    temperature: Number | None = Field(default=None, ge=0.0, le=2.0)
    top_p: Number | None = Field(default=None, gt=0.0, le=1.0)


# ------------------------------------------------------------------------------ responses
class Usage(BaseModel):
    """Tokens read and written for one completion."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Timings(BaseModel):
    """SmolSight's own figures for one completion (seconds, tokens per second)."""

    preprocess_s: float | None = None
    time_to_first_token_s: float | None = None
    prefill_tokens_per_s: float | None = None
    decode_tokens_per_s: float | None = None
    total_s: float | None = None


class AssistantMessage(BaseModel):
    """The answer."""

    role: Literal["assistant"]
    content: str


class Choice(BaseModel):
    """The one choice of a completion (`n` is always 1)."""

    index: int
    message: AssistantMessage
    finish_reason: FinishReason


class ChatCompletion(BaseModel):
    """The answer to `POST /v1/chat/completions` without `stream`."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    smolsight_timings: Timings


class Delta(BaseModel):
    """What one streamed chunk adds (the first names the role; the last adds nothing)."""

    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    """The one choice of a streamed chunk."""

    index: int
    delta: Delta
    finish_reason: FinishReason | None


class ChatCompletionChunk(BaseModel):
    """One server-sent event of a streamed completion (`data: {...}`), before `data: [DONE]`.

    The last content chunk has `finish_reason` and `smolsight_timings`; with
    `stream_options.include_usage`, one more chunk with no choices carries `usage`.
    """

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    smolsight_timings: Timings | None = None

    def event(self) -> str:
        """The chunk as a server-sent event, without the fields it does not set."""
        return f"data: {self.model_dump_json(exclude_unset=True)}\n\n"


class ModelCard(BaseModel):
    """The served model."""

    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    """The answer to `GET /v1/models`: the one model this server serves."""

    object: Literal["list"]
    data: list[ModelCard]


class ModelSwitchState(BaseModel):
    """A model switch under way (the model in use answers meanwhile), or the last one, which failed."""

    model: str = Field(description="the model switched to, by its public name")
    status: Literal["loading", "error"]
    detail: str | None = Field(description="how far loading is, or why the switch failed")


class Health(BaseModel):
    """The answer to `GET /health`: 200 when the model is ready, 503 while loading or after a failure."""

    status: Literal["ready", "loading", "error"]
    model: str | None
    backend: str | None
    device: str | None
    dtype: str | None
    note: str | None = Field(description="why the engine is not the usual one, if it is not")
    uptime_s: float
    queued: int = Field(description="requests waiting behind the running one")
    error: str | None = Field(description="why the model is not ready, after a failed load")
    switch: ModelSwitchState | None = Field(
        default=None, description="a switch to another model: loading beside this one, or failed"
    )


class ServerConfig(BaseModel):
    """The answer to `GET` and `PATCH /api/v1/config`: the active model and generation defaults."""

    active_model: str
    status: Literal["ready", "loading", "error"]
    max_tokens: int
    temperature: float
    top_p: float
    switch: ModelSwitchState | None = Field(
        default=None, description="a switch to another model: loading beside this one, or failed"
    )


class ErrorDetail(BaseModel):
    """What went wrong, in OpenAI's words."""

    message: str
    type: Literal["invalid_request_error", "server_error"]
    param: str | None
    code: str


class ErrorResponse(BaseModel):
    """Every error, whatever the status: `{"error": {...}}`."""

    error: ErrorDetail
