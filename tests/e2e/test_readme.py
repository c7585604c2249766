"""Every command in the shell blocks of the README and the user's docs runs as written, from a fresh clone.

Commands run from a folder laid out like the checkout (the sample photo and video under
`resources/`), with `smolsight` from this environment on PATH (as after `pipx install .` or
`source .venv/bin/activate`) and a settings file naming the tiny model. The lines that cannot
run here are left out by name, each with the reason; a reason that matches no line fails, so
the list cannot go stale.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# the README and the docs it sends a user to for commands (docs/server.md's examples are run by
# tests/integration/test_remote_backend.py against a real server)
GUIDES = ("install.md", "engines.md", "user-guide.md", "development.md")
DOCUMENTS = [README] + [ROOT / "docs" / name for name in GUIDES]

LEFT_OUT = {
    "pipx install": "installs into your home folder (test_packaging installs the wheel into a fresh venv)",
    "python3 dev.py": "creates .venv itself; CI runs `python3 dev.py test` through .ci/run",
    "pip install briefcase": "the macOS bundle needs macOS (.github/workflows/macos-app.yml builds it)",
    "briefcase ": "the macOS bundle needs macOS (.github/workflows/macos-app.yml builds it)",
    "smolsight download": "needs the internet",
    "smolsight-app": "opens the window until closed (test_desktop_launch opens it on a real X server)",
    "--source webcam": "needs a camera",
    "--list-cameras": "needs a camera",
    "--source screen": "needs a desktop (test_screen narrates an Xvfb screen)",
    "--source window": "needs a desktop (test_screen describes an Xvfb screen)",
    "--clipboard": "needs a desktop's clipboard (test_screen copies a picture on Xvfb)",
    "smolsight serve": "serves until stopped (test_server serves on 127.0.0.1 with a real client)",
    "smolsight bench": "takes minutes and builds a 2 GB model",
}


def readme_commands() -> list[str]:
    """The commands of every ```bash block, continuation lines joined, each once."""
    commands: list[str] = []
    text = "\n".join(document.read_text(encoding="utf-8") for document in DOCUMENTS)
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        pending = ""
        for line in block.splitlines():
            pending += line.rstrip()
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
                continue
            if pending.strip():
                commands.append(pending.strip())
            pending = ""
    each: dict[str, str] = {}
    for command in commands:  # the same command in two documents, with or without its comment, runs once
        each.setdefault(command.split(" #")[0].strip(), command)
    return list(each.values())


COMMANDS = readme_commands()


def reason_left_out(command: str) -> str | None:
    return next((why for key, why in LEFT_OUT.items() if key in command), None)


def test_the_readme_has_commands_and_every_left_out_reason_is_used() -> None:
    assert len(COMMANDS) > 15
    unused = [key for key in LEFT_OUT if not any(key in command for command in COMMANDS)]
    assert unused == [], "these README lines are gone: drop them from LEFT_OUT"
    runnable = [c for c in COMMANDS if reason_left_out(c) is None]
    assert len(runnable) >= 8, runnable


def test_the_readme_never_mentions_files_that_do_not_ship() -> None:
    for document in DOCUMENTS:
        for name in re.findall(r"\bresources/[\w./-]+\.\w+", document.read_text(encoding="utf-8")):
            assert (ROOT / name).is_file(), f"{document.name}: {name}"


def test_the_readme_is_short_and_every_page_it_links_exists() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200, "the README is read in five minutes: move details to docs/"
    for document in DOCUMENTS:
        for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", document.read_text(encoding="utf-8")):
            if "://" not in link:
                assert (document.parent / link).exists(), f"{document.name} links {link}"


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> tuple[Path, dict[str, str]]:
    """A folder like a fresh clone's (its resources/ only) and the environment to run in."""
    work = tmp_path_factory.mktemp("clone")
    shutil.copytree(ROOT / "resources", work / "resources", ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path_factory.mktemp("home")
    settings = home / "settings.json"
    settings.write_text(json.dumps({"model": str(tiny_model), "backend": "transformers"}), encoding="utf-8")
    scripts = Path(sys.executable).parent
    if not (scripts / "smolsight").exists() and not (scripts / "smolsight.exe").exists():
        pytest.fail(f"`smolsight` is not installed beside {sys.executable}: run `python3 dev.py test`")
    env = {
        **os.environ,
        "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
        "SMOLSIGHT_CONFIG": str(settings),
        "HF_HUB_OFFLINE": "1",
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    return work, env


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [c for c in COMMANDS if reason_left_out(c) is None],
    ids=lambda command: command.split("#")[0].strip(),
)
def test_the_readme_command_runs_as_written(command: str, clone: tuple[Path, dict[str, str]]) -> None:
    work, env = clone
    started = time.time()
    done = subprocess.run(
        ["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, f"{command}\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), f"{command} printed nothing"
    if "summarize" in command:
        made = {p.name for p in (work / "notes").iterdir() if p.stat().st_mtime >= started - 1}
        asked = re.search(r"--export (\S+)", command)
        formats = asked.group(1).split(",") if asked else ["vtt", "srt", "md", "json"]
        special = {"descriptions": "sample.descriptions.vtt", "described-video": "sample.described.mp4"}
        wanted = {special.get(f, f"sample.smolsight.{f}") for f in formats}
        assert wanted <= made, made
