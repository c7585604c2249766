"""`smolsight serve`: start the OpenAI-compatible server with uvicorn, safely by default."""

from __future__ import annotations

import ipaddress
import sys

from app.commands.options import ServeOptions
from app.config import Settings
from app.exit_codes import ExitCode
from app.inference.engine import BackendFactory, BoundedFifo, Engine
from app.inference.factory import backend_factory
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


def port_problem(host: str, port: int) -> str | None:
    """Why the server can't listen on host:port (busy, not an address here), or None."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"can't listen on {host}: {exc.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use (another program, or another server); "
                    "choose another with --port"
                )
            return f"can't listen on {host}:{port} ({exc.strerror or exc})"
    return None


def run_server(options: ServeOptions, settings: Settings) -> int:
    """Start the engine and the app, then serve until Ctrl-C; return the exit code."""
    import uvicorn

    from app.server.api import ServedModel, ServerOptions, create_app

    problem = check_exposure(options.host, options.server_api_key, options.no_auth) or port_problem(
        options.host, options.port
    )
    if problem:
        print(f"smolsight: {problem}", file=sys.stderr)
        return ExitCode.INPUT

    def factory_for(model: str | None) -> BackendFactory:
        return backend_factory(
            settings.engine.model_copy(update={"model": model}) if model else settings.engine
        )

    engine = Engine(backend_factory(settings.engine), policy=BoundedFifo(options.queue_size))
    served = ServedModel(engine, name=settings.engine.model, factory_for=factory_for)
    app = create_app(
        served,
        ServerOptions(
            api_key=options.server_api_key,
            cors_origins=options.cors_origins,
            images=ImageLimits(
                max_pixels=settings.input.max_image_pixels,
                allow_remote=options.remote_images,
                allow_private_urls=settings.input.allow_private_urls,
                allow_link_local_urls=options.allow_link_local_urls,
                allowed_dirs=options.allow_files,
            ),
            max_tokens=settings.describe.max_tokens,
            temperature=settings.describe.temperature,
        ),
    )
    engine.start()
    print(
        f"SmolSight server on http://{options.host}:{options.port} (model loading in the background; "
        "GET /health says when it is ready)",
        file=sys.stderr,
    )
    try:
        uvicorn.run(
            app,
            host=options.host,
            port=options.port,
            log_level=options.log_level,
            timeout_graceful_shutdown=5,
        )
    finally:
        engine.shutdown()
    return ExitCode.OK
