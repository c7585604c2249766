"""Plain ASGI middleware in front of the API: the bearer key (401) and the body size (413)."""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.server.errors import ApiError

if TYPE_CHECKING:
    from app.server.state import ApiPolicy


class LimitsAndAuth:
    """Plain ASGI middleware: body size limit (413) and bearer-key check (401)."""

    def __init__(self, app: ASGIApp, options: ApiPolicy) -> None:
        self.app = app
        self.options = options

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the key and the body size, then pass the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        keys = self.options.client_keys
        if keys and path.startswith(("/v1/", "/api/")) and key_of(headers, keys) is None:
            # Read what the client is sending first (up to the body limit): a client that sends
            # its whole picture before reading would otherwise get a reset connection, not the 401.
            await _discard_body(receive, self.options.max_body_bytes)
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


def key_of(headers: dict[str, str], keys: tuple[str, ...]) -> str | None:
    """Which of `keys` the request's `Authorization: Bearer …` sends, or None (compared in constant time)."""
    sent = headers.get("authorization", "")
    scheme, _, token = sent.partition(" ")
    if scheme.lower() != "bearer":
        return None
    matches = [key for key in keys if hmac.compare_digest(token.strip().encode(), key.encode())]
    return matches[0] if matches else None


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
