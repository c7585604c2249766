"""One log setup for the window and every command: details to the file, one plain line to the terminal."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.logs import setup_logging


@pytest.fixture
def fresh_logging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """SmolSight's logging set up anew into `tmp_path`; the process's own handlers put back after."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    for handler in before:
        if handler.get_name() == "smolsight":
            root.removeHandler(handler)
    path = setup_logging()
    assert path is not None
    yield path
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
            handler.close()
    for handler in before:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def test_a_model_thread_exception_reaches_the_log_file_and_not_the_terminal(
    fresh_logging: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail() -> None:
        try:
            raise RuntimeError("Exception from src/plugin.cpp:12:\nthe kernel broke")
        except RuntimeError:
            logging.getLogger("app.inference.model_thread").exception(
                "a generation failed on the model thread"
            )

    thread = threading.Thread(target=fail)
    thread.start()
    thread.join()
    logging.getLogger("app.inference.model_thread").error(
        "the model thread did not stop within 10.0 s\nsecond line"
    )
    err = capsys.readouterr().err
    assert err == "smolsight: the model thread did not stop within 10.0 s\n"  # one line; no traceback
    text = fresh_logging.read_text(encoding="utf-8")
    assert (
        "a generation failed on the model thread" in text
        and "Traceback" in text
        and "the kernel broke" in text
    )


def test_setting_up_twice_adds_nothing(fresh_logging: Path) -> None:
    count = len(logging.getLogger().handlers)
    assert setup_logging() == fresh_logging
    assert len(logging.getLogger().handlers) == count
