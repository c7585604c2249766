"""A remote backend: any OpenAI-compatible server answers instead of a local model.

Another SmolSight, vLLM, llama.cpp's server, Ollama or mlx_vlm.server all work.

Frames travel as JPEG data URIs; clips get the same wording as the local prompt builder
("Frame from MM:SS:" before each image). Answers stream over server-sent events; cancelling
closes the connection, which a well-behaved server (ours does) takes as a cancel.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from app.capture.frames import Frame

if TYPE_CHECKING:
    import httpx
from app.inference.base import BackendError, StatsClock, prepare_image
from app.inference.chat_format import MEDIA_OUTRO, frame_stamp, video_intro
from app.inference.types import (
    BackendInfo,
    CancelToken,
    FinishReason,
    GenerationChunk,
    GenerationRequest,
    LoadProgressCallback,
)


def _data_uri(frame: Frame, split: bool) -> str:
    import io

    buffer = io.BytesIO()
    prepare_image(frame, split=split).save(buffer, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


JSONObject = dict[str, object]


def to_messages(request: GenerationRequest) -> list[JSONObject]:
    """OpenAI chat messages for `request` (system, history, then the user turn with images)."""
    messages: list[JSONObject] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages += [{"role": t.role, "content": t.text} for t in request.history]
    parts: list[JSONObject] = []
    if request.is_video:
        parts.append({"type": "text", "text": video_intro([f.timestamp for f in request.frames])})
        for frame in request.frames:
            parts.append({"type": "text", "text": frame_stamp(frame.timestamp)})
            parts.append({"type": "image_url", "image_url": {"url": _data_uri(frame, request.split_images)}})
        parts.append({"type": "text", "text": MEDIA_OUTRO})
    else:
        for frame in request.frames:
            parts.append({"type": "image_url", "image_url": {"url": _data_uri(frame, request.split_images)}})
    parts.append({"type": "text", "text": request.prompt})
    messages.append({"role": "user", "content": parts})
    return messages


class OpenAIBackend:
    """Streams answers from an OpenAI-compatible `/v1/chat/completions`."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        model: str | None = None,
        timeout_s: float = 120.0,
        client_factory: Callable[[], httpx.Client] | None = None,
    ) -> None:
        """`base_url` is the server's root or its `/v1` (both work)."""
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        self.api_key = api_key
        self.model = model
        self.timeout_s = timeout_s
        self._client_factory = client_factory
        self._client: Any = None

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
            response = self._client.get(f"{self.base_url}/v1/models", headers=self._headers())
            if response.status_code == 401:
                problem = f"The server at {self.base_url} refused the API key (HTTP 401)."
            elif response.status_code != 200:
                problem = f"The server at {self.base_url} answered HTTP {response.status_code} to /v1/models."
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

    def count_prompt_tokens(self, request: GenerationRequest) -> int:
        """Unknown before asking: the server counts (reported in each answer's stats)."""
        return 0

    def stream(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[GenerationChunk]:
        """Post the request with `stream: true` and yield the deltas."""
        import httpx

        if self._client is None:
            raise BackendError("The remote backend is not connected yet.")
        clock = StatsClock()
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
        clock.preprocessed(0)
        finish: FinishReason = "stop"
        usage: dict[str, int] = {}
        try:
            with self._client.stream(
                "POST", f"{self.base_url}/v1/chat/completions", json=body, headers=self._headers()
            ) as response:
                if response.status_code != 200:
                    response.read()
                    raise BackendError(_error_text(response))
                for line in response.iter_lines():
                    if cancel is not None and cancel.cancelled:
                        finish = "cancelled"
                        break  # leaving the block closes the connection: the server stops
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    event = json.loads(data)
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
        except httpx.HTTPError as exc:
            raise BackendError(f"The connection to {self.base_url} failed ({type(exc).__name__}).") from exc
        if usage:
            clock.prompt_tokens = int(usage.get("prompt_tokens", 0))
            clock.generated = int(usage.get("completion_tokens", clock.generated))
        yield GenerationChunk("", clock.stats(finish=finish))

    def close(self) -> None:
        """Close the HTTP connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None


def _error_text(response: Any) -> str:
    try:
        message = response.json()["error"]["message"]
    except Exception:
        message = response.text[:200]
    return f"The server answered HTTP {response.status_code}: {message}"
