"""Plain ASGI middleware in front of the API: the Host header (403), the key (401), the body size (413)."""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.server.errors import ApiError

if TYPE_CHECKING:
    from app.server.state import ApiPolicy


# Names that always mean this machine: a browser resolves them itself, never through DNS.
LOCAL_NAMES = ("localhost",)


def host_name(header: str) -> str:
    """The name in a Host header, without its port or an IPv6 address's brackets, lower case."""
    value = header.strip().lower()
    if value.startswith("["):  # [::1]:8080
        return value[1 : value.find("]")] if "]" in value else value
    name, colon, port = value.rpartition(":")
    return name if colon and port.isdigit() and ":" not in name else value


def host_allowed(header: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a request's Host header names this server (module docs of `TrustedHosts`)."""
    if header is None:  # HTTP/1.0 without Host: not a browser, which always sends one
        return True
    name = host_name(header).rstrip(".")
    try:
        ipaddress.ip_address(name)
        return True  # an address, not a name: DNS rebinding can't put one in a page's requests
    except ValueError:
        pass
    return name in LOCAL_NAMES or name.endswith(".localhost") or name in {h.lower() for h in allowed}


class TrustedHosts:
    """Plain ASGI middleware: answer only requests whose Host header names this server (403 otherwise).

    A web page the user opens can point its own name at 127.0.0.1 (DNS rebinding) and then talk
    to a local server as if it were its own site: read its configuration, switch its model
    (Ollama's CVE-2024-28224). Its requests still carry its own name in the Host header. So
    the server answers only Host headers that are an IP address, `localhost` (and names under
    `.localhost`), the address it listens on, or a name given with `--allowed-host`. Starlette's
    `TrustedHostMiddleware` can't accept every IP address and answers in plain text; this one
    answers in OpenAI's error shape, saying why.
    """

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a foreign Host header; pass everything else on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"host"]
        header = headers[0] if headers else None
        if len(headers) > 1 or not host_allowed(header, self.allowed):
            name = host_name(header or "")[:80].encode("ascii", "backslashreplace").decode()
            message = (
                f"This server does not answer to the name '{name}': a web page may be trying to reach "
                "it by pointing its own name at this machine (DNS rebinding). If it is a name of this "
                f"machine, start the server with --allowed-host {name or 'NAME'}."
            )
            await _discard_body(receive, 1024 * 1024)
            await _send_error(send, ApiError(403, message, code="host_not_allowed"))
            return
        await self.app(scope, receive, send)


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
        every = (*keys, self.options.admin_key) if self.options.admin_key else keys
        if keys and path.startswith(("/v1/", "/api/")) and key_of(headers, every) is None:
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
    token = token.strip()
    if not token:  # `Authorization: Bearer ` (a client with an empty key) matches nothing
        return None
    matches = [key for key in keys if key and hmac.compare_digest(token.encode(), key.encode())]
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
