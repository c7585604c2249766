"""`smolsight serve`: start the OpenAI-compatible server with uvicorn, safely by default."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Any

from app.server.images import ImageLimits

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, api_key: str | None, no_auth: bool) -> str | None:
    """An error message when binding beyond loopback without a key (and not explicitly allowed)."""
    if is_loopback(host) or api_key or no_auth:
        return None
    return (
        f"Refusing to listen on {host} without an API key: anyone on the network could use it. "
        "Pass --api-key KEY (clients send 'Authorization: Bearer KEY'), or --no-auth if you really mean it."
    )


def run_server(args: Any, settings: Any) -> int:
    """Build the model host and app, then serve until Ctrl-C."""
    import uvicorn

    from app.cli import engine_from_settings
    from app.server.api import ServerOptions, create_app
    from app.server.model_host import ModelHost

    problem = check_exposure(args.host, args.api_key, args.no_auth)
    if problem:
        print(f"smolsight: {problem}", file=sys.stderr)
        return 1

    def factory(model: str | None) -> Any:
        return engine_from_settings(settings.model_copy(update={"model": model}) if model else settings)

    host = ModelHost(factory, model=settings.model, queue_size=args.queue_size)
    options = ServerOptions(
        api_key=args.api_key,
        cors_origins=tuple(args.cors_origin or ()),
        images=ImageLimits(
            allow_remote=not args.no_remote_images,
            allowed_dirs=tuple(Path(d).expanduser() for d in (args.allow_files or ())),
        ),
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
    )
    app = create_app(host, options)
    print(
        f"SmolSight server on http://{args.host}:{args.port} (model loading in the background; "
        "GET /health says when it is ready)",
        file=sys.stderr,
    )
    try:
        uvicorn.run(
            app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=5
        )
    finally:
        host.close()
    return 0
