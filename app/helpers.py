"""SmolSight's own helper processes, started the same way however SmolSight itself was started.

Some work runs in a process of its own: preparing a model for the CPU engine (its memory goes
back to the system when it ends), the speech engine (it can hang; the app must not), a
benchmark's measurement (its peak memory is its own). From a plain install `sys.executable` is
a Python interpreter and a helper is `python -m MODULE`. In an app bundle (Briefcase on macOS
and Windows) or a frozen app, `sys.executable` is the app's launcher, which only runs
SmolSight's own entry point: the helper is then asked for by name through it
(`LAUNCHER_FLAG NAME ARGS…`, which `app.cli.main` hands to `run_helper`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path

# name → (the module `python -m` runs, the module whose `main(argv) -> int` does the work)
HELPERS: dict[str, tuple[str, str]] = {
    "prepare": ("app.inference.openvino", "app.inference.openvino.__main__"),
    "speech": ("app.speech.host", "app.speech.host"),
    "measure": ("app.commands.bench_measure", "app.commands.bench_measure"),
}
LAUNCHER_FLAG = "--smolsight-helper"  # not a user's flag: a launcher asked to be a helper


def is_python(executable: str | Path) -> bool:
    """Whether `executable` is a Python interpreter (python3, python3.12, pythonw, pypy3 …)."""
    name = Path(executable).stem.lower()
    return name.startswith(("python", "pypy"))


def helper_command(name: str, *args: str, executable: str | None = None) -> list[str]:
    """The command line that starts helper `name` with `args`, from this interpreter or launcher."""
    module = HELPERS[name][0]
    exe = Path(executable or sys.executable)
    if not is_python(exe):
        return [str(exe), LAUNCHER_FLAG, name, *args]
    if sys.platform == "win32" and exe.stem.lower() == "python":
        quiet = exe.with_name("pythonw.exe")  # no console window flashing up beside the app
        exe = quiet if quiet.exists() else exe
    return [str(exe), "-m", module, *args]


def run_helper(argv: Sequence[str]) -> int:
    """Run the helper named first in `argv` with the rest as its arguments (a launcher's side)."""
    if not argv or argv[0] not in HELPERS:
        known = ", ".join(HELPERS)
        print(f"smolsight: {LAUNCHER_FLAG} takes one of: {known}", file=sys.stderr)
        return 2
    main = import_module(HELPERS[argv[0]][1]).main
    return int(main(list(argv[1:])))
