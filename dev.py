#!/usr/bin/env python3
"""Set up SmolSight in a local virtual environment, then launch it or test it.

    python3 dev.py run [APP ARGS…]    install into .venv (first time) and open the app
    python3 dev.py test [PYTEST ARGS…] install with test tools and run lint, types and tests
    python3 dev.py test --fast [ARGS…] the same without the slow tests (the inner loop)

Uses only the standard library, so it works on a fresh machine with Python ≥ 3.11.
Re-running skips the install when nothing it depends on changed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("SMOLSIGHT_VENV", ROOT / ".venv"))
CONSTRAINTS = ROOT / "constraints"


def venv_python() -> Path:
    """The virtual environment's interpreter."""
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def platform_constraints() -> Path | None:
    """Pinned versions for platforms where only some builds work (see constraints/)."""
    name = f"{sys.platform}-{platform.machine().lower()}.txt"
    path = CONSTRAINTS / name
    return path if path.exists() else None


def extras(test: bool) -> str:
    """Optional dependency groups to install."""
    chosen = []
    if test:
        chosen += ["dev", "torch"]  # tests run every engine: the reference one needs PyTorch
        if sys.platform == "linux":
            chosen.append("mlx-cpu")  # exercise the MLX code path on Linux CI
    elif Path("/proc/driver/nvidia/version").exists():
        chosen.append("torch")  # an NVIDIA GPU runs the model on PyTorch; elsewhere the CPU engine needs none
    return f"[{','.join(chosen)}]" if chosen else ""


def run(cmd: list[str | Path]) -> None:
    """Run a command, stopping with its exit code on failure."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT)
    if code:
        sys.exit(code)


def install(test: bool) -> None:
    """Create .venv and install SmolSight (editable) with what `test` needs."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be run by an older Python
        sys.exit(f"SmolSight needs Python 3.11 or newer; this is {platform.python_version()}.")
    if not venv_python().exists():
        print(f"Creating virtual environment in {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    cons = platform_constraints()
    spec = f".{extras(test)}"
    stamp_src = (ROOT / "pyproject.toml").read_bytes() + spec.encode()
    if cons:
        stamp_src += cons.read_bytes()
    stamp = hashlib.sha256(stamp_src).hexdigest()
    marker = VENV / ".smolsight-installed"
    if marker.exists() and marker.read_text().strip() == stamp:
        return
    py = venv_python()
    run([py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    cmd: list[str | Path] = [py, "-m", "pip", "install", "--quiet", "-e", spec]
    if cons:
        cmd += ["-c", cons]
    run(cmd)
    marker.write_text(stamp)


def main(argv: list[str]) -> int:
    """Dispatch `run` or `test`."""
    if not argv or argv[0] not in {"run", "test"}:
        print(__doc__)
        return 2
    action, rest = argv[0], argv[1:]
    install(test=action == "test")
    py = str(venv_python())
    if action == "run":
        code = subprocess.call([py, "-m", "app", *rest], cwd=ROOT)
        if code < 0:  # ended by a signal: say so, instead of a bare 128+N on the way out
            import signal

            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            print(f"dev.py: the app was ended by signal {name}; its log says why.", file=sys.stderr)
            return 1
        return code
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    for check in (
        [py, "-m", "ruff", "check", "app", "tests", "benchmarks", "docs", "dev.py", "setup.py"],
        [py, "-m", "ruff", "format", "--check", "app", "tests", "benchmarks", "docs", "dev.py", "setup.py"],
        [py, "-m", "mypy"],
        # the layers (pyproject.toml [tool.importlinter]): each package imports only those below it
        [py, "-c", "import sys, importlinter.cli as c; sys.exit(c.lint_imports(no_cache=True))"],
    ):
        print("+", " ".join(check[1:]), flush=True)
        if subprocess.call(check, cwd=ROOT, env=env):
            return 1
    if rest[:1] == ["--fast"]:  # real models, real processes and real windows are left out
        rest = ["-m", "not slow", *rest[1:]]
    print("+ pytest", " ".join(rest), flush=True)
    return subprocess.call([py, "-m", "pytest", *rest], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
