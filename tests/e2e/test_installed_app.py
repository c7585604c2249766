"""What people install is what we test: the wheel in a fresh environment, on every Python we promise.

`pipx install .` builds SmolSight's wheel and installs it, with its dependencies from the package
index, into a new virtual environment. These tests do the same (no editable install, no test
extras, nothing from the checkout on the path) for each Python version pyproject.toml's
classifiers promise that this machine has, then use the installed commands from a folder outside
the source tree: every module imports, `smolsight-app` opens its first-run window on a real X
server and quits on Ctrl+Q, `smolsight describe` answers on a model in the published layout, and
`narrate --speak` speaks through a stand-in speech-dispatcher and finishes.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.devtools.dialogue_video import conversation, write_dialogue_video
from app.paths import APP_NAME
from tests.cleanup import scratch_folder
from tests.desktop import app_env, find_window, linux_only, press, wait_for
from tests.media import offline_voice
from tests.speechd import speechd_engine_installed, speechd_standin

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, linux_only, pytest.mark.timeout(900)]


def promised_pythons() -> list[str]:
    """The Python versions pyproject.toml's classifiers name (what the README promises)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = (re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c) for c in project["classifiers"])
    return [m.group(1) for m in found if m]


def interpreter(version: str) -> Path | None:
    """A working `python<version>` on this machine: on PATH, or one of pyenv's installed versions."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(
        glob.glob(str(pyenv_root / "versions" / f"{version}.*" / "bin" / f"python{version}"))
    )
    for candidate in candidates:
        if candidate is None:
            continue
        said = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if said.returncode == 0 and said.stdout.strip() == version:  # a pyenv shim may run another one
            return Path(candidate)
    return None


def test_the_readme_promises_the_python_versions_tested_here() -> None:
    versions = promised_pythons()
    assert len(versions) >= 2
    promise = f"You need Python {', '.join(versions[:-1])} or {versions[-1]} and pipx"
    assert promise in (ROOT / "README.md").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Installed:
    """SmolSight installed from its wheel into a fresh virtual environment."""

    version: str
    bin: Path
    home: Path  # a folder outside the source tree to run the commands in

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a user's shell gives the commands: nothing of the checkout on the path."""
        env = app_env(self.home, SMOLSIGHT_CACHE_DIR=str(self.home / "cache"), **extra)
        for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
            env.pop(name, None)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return env

    def run(self, *args: str, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess[str]:
        """One installed command (`smolsight …`, `python …`), run from the home folder."""
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=self.home,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module", params=promised_pythons())
def installed(
    request: pytest.FixtureRequest, wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installed]:
    """`pip install` of the wheel into a new virtual environment of one promised Python version."""
    version: str = request.param
    python = interpreter(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed on this machine")
    with scratch_folder(tmp_path_factory, f"py{version}") as root:
        yield install_wheel(python, wheel, root, version)


def install_wheel(python: Path, wheel: Path, root: Path, version: str) -> Installed:
    """A virtual environment in `root` with the wheel installed, and a home folder beside it."""
    subprocess.run([python, "-m", "venv", root / "venv"], check=True, capture_output=True, timeout=120)
    bin_dir = root / "venv" / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [bin_dir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    home = root / "home"
    home.mkdir()
    return Installed(version, bin_dir, home)


def test_every_module_imports_from_the_installed_copy(installed: Installed) -> None:
    script = (
        "import importlib, pkgutil, app\n"
        "print(app.__file__)\n"
        "for m in pkgutil.walk_packages(app.__path__, 'app.'):\n"
        "    try:\n"
        "        importlib.import_module(m.name)\n"
        "    except Exception as e:\n"
        "        print('FAILED', m.name, repr(e))\n"
        "    else:\n"
        "        print('ok', m.name)\n"
    )
    done = installed.run("python", "-c", script, QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stderr
    where, *lines = done.stdout.splitlines()
    assert Path(where).is_relative_to(installed.bin.parent), where  # the wheel's copy, not the checkout's
    failed = [line for line in lines if not line.startswith("ok ")]
    assert not failed, failed
    in_tree = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "app").rglob("*.py")
    } - {"app"}
    imported = {line.split()[1] for line in lines}
    assert in_tree <= imported, sorted(in_tree - imported)  # every module of the tree is in the wheel
    assert "smolsight" in installed.run("python", "-m", "pip", "list").stdout.lower()


def test_the_installed_app_opens_its_first_run_window_and_quits_on_ctrl_q(
    installed: Installed, x_display: str
) -> None:
    env = installed.env(DISPLAY=x_display)
    env.pop("QT_QPA_PLATFORM", None)  # the real X11 platform, as a desktop starts it
    app = subprocess.Popen(
        [installed.bin / "smolsight-app"],
        cwd=installed.home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        window = find_window(f"^{APP_NAME}$", env, timeout=60, process=app)
        log = installed.home / "state" / APP_NAME / "log" / "smolsight.log"
        wait_for(
            lambda: log.exists() and "is not on this computer yet" in log.read_text(),
            "the first-run hint",
            app,
        )
        press(env, window, "ctrl+q")
        out, err = app.communicate(timeout=30)
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
    assert app.returncode == 0, err[-3000:]
    assert "Traceback" not in out + err and err.strip() == "", err[-3000:]


def test_the_installed_describe_answers_on_a_published_model(installed: Installed, onnx_model: Path) -> None:
    done = installed.run(
        "smolsight",
        "describe",
        "--model",
        str(onnx_model),
        "--max-tokens",
        "6",
        resource("sample.jpg", installed),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() and "Traceback" not in done.stderr
    assert "Preparing the fast CPU engine" in done.stderr  # the CPU engine a default install gets


def test_the_installed_narrate_speaks_and_finishes(installed: Installed, onnx_model: Path) -> None:
    if not speechd_engine_installed():
        if os.environ.get("SMOLSIGHT_REQUIRE_DESKTOP_TOOLS") == "1":
            pytest.fail("libspeechd is not installed; .ci/run installs it")
        pytest.skip("libspeechd is not installed (Debian: libspeechd2)")
    with speechd_standin("working") as standin:
        done = installed.run(
            "smolsight",
            "narrate",
            "--source",
            "sample",
            "--model",
            str(onnx_model),
            "--speak",
            "--duration",
            "6",
            SPEECHD_ADDRESS=standin.address,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() and "Traceback" not in done.stderr
    assert standin.spoken, done.stderr[-3000:]  # the helper process started and spoke


def test_the_installed_summarize_writes_an_audio_description(
    installed: Installed, onnx_model: Path, tmp_path: Path
) -> None:
    talk = write_dialogue_video(
        tmp_path / "talk.mp4", conversation(12.0), seconds=12.0, voice=offline_voice()
    )
    done = installed.run(
        "smolsight",
        "summarize",
        str(talk.path),
        "--model",
        str(onnx_model),
        "--export",
        "descriptions,described-video",
        "--frames-per-segment",
        "2",
        "--detail",
        "line",
        "--out",
        str(tmp_path / "out"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["talk.described.mp4", "talk.descriptions.vtt"], done.stderr[-3000:]
    assert "Audio description (espeak" in done.stderr  # the installed copy found its speech detector


def resource(name: str, installed: Installed) -> str:
    """The path of one of the installed copy's own resources (the sample photo)."""
    done = installed.run(
        "python", "-c", f"from app.paths import resource_file; print(resource_file({name!r}))"
    )
    assert done.returncode == 0, done.stderr
    path = done.stdout.strip()
    assert Path(path).is_relative_to(installed.bin.parent), path
    return path
