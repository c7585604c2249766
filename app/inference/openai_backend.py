"""A remote backend: any OpenAI-compatible server answers instead of a local model.

Another SmolSight, vLLM, llama.cpp's server, Ollama or mlx_vlm.server all work.

Frames travel as JPEG data URIs; clips get the same wording as the local prompt builder
("Frame from MM:SS:" before each image). Answers stream over server-sent events; cancelling
closes the connection, which a well-behaved server (ours does) takes as a cancel. A server
that answers with one JSON completion instead is read as one; a body that is neither is an
error, never an empty answer. A busy server (HTTP 429 or 503) is asked again after the wait
its `Retry-After` names (`busy_wait`), a few times, cancellable.
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from app.capture.frames import Frame, spread

if TYPE_CHECKING:
    import httpx
from app.config import EngineSettings
from app.inference.backend import BackendError
from app.inference.chat_format import MEDIA_OUTRO, frame_stamp, video_intro
from app.inference.generation import StatsClock
from app.inference.images import prepare_image, remote_limit
from app.inference.types import (
    BackendInfo,
    CancelToken,
    FinishReason,
    GenerationChunk,
    GenerationRequest,
    LoadProgressCallback,
)

log = logging.getLogger(__name__)


def _data_uri(frame: Frame, split: bool) -> str:
    import io

    buffer = io.BytesIO()
    prepare_image(frame, remote_limit(split=split)).save(buffer, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


JSONObject = dict[str, object]


def to_messages(request: GenerationRequest) -> list[JSONObject]:
    """OpenAI chat messages for `request` (system, history, then the user turn with images).

    Words SmolSight means as one run of text go as one text part: servers join separate parts
    their own way (llama.cpp puts a newline between them), and every engine must read the same
    words as the local prompt builder writes.
    """
    messages: list[JSONObject] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages += [{"role": t.role, "content": t.text} for t in request.history]
    pieces: list[str | Frame] = []  # text and pictures in order; adjacent texts become one part
    if request.is_video:
        pieces.append(video_intro([f.timestamp for f in request.frames]))
        for frame in request.frames:
            pieces += [frame_stamp(frame.timestamp), frame]
        pieces.append(MEDIA_OUTRO)
    else:
        pieces += list(request.frames)
    pieces.append(request.prompt)
    parts: list[JSONObject] = []
    for piece in pieces:
        if isinstance(piece, Frame):
            parts.append({"type": "image_url", "image_url": {"url": _data_uri(piece, request.split_images)}})
        elif parts and parts[-1]["type"] == "text":
            parts[-1]["text"] = str(parts[-1]["text"]) + piece
        else:
            parts.append({"type": "text", "text": piece})
    messages.append({"role": "user", "content": parts})
    return messages


# How servers say a request is longer than their context: llama.cpp, OpenAI (and ours), vLLM.
CONTEXT_REFUSALS = ("exceeds the available context size", "context_length_exceeded", "maximum context length")


def too_long_for_context(status: int, body: str) -> bool:
    """Whether an error response says the request did not fit the server's context."""
    return status == 400 and any(words in body for words in CONTEXT_REFUSALS)


BUSY = (429, 503)  # "too many requests", "unavailable": come back later
TRIES = 5  # asks of a busy server before saying it is busy
LONGEST_WAIT_S = 30.0  # a server asking for longer than this is said to be busy at once


def busy_wait(retry_after: str | None, tries_so_far: int) -> float:
    """Seconds to wait before asking a busy server again.

    `Retry-After` in seconds or as an HTTP date, as the server says; without it 1, 2, 4… s.
    """
    if retry_after:
        text = retry_after.strip()
        if text.isdigit():
            return float(text)
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - time.time())
    return float(2 ** (tries_so_far - 1))


_VERSIONED = re.compile(r"/v\d+$")


def api_root(base_url: str) -> str:
    """Where a server's OpenAI-style API lives.

    A URL ending in a version (`/v1`, `/v3`) is that root as it is; anything else (the server's
    root, a path prefix such as KServe's `/openai`) gets `/v1` added.
    """
    url = base_url.rstrip("/")
    return url if _VERSIONED.search(url) else f"{url}/v1"


class OpenAIBackend:
    """Streams answers from an OpenAI-compatible `…/chat/completions` (`/v1`, `/openai/v1`, `/v3`)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        model: str | None = None,
        timeout_s: float | None = None,
        client_factory: Callable[[], httpx.Client] | None = None,
    ) -> None:
        """Connect to `base_url`, the server's API root or the server itself (`api_root`).

        No `timeout_s`: the settings' default.
        """
        self.base_url = api_root(base_url)
        self.api_key = api_key
        self.model = model
        self.timeout_s = timeout_s if timeout_s is not None else EngineSettings().timeout_s
        self._client_factory = client_factory
        self._client: Any = None
        self._clip_frames: int | None = None  # the most clip frames the server's context took

    @property
    def info(self) -> BackendInfo:
        """Remote model and where it is served."""
        return BackendInfo("openai", self.model or "?", self.base_url, "remote")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        """Check the server answers and learn its model name if none was given."""
        import httpx

        self._client = (
            self._client_factory() if self._client_factory else httpx.Client(timeout=self.timeout_s)
        )
        problem = None
        try:
            response = self._client.get(f"{self.base_url}/models", headers=self._headers())
            if response.status_code == 401:
                problem = f"The server at {self.base_url} refused the API key (HTTP 401)."
            elif response.status_code != 200:
                problem = f"The server at {self.base_url} answered HTTP {response.status_code} to /models."
        except httpx.HTTPError as exc:
            problem = f"The server at {self.base_url} can't be reached ({type(exc).__name__})."
        if problem:
            self.close()  # no half-open connection pool left behind
            raise BackendError(problem)
        if self.model is None:
            data = response.json().get("data") or [{}]
            self.model = data[0].get("id")

    def warm_up(self) -> None:
        """Nothing to warm: the server keeps its own model ready."""

    def stream(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[GenerationChunk]:
        """Post the request with `stream: true` and yield the deltas.

        A clip the server refuses as too long for its context goes again with half the frames
        (spread over the clip), until it fits; later clips start from what fitted, and the
        final chunk's `note` says so once.
        """
        import httpx

        if self._client is None:
            raise BackendError("The remote backend is not connected yet.")
        clock = StatsClock()
        clock.preprocessed(0)
        frames = request.frames
        if request.is_video and self._clip_frames is not None:
            frames = spread(frames, self._clip_frames)  # what the server's context took before
        note = ""
        finish: FinishReason = "stop"
        usage: dict[str, int] = {}
        tries = 0
        try:
            while True:
                tries += 1
                with self._client.stream(
                    "POST",
                    f"{self.base_url}/chat/completions",
                    json=self._body(replace(request, frames=frames)),
                    headers=self._headers(),
                ) as response:
                    if response.status_code == 200:
                        for item in self._read(response, clock, cancel):
                            if isinstance(item, GenerationChunk):
                                yield item
                            else:
                                finish, usage = item
                        break
                    response.read()
                    if response.status_code in BUSY:
                        wait = self._busy(response, tries)
                        if cancel.wait(wait) if cancel is not None else _sleep(wait):
                            finish = "cancelled"
                            break
                        continue
                    if request.is_video and len(frames) > 1 and too_long_for_context(400, response.text):
                        fewer = len(frames) // 2
                        note = (
                            f"The server's context is too small for clips of {len(frames)} frames; "
                            f"SmolSight sends it {fewer} per clip."
                        )
                        log.info("%s (%s)", note, _error_text(response))
                        frames = spread(frames, fewer)
                        self._clip_frames = fewer
                        continue
                    raise BackendError(_error_text(response))
        except httpx.HTTPError as exc:
            raise BackendError(f"The connection to {self.base_url} failed ({type(exc).__name__}).") from exc
        if usage:
            clock.prompt_tokens = int(usage.get("prompt_tokens", 0))
            clock.generated = int(usage.get("completion_tokens", clock.generated))
        yield GenerationChunk("", replace(clock.stats(finish=finish), note=note))

    def _busy(self, response: Any, tries: int) -> float:
        """How long to wait before asking a busy server again; BackendError when not again."""
        status = response.status_code
        asked = response.headers.get("Retry-After")
        wait = busy_wait(asked, tries)
        if wait > LONGEST_WAIT_S:
            raise BackendError(
                f"The server at {self.base_url} is busy (HTTP {status}) and asks to wait {wait:.0f} s; "
                "try again later."
            )
        if tries >= TRIES:
            raise BackendError(
                f"The server at {self.base_url} is still busy (HTTP {status}): asked {tries} times; "
                "try again later."
            )
        log.info("%s busy (HTTP %s); asking again in %.1f s", self.base_url, status, wait)
        return wait

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": to_messages(request),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.stop:
            body["stop"] = list(request.stop)
        return body

    @staticmethod
    def _read(
        response: Any, clock: StatsClock, cancel: CancelToken | None
    ) -> Iterator[GenerationChunk | tuple[FinishReason, dict[str, int]]]:
        """The streamed answer's chunks, then (finish reason, usage).

        A plain JSON completion (a server or proxy that does not stream) is read as one chunk;
        a body with neither events nor a completion in it is a BackendError.
        """
        finish: FinishReason = "stop"
        usage: dict[str, int] = {}
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            yield from _completion(response, clock)
            return
        events = 0
        for line in response.iter_lines():
            if cancel is not None and cancel.cancelled:
                finish = "cancelled"
                break  # leaving the block closes the connection: the server stops
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            events += 1
            if data == "[DONE]":
                break
            try:
                event = json.loads(data)
            except ValueError as exc:
                raise BackendError(f"The server's answer could not be read: {data[:80]!r}") from exc
            if "error" in event:
                raise BackendError(f"The server failed: {event['error'].get('message')}")
            usage = event.get("usage") or usage
            for choice in event.get("choices", []):
                text = (choice.get("delta") or {}).get("content") or ""
                if text:
                    clock.token()
                    yield GenerationChunk(text, clock.stats())
                if choice.get("finish_reason"):
                    finish = "length" if choice["finish_reason"] == "length" else "stop"
        if not events and finish != "cancelled":
            raise BackendError(f"The server's answer could not be read ({kind or 'no content type'}).")
        yield finish, usage

    def close(self) -> None:
        """Close the HTTP connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None


def _completion(
    response: Any, clock: StatsClock
) -> Iterator[GenerationChunk | tuple[FinishReason, dict[str, int]]]:
    """One chat.completion object read whole: its text, then (finish reason, usage)."""
    response.read()
    try:
        data = response.json()
        if "error" in data:
            raise BackendError(f"The server failed: {data['error'].get('message')}")
        choice = data["choices"][0]
        text = str(choice["message"].get("content") or "")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise BackendError(f"The server's answer could not be read: {response.text[:80]!r}") from exc
    if text:
        clock.token()
        yield GenerationChunk(text, clock.stats())
    finish: FinishReason = "length" if choice.get("finish_reason") == "length" else "stop"
    yield finish, data.get("usage") or {}


def _sleep(seconds: float) -> bool:
    """time.sleep for callers without a cancel token; never cancelled."""
    time.sleep(seconds)
    return False


def _error_text(response: Any) -> str:
    try:
        message = response.json()["error"]["message"]
    except Exception:
        message = response.text[:200]
    return f"The server answered HTTP {response.status_code}: {message}"
