"""`smolsight serve`: start the OpenAI-compatible server with uvicorn, safely by default."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands.flags import (
    CommandParser,
    add_engine_flags,
    add_setting,
    option_default,
    options_from,
    settings_from_args,
)
from app.commands.options import ServeOptions
from app.config import Settings
from app.exit_codes import ExitCode
from app.inference.factory import MakeBackend, backend_factory, create_backend
from app.inference.model_thread import BackendFactory, BoundedFifo, ModelThread
from app.server.images import ImageLimits
from app.terminal import fail

if TYPE_CHECKING:
    import httpcore
    from fastapi import FastAPI

    from app.server.state import ServedModel

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
MIN_KEY_LENGTH = 16  # shorter keys are guessed; `secrets.token_urlsafe(24)` makes 32 characters
NEW_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(24))' makes one"

OPTIONS = ServeOptions  # what the flags that are not settings fill


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, client_keys: tuple[str, ...], no_auth: bool) -> str | None:
    """An error message when binding beyond loopback without a key (and not explicitly allowed)."""
    if is_loopback(host) or client_keys or no_auth:
        return None
    return (
        f"Refusing to listen on {host} without an API key: anyone on the network could use it. "
        "Pass --api-key KEY (clients send 'Authorization: Bearer KEY'), or --no-auth if you really mean it."
    )


def key_problem(flag: str, key: str) -> str | None:
    """Why a key given on the command line can't be used (empty, too short), or None."""
    if not key.strip():
        return (
            f"{flag} is empty (an environment variable that isn't set?): the server would let anyone "
            f"in. Give a key of at least {MIN_KEY_LENGTH} characters; {NEW_KEY}."
        )
    if len(key) < MIN_KEY_LENGTH:
        return (
            f"{flag} is {len(key)} characters long, too easy to guess: use at least {MIN_KEY_LENGTH}; "
            f"{NEW_KEY}."
        )
    return None


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


def add_arguments(parser: CommandParser) -> None:
    """Where to listen, whom to let in, which images to fetch."""
    parser.add_argument("--host", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, help=f"(default {option_default(ServeOptions, 'port')})")
    parser.add_argument(
        "--api-key",
        dest="client_keys",
        action="append",
        metavar="KEY",
        help="require 'Authorization: Bearer KEY' on /v1 and /api; repeat to give each desk or person "
        "a key of their own (then they take turns by key)",
    )
    parser.add_argument(
        "--admin-key",
        metavar="KEY",
        help="with --api-key: the one key that may switch the model or change the defaults "
        "(PATCH /api/v1/config); without it nobody may",
    )
    parser.add_argument(
        "--models",
        action="append",
        metavar="MODEL",
        help="with --api-key: a model the administrator may switch to (a name from `smolsight models`, "
        "a folder or a hub id); repeat for each; nothing else is ever downloaded on a client's request",
    )
    parser.add_argument("--no-auth", action="store_true", help="allow a non-local --host without a key")
    parser.add_argument(
        "--allowed-host",
        dest="allowed_hosts",
        action="append",
        metavar="NAME",
        help="also answer requests whose Host header is NAME (a name of this machine; addresses and "
        "localhost are always answered, any other name is refused: DNS rebinding)",
    )
    parser.add_argument(
        "--max-request-pixels",
        type=int,
        metavar="N",
        help="the most pixels all the pictures of one request may decode to, refused before decoding "
        f"(default {option_default(ServeOptions, 'max_request_pixels'):,})",
    )
    parser.add_argument(
        "--cors-origin",
        dest="cors_origins",
        action="append",
        metavar="ORIGIN",
        help="allow browser pages from ORIGIN",
    )
    parser.add_argument(
        "--allow-files",
        action="append",
        type=lambda folder: Path(folder).expanduser(),
        metavar="DIR",
        help="let image_url name files in DIR",
    )
    parser.add_argument(
        "--no-remote-images",
        dest="remote_images",
        action="store_const",
        const=False,
        help="never fetch http(s) image URLs",
    )
    add_setting(
        parser,
        "--allow-private-urls",
        setting="input.allow_private_urls",
        const=True,
        help="also fetch image URLs on this machine or its private network (refused by default)",
    )
    parser.add_argument(
        "--allow-link-local-urls",
        action="store_true",
        help="with --allow-private-urls, also fetch from link-local addresses, where cloud machines "
        "serve their credentials (refused even with --allow-private-urls)",
    )
    parser.add_argument(
        "--queue-size",
        type=int,
        help=f"requests one client may have waiting before 429; clients take turns "
        f"(default {option_default(ServeOptions, 'queue_size')})",
    )
    parser.add_argument(
        "--served-model-name",
        metavar="NAME",
        help="the model's name for clients (default: its folder's name or hub id; never a path)",
    )
    parser.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        help=f"(default: {option_default(ServeOptions, 'log_level')})",
    )
    add_engine_flags(parser, remote=False)


def run(args: argparse.Namespace) -> int:
    """Check the flags, then serve until Ctrl-C."""
    try:
        options, settings = configured(args)
    except ServeProblem as problem:
        return fail(str(problem), problem.code)
    return run_server(options, settings)


class ServeProblem(Exception):
    """Why the server won't start with these flags, and the exit code that says so."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


def configured(args: argparse.Namespace) -> tuple[ServeOptions, Settings]:
    """What `smolsight serve` runs with: its options and settings from the parsed flags.

    Raises `ServeProblem` for flags that don't go together (before anything starts).
    """
    options = options_from(OPTIONS, args)
    settings = settings_from_args(args)
    if not 1 <= options.queue_size <= 1000:
        raise ServeProblem("--queue-size must be between 1 and 1000", ExitCode.INPUT)
    if options.allow_link_local_urls and not settings.input.allow_private_urls:
        raise ServeProblem("--allow-link-local-urls goes with --allow-private-urls", ExitCode.USAGE)
    keys = [("--api-key", key) for key in options.client_keys]
    keys += [("--admin-key", options.admin_key)] if options.admin_key is not None else []
    for flag, key in keys:
        if problem := key_problem(flag, key):
            raise ServeProblem(problem, ExitCode.USAGE)
    if (options.admin_key is not None or options.models) and not options.client_keys:
        raise ServeProblem(
            "--admin-key and --models go with --api-key (without keys, whoever can reach the server "
            "may switch its model)",
            ExitCode.USAGE,
        )
    if options.admin_key in options.client_keys:
        raise ServeProblem("--admin-key must differ from every --api-key", ExitCode.USAGE)
    if not 1_000_000 <= options.max_request_pixels <= 2_000_000_000:
        raise ServeProblem("--max-request-pixels must be between 1,000,000 and 2,000,000,000", ExitCode.USAGE)
    if "null" in options.cors_origins:
        print(
            "smolsight: warning: --cors-origin null lets any page whose origin is 'null' use this "
            "server: pages opened from files, and any site's sandboxed frames (docs/server.md).",
            file=sys.stderr,
        )
    exposure = check_exposure(options.host, options.client_keys, options.no_auth)
    if exposure:
        raise ServeProblem(exposure, ExitCode.INPUT)
    return options, settings


def build_server(
    options: ServeOptions,
    settings: Settings,
    make: MakeBackend = create_backend,
    network: httpcore.NetworkBackend | None = None,
) -> tuple[FastAPI, ServedModel]:
    """The app `smolsight serve` serves and the model it serves (not started): every flag applied here.

    `make` builds the backend from engine settings (default: the real engines) and `network`
    is how image URLs connect (default: sockets); tests pass a fake of each and get exactly
    the server the command runs.
    """
    from app.server.api import ApiPolicy, ServedModel, create_app

    def factory_for(model: str | None) -> BackendFactory:
        chosen = settings.engine.model_copy(update={"model": model}) if model else settings.engine
        return backend_factory(chosen, make)

    model_thread = ModelThread(backend_factory(settings.engine, make), policy=BoundedFifo(options.queue_size))
    served = ServedModel(
        model_thread,
        name=settings.engine.model,
        factory_for=factory_for,
        served_name=options.served_model_name,
    )
    app = create_app(
        served,
        ApiPolicy(
            client_keys=options.client_keys,
            admin_key=options.admin_key,
            offered_models=options.models,
            allowed_hosts=(options.host, *options.allowed_hosts),
            cors_origins=options.cors_origins,
            images=ImageLimits(
                max_pixels=settings.input.max_image_pixels,
                max_request_pixels=options.max_request_pixels,
                allow_remote=options.remote_images,
                allow_private_urls=settings.input.allow_private_urls,
                allow_link_local_urls=options.allow_link_local_urls,
                allowed_dirs=options.allow_files,
                network=network,
            ),
            max_tokens=settings.describe.max_tokens,
            temperature=settings.describe.temperature,
            read_text=settings.describe.read_text,
        ),
    )
    return app, served


def run_server(options: ServeOptions, settings: Settings) -> int:
    """Start the model thread and the app, then serve until Ctrl-C; return the exit code."""
    import uvicorn

    problem = port_problem(options.host, options.port)
    if problem:
        return fail(problem, ExitCode.INPUT)
    app, served = build_server(options, settings)
    served.start()
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
        served.shutdown()
    return ExitCode.OK
