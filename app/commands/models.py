"""`smolsight models`: the models on offer, what each is for, its download and the engine here."""

from __future__ import annotations

import argparse
import json

from app.commands.flags import CommandParser, add_config_flag, add_setting, options_from, settings_from_args
from app.commands.options import ModelsOptions
from app.exit_codes import ExitCode

OPTIONS = ModelsOptions  # what the flags that are not settings fill


def add_arguments(parser: CommandParser) -> None:
    """Which engine to answer for, and how to print."""
    add_setting(parser, "--model", setting="engine.model", metavar="NAME", help="the model in use (marked *)")
    add_setting(
        parser,
        "--backend",
        setting="engine.backend",
        choices=("auto", "mlx", "openvino", "transformers"),
        help="answer for this engine (default: as the settings say)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (one object per model)")
    add_config_flag(parser)


def rows(args: argparse.Namespace) -> list[dict[str, object]]:
    """One row per model: name, role, purpose, hub id, download size, engine, whether it is here."""
    from app.inference.catalog import CATALOG, DEFAULT_NAME, find, public_name
    from app.inference.factory import choose_backend, engine_label, fetch_model

    engine = settings_from_args(args).engine
    in_use = find(public_name(engine.model))  # a name, a hub id of ours, or nothing: the default
    backend = choose_backend(engine.backend, device=engine.device)
    found = []
    for model in CATALOG:
        settings = engine.model_copy(update={"model": model.name})
        try:
            fetch_model(settings, download=False)  # a look in the cache: never the network
            here = True
        except Exception:  # not there, or an engine that can't be used here
            here = False
        found.append(
            {
                "name": model.name,
                "title": model.title,
                "role": model.role,
                "default": model.name == DEFAULT_NAME,
                "chosen": model == in_use,
                "purpose": model.purpose,
                "repo": model.repo(backend),
                "download": model.size(backend),
                "engine": engine_label(settings),
                "downloaded": here,
            }
        )
    return found


def run(args: argparse.Namespace) -> int:
    """Print the models as a table (or JSON)."""
    options = options_from(OPTIONS, args)
    found = rows(args)
    if options.json:
        print(json.dumps(found, indent=2))
        return ExitCode.OK
    print(f"{'':2}{'NAME':15} {'FOR':30} {'DOWNLOAD':14} {'ENGINE HERE':22} ON THIS COMPUTER")
    for row in found:
        role = str(row["role"]) + (", the default" if row["default"] else "")
        mark = "* " if row["chosen"] else "  "
        here = "downloaded" if row["downloaded"] else "not yet"
        print(f"{mark}{row['name']:15} {role:30} {row['download']!s:14} {row['engine']!s:22} {here}")
    print()
    for row in found:
        print(f"{row['name']}: {row['purpose']} ({row['repo']})")
    print("\n* the model in use. Choose one with --model NAME or in Settings;")
    print("  smolsight download NAME fetches it now (it is also fetched when first used).")
    return ExitCode.OK
