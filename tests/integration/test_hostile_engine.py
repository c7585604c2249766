"""Nothing a hostile engine says is obeyed: not on the terminal, in the log or in an export.

Escape codes, bidi overrides and the like are taken out on every path (app/plain_text.py `shown`).

The engine is the llama-server stand-in behind `--backend openai`, its model id, its answers and
its error messages laced with a terminal's escape sequences (clear the screen, turn it red,
ring), a right-to-left override, line separators and zero-width characters.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.commands import smolsight
from tests.llama_standin import LlamaServerStandIn, llama_server
from tests.media import photo, write_video

pytestmark = pytest.mark.slow  # several SmolSight processes

HOSTILE = "\x1b[2J\x1b[31mPWNED\x07 \u202eevil\u202c line\u2028separated zero\u200bwidth \x1b]0;title\x07"
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c", "\u2028", "\u2029", "\u200b", "\u2066", "\ufeff")


def clean(text: str) -> bool:
    return not any(ch in text for ch in FORBIDDEN)


@pytest.fixture
def hostile() -> Iterator[tuple[LlamaServerStandIn, str]]:
    engine = LlamaServerStandIn(alias=f"model {HOSTILE}", answer=f"A cup. {HOSTILE} The end.")
    with llama_server(engine) as base:
        yield engine, base


def remote(base: str) -> tuple[str, ...]:
    return ("--backend", "openai", "--base-url", f"{base}/v1")


def log_text() -> str:
    """SmolSight's log file in this test session (conftest points XDG_STATE_HOME at a temporary folder)."""
    from app.logs import log_file

    path = log_file()
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_describe_shows_the_answer_and_the_model_id_cleaned(
    hostile: tuple[LlamaServerStandIn, str], tmp_path: Path
) -> None:
    _, base = hostile
    picture = tmp_path / "photo.png"
    Image.fromarray(photo()).save(picture)
    done = smolsight("describe", str(picture), *remote(base), "--stats", "--no-read-text")
    assert done.returncode == 0, done.stderr
    assert "PWNED" in done.stdout and "The end." in done.stdout  # the words are shown …
    assert clean(done.stdout) and clean(done.stderr), (done.stdout, done.stderr)  # … never obeyed
    assert clean(log_text())


def test_an_engines_error_is_shown_cleaned(hostile: tuple[LlamaServerStandIn, str], tmp_path: Path) -> None:
    engine, base = hostile
    engine.fail_every, engine.failure = 1, HOSTILE
    picture = tmp_path / "photo.png"
    Image.fromarray(photo()).save(picture)
    done = smolsight("describe", str(picture), *remote(base), "--no-read-text")
    assert done.returncode != 0 and "PWNED" in done.stderr, done.stderr
    assert clean(done.stdout) and clean(done.stderr), done.stderr
    assert clean(log_text())


def test_a_file_name_with_escape_codes_is_shown_cleaned(tmp_path: Path) -> None:
    name = tmp_path / "\x1b[31mred\x07.png"
    done = smolsight("describe", str(name))  # no such file: the message names it
    assert done.returncode != 0 and "red" in done.stderr
    assert clean(done.stderr), done.stderr


def test_summaries_and_every_export_are_cleaned(
    hostile: tuple[LlamaServerStandIn, str], tmp_path: Path
) -> None:
    _, base = hostile
    video = write_video(tmp_path / "clip.mp4", [((200, 40, 40), 2.0), ((40, 40, 200), 2.0)])
    out = tmp_path / "out"
    done = smolsight(
        "summarize", str(video), *remote(base), "--export", "vtt,srt,md,json", "--out", str(out), timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert clean(done.stdout) and clean(done.stderr), done.stdout
    files = sorted(out.glob("clip.smolsight.*"))
    assert {f.suffix for f in files} == {".vtt", ".srt", ".md", ".json"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "PWNED" in text and clean(text), path.name
        assert "\\u202e" not in text and "\\u2028" not in text, path.name  # not even as JSON escapes
    assert clean(log_text())
    assert os.environ.get("XDG_STATE_HOME")  # the log read above is this session's own
