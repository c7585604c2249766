"""How a command declares its flags: each once, beside the command that reads it.

A command module has `add_arguments(parser)` and `run(args)`. Its flags are of two kinds:

- **setting flags** (`add_setting`) change one field of `Settings` for this run only: the flag
  is declared with the field's path (`"describe.max_tokens"`) as its destination, which is
  checked against `Settings` when the parser is built; it has no default of its own (not given,
  the settings file decides) and `settings_from_args` applies every one given;
- **option flags** (plain `add_argument`) fill the command's options dataclass
  (`app.commands.options`) by field name (`options_from`), with the dataclass's defaults.

`tests/unit/test_cli_flags.py` holds every command to this: each parsed flag reaches a setting or
an option field.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar, get_args

from app.config import BackendName, ConfigError, Device, DType, Settings, load_settings
from app.exit_codes import ExitCode

BACKEND_CHOICES: tuple[str, ...] = get_args(BackendName)
LOCAL_BACKENDS = tuple(b for b in BACKEND_CHOICES if b != "openai")
# What a bench or a download may name: the engines themselves, without "auto" or a remote server.
ENGINES = tuple(b for b in LOCAL_BACKENDS if b != "auto")
Options = TypeVar("Options")

# Namespace entries that are neither a setting nor an option: the parser's own plumbing.
PLUMBING = frozenset({"help", "version", "config", "command"})
_GIVEN = "_setting_flags_given"  # namespace entry: setting path → the flag that set it

SETTINGS_NOTE = (
    "A flag that matches a setting changes it for this run only (the file is not written); "
    "without it the settings file decides (smolsight config shows it), and the defaults shown "
    "apply when the file says nothing."
)


class CommandParser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem and where to look, not the whole usage block."""

    def error(self, message: str) -> NoReturn:
        """Print `smolsight: <problem>` and a hint on stderr; exit 2."""
        self.exit(ExitCode.USAGE, f"smolsight: {message}\nSee '{self.prog} --help' for the options.\n")


class _SettingFlag(argparse.Action):
    """Stores the value under the setting's path and remembers which flag gave it (for errors)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)
        given = dict(getattr(namespace, _GIVEN, {}))
        given[self.dest] = option_string or self.dest
        setattr(namespace, _GIVEN, given)


def setting_paths() -> frozenset[str]:
    """Every setting a flag may change: `group.field` for each field of each `Settings` group."""
    paths: set[str] = set()
    for group, info in Settings.model_fields.items():
        fields = getattr(info.annotation, "model_fields", {})
        paths.update(f"{group}.{name}" for name in fields)
    return frozenset(paths)


Container = argparse.ArgumentParser | argparse._ArgumentGroup
SettingValue = str | int | float | bool | None


def add_setting(
    container: Container,
    *flags: str,
    setting: str,
    help: str,
    type: Callable[[str], SettingValue] | None = None,
    choices: Sequence[str] | None = None,
    metavar: str | None = None,
    const: bool | None = None,
) -> None:
    """Add a flag that changes `setting` ("group.field" of `Settings`) for this run.

    `const` makes a switch that sets that value; otherwise the flag takes a value (of `type`,
    or one of `choices`). The help text should say the setting's default (`setting_default`).
    """
    if setting not in setting_paths():
        raise ValueError(f"{flags[0]}: {setting!r} is not a setting")
    if const is not None:
        container.add_argument(
            *flags, dest=setting, action=_SettingFlag, default=None, nargs=0, const=const, help=help
        )
        return
    if metavar is None and choices is None:  # named after the flag, as argparse names a plain flag's value
        metavar = flags[-1].lstrip("-").replace("-", "_").upper()
    container.add_argument(
        *flags,
        dest=setting,
        action=_SettingFlag,
        default=None,
        type=type or str,
        choices=choices,
        metavar=metavar,
        help=help,
    )


def setting_default(setting: str) -> SettingValue:
    """A setting's default, for help texts."""
    group, _, name = setting.partition(".")
    default: SettingValue = Settings.model_fields[group].annotation.model_fields[name].default  # type: ignore[union-attr]
    return default


def option_default(options: type[object], name: str) -> object:
    """The default of one option (for help texts)."""
    for item in dataclasses.fields(options):  # type: ignore[arg-type]
        if item.name == name:
            return item.default
    raise KeyError(name)


def add_engine_flags(parser: argparse.ArgumentParser, *, remote: bool = True) -> None:
    """The model flags every command that runs the model has (`remote`: also a remote server's)."""
    parser.epilog = SETTINGS_NOTE
    g = parser.add_argument_group("model")
    add_setting(
        g,
        "--backend",
        setting="engine.backend",
        choices=BACKEND_CHOICES if remote else LOCAL_BACKENDS,
        help="inference engine (default: auto)",
    )
    add_setting(
        g,
        "--model",
        setting="engine.model",
        metavar="NAME_OR_ID",
        help="a model's name (smolsight models lists them), a hub id or a local model folder",
    )
    add_setting(
        g,
        "--device",
        setting="engine.device",
        choices=get_args(Device),
        help="device for transformers (auto: a GPU if any)",
    )
    add_setting(
        g,
        "--dtype",
        setting="engine.dtype",
        choices=get_args(DType),
        help="precision; openvino: auto/int8 = 8-bit weights, float32 = full precision",
    )
    add_setting(
        g,
        "--offline",
        setting="engine.allow_download",
        const=False,
        help="never download; use the cache or a folder",
    )
    add_config_flag(g)
    if remote:
        r = parser.add_argument_group("remote server (--backend openai)")
        add_setting(
            r,
            "--base-url",
            setting="engine.base_url",
            metavar="URL",
            help="an OpenAI-compatible server, e.g. http://host:8080/v1",
        )
        add_setting(r, "--api-key", setting="engine.api_key", help="its API key")
        add_setting(
            r,
            "--remote-model",
            setting="engine.remote_model",
            metavar="NAME",
            help="the model name on that server",
        )


def add_config_flag(container: Container) -> None:
    """`--config FILE`: which settings file to read."""
    container.add_argument(
        "--config", type=Path, metavar="FILE", help="settings file (default: the per-user one)"
    )


def settings_from_args(args: argparse.Namespace, *, saved: Settings | None = None) -> Settings:
    """Settings from the file (or `saved`, already read from it), this run's flags on top (never saved).

    The one place flags meet settings; an error names the flag.
    """
    settings = saved if saved is not None else load_settings(getattr(args, "config", None))
    given_flags: dict[str, str] = getattr(args, _GIVEN, {})
    given: dict[tuple[str, str], object] = {}
    for path in given_flags:
        if (value := getattr(args, path, None)) is not None:
            group, _, name = path.partition(".")
            given[(group, name)] = value
    try:
        return settings.with_values(given, source="command line", names=given_flags)
    except ConfigError as exc:
        raise FlagError(str(exc)) from None


class FlagError(ConfigError):
    """A flag's value is out of range or of the wrong kind: a usage error (exit code 2), not a file's."""


def options_from(cls: type[Options], args: argparse.Namespace, **derived: object) -> Options:
    """A command's options: each field from its flag (or `derived`) when given, else its default.

    A repeated flag's list becomes a tuple. A flag whose destination is neither a field of `cls`
    nor a setting is a mistake in the command's parser, and raises.
    """
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    stray = sorted(
        dest
        for dest in vars(args)
        if dest not in fields and dest not in PLUMBING and dest != _GIVEN and "." not in dest
    )
    if stray:
        raise TypeError(f"{cls.__name__} has no field for {', '.join(stray)}")
    values = {
        name: tuple(value) if isinstance(value, list) else value
        for name in fields
        if (value := getattr(args, name, None)) is not None
    }
    return cls(**{**values, **{k: v for k, v in derived.items() if v is not None}})
