"""Every flag of every command reaches what it is for: a setting, or a field of the command's options.

Each command declares its flags beside its code (`app.commands.flags`); these tests run every
flag through the parser and `settings_from_args` / `options_from`, as `smolsight` does, and
check that its value arrives where its destination says.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from app.cli import COMMANDS, command, command_parser, parse_args
from app.commands.flags import PLUMBING, options_from, setting_paths, settings_from_args
from app.config import Settings, bounds

# What each command needs before its flags (its positional arguments).
BASE: dict[str, list[str]] = {
    "describe": ["photo.jpg"],
    "read": ["label.png"],
    "summarize": ["video.mp4"],
    "build-test-model": ["out"],
    "desktop-entry": ["install"],
}
EVAL_KINDS = ("vqa", "context")
# Values for settings that take free text, valid for the settings' checks.
TEXT_SETTINGS = {
    "engine.model": "someone/some-model",
    "engine.base_url": "http://127.0.0.1:9/v1",
    "engine.api_key": "k",
    "engine.remote_model": "remote",
}


def invocations() -> list[tuple[str, list[str], argparse.ArgumentParser]]:
    """(command, the arguments before a flag, the parser that holds the flag) for every command."""
    found = []
    for name in COMMANDS:
        parser = command_parser(name)
        if name == "eval":
            subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            found += [(name, [kind], subparsers.choices[kind]) for kind in EVAL_KINDS]
        else:
            found.append((name, BASE.get(name, []), parser))
    return found


def flag_cases() -> list[tuple[str, list[str], argparse.Action]]:
    cases = []
    for name, base, parser in invocations():
        # a flag that stands for the positional argument (describe's --source, --clipboard) goes alone
        alone = {a for group in parser._mutually_exclusive_groups for a in group._group_actions}
        cases += [
            (name, [] if action in alone else base, action)
            for action in parser._actions
            if action.option_strings and action.dest not in PLUMBING
        ]
    return cases


def sample(action: argparse.Action, setting: str | None, default: object) -> list[str]:
    """Words that give `action` a value other than its default."""
    if action.nargs == 0:
        return []
    if action.choices:
        return [next(str(c) for c in action.choices if c != default)]
    if setting in TEXT_SETTINGS:
        return [TEXT_SETTINGS[setting]]
    if action.type in (int, float):
        if setting is None:
            value: float = 7 if default != 7 else 8
        else:  # near the default, within the setting's bounds (some settings limit each other)
            group, _, key = setting.partition(".")
            low, high = bounds(type(getattr(Settings(), group)), key)
            assert isinstance(default, int | float)
            value = default * 2 if 0 < default * 2 <= high else low + (high - low) / 4
        return [str(int(value) if action.type is int else round(value, 3))]
    return ["given"]


@pytest.mark.parametrize(
    ("name", "base", "action"),
    flag_cases(),
    ids=lambda v: (
        v if isinstance(v, str) else (v.option_strings[0] if isinstance(v, argparse.Action) else "")
    ),
)
def test_each_flag_reaches_its_setting_or_option(name: str, base: list[str], action: argparse.Action) -> None:
    module = command(name)
    options = {f.name: f for f in dataclasses.fields(module.OPTIONS)}
    setting = action.dest if action.dest in setting_paths() else None
    assert setting or action.dest in options, (
        f"smolsight {name} {action.option_strings[0]} goes to {action.dest!r}: no setting, "
        f"and {module.OPTIONS.__name__} has no such field"
    )
    flag = action.option_strings[0]
    if setting:
        group, _, key = setting.partition(".")
        before = getattr(getattr(Settings(), group), key)
        args = parse_args([name, *base, flag, *sample(action, setting, before)])
        after = getattr(getattr(settings_from_args(args, saved=Settings()), group), key)
        assert after == getattr(args, setting) and after != before, f"{flag} did not change {setting}"
        options_from(module.OPTIONS, args)  # a setting flag is no stray option
    else:
        default = options[action.dest].default
        args = parse_args([name, *base, flag, *sample(action, None, default)])
        value = getattr(options_from(module.OPTIONS, args), action.dest)
        given = getattr(args, action.dest)
        assert value == (tuple(given) if isinstance(given, list) else given) and value != default, (
            f"{flag} did not reach {module.OPTIONS.__name__}.{action.dest}"
        )


@pytest.mark.parametrize(
    ("name", "base", "parser"), invocations(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_positional_arguments_fill_options_too(
    name: str, base: list[str], parser: argparse.ArgumentParser
) -> None:
    module = command(name)
    fields = {f.name for f in dataclasses.fields(module.OPTIONS)}
    for action in parser._actions:  # eval's are its kinds' parsers (`invocations`)
        if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
            assert action.dest in fields, f"smolsight {name} {action.dest}: no option field"
    options_from(module.OPTIONS, parse_args([name, *base]))  # nothing stray with no flags either


def test_every_setting_flag_defaults_to_not_given() -> None:
    """A default lives in `Settings` alone: no flag that sets a setting carries one of its own."""
    for name, _base, parser in invocations():
        for action in parser._actions:
            if action.dest in setting_paths():
                assert action.default is None, f"smolsight {name} {action.option_strings} has a default"


def test_the_same_flag_sets_each_commands_own_setting() -> None:
    """`--fps` is the video sampling of describe, the narration buffer's rate, the summary's rate."""
    saved = Settings()
    describe = settings_from_args(parse_args(["describe", "x.jpg", "--fps", "2"]), saved=saved)
    narrate = settings_from_args(parse_args(["narrate", "--fps", "2"]), saved=saved)
    summary = settings_from_args(parse_args(["summarize", "v.mp4", "--fps", "0.5"]), saved=saved)
    assert describe.describe.video_fps == 2 and describe.narration == saved.narration
    assert narrate.narration.buffer_fps == 2 and narrate.describe == saved.describe
    assert summary.summary.fps == 0.5 and summary.describe == saved.describe


def test_a_flag_for_a_setting_that_does_not_exist_is_refused_when_declared() -> None:
    from app.commands.flags import CommandParser, add_setting

    with pytest.raises(ValueError, match=r"'narration\.interval' is not a setting"):
        add_setting(CommandParser(), "--interval", setting="narration.interval", type=float, help="")


def test_a_stray_destination_is_refused_not_ignored() -> None:
    from app.commands.options import NarrateOptions

    args = parse_args(["narrate"])
    args.duration = 5.0  # a flag whose destination is not the field (duration_s)
    with pytest.raises(TypeError, match="NarrateOptions has no field for duration"):
        options_from(NarrateOptions, args)


def test_paths_and_repeated_flags_arrive_in_their_types(tmp_path: Path) -> None:
    from app.commands.serve import OPTIONS

    args = parse_args(
        ["serve", "--allow-files", "~/pictures", "--cors-origin", "http://a", "--cors-origin", "http://b"]
    )
    options = options_from(OPTIONS, args)
    assert options.allow_files == (Path("~/pictures").expanduser(),)
    assert options.cors_origins == ("http://a", "http://b")


# A setting flag is named after the field it sets; these say the same in fewer or plainer words.
RENAMED = {
    ("--fps", "describe.video_fps"): "frames a second, whichever command reads them",
    ("--fps", "narration.buffer_fps"): "frames a second, whichever command reads them",
    ("--interval", "narration.interval_s"): "seconds are the flag's unit",
    ("--max-frames", "describe.video_frames"): "the most frames taken from a video",
    ("--max-segment", "summary.max_segment_s"): "seconds are the flag's unit",
    ("--threshold", "narration.change_threshold"): "the change threshold",
    ("--no-read-text", "describe.read_text"): "a switch that turns the setting off",
    ("--offline", "engine.allow_download"): "a switch that turns downloads off",
}


def test_each_setting_flag_sets_the_field_it_is_named_after() -> None:
    """A flag wired to another setting (`--max-tokens` → `describe.video_frames`) fails here."""
    found = set()
    for _name, _base, action in flag_cases():
        if "." not in action.dest:
            continue
        flag = max(action.option_strings, key=len)
        found.add((flag, action.dest))
        if (flag, action.dest) not in RENAMED:
            assert flag[2:].replace("-", "_") == action.dest.rpartition(".")[2], f"{flag} sets {action.dest}"
    assert set(RENAMED) <= found  # no stale entries
