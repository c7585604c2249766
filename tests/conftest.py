"""Shared fixtures: a locally built tiny SmolVLM2, isolated settings, leak guards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.desktop import xvfb
from tests.fakes import FakeBackend

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from app.server.api import ServedModel
    from app.ui.main_window import MainWindow
from tests.speechd import speechd_standin

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["pytester", "tests.leak_guard"]

# tqdm starts a process-wide monitor thread on first use that lives forever; progress bars
# work without it.
import tqdm  # noqa: E402

tqdm.tqdm.monitor_interval = 0

# Settings and caches of the developer's machine never leak into tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"


def pytest_report_header(config: pytest.Config) -> str:
    """The free disk where temporary folders go: the slow tests need several gigabytes at once."""
    import tempfile

    free = shutil.disk_usage(tempfile.gettempdir()).free
    return f"free disk in {tempfile.gettempdir()}: {free / 2**30:.1f} GiB (the slow tests need about 7)"


def _speech_dispatchers() -> set[int]:
    """Process ids of every speech-dispatcher daemon running on this machine."""
    import psutil

    found = set()
    for process in psutil.process_iter(["name"]):
        if (process.info.get("name") or "").startswith("speech-dispatch"):
            found.add(process.pid)
    return found


@pytest.fixture(scope="session", autouse=True)
def _no_real_speech_dispatcher() -> Iterator[None]:
    """Every speech engine the tests start (in-process or in a launched app) talks to a stand-in.

    The stand-in hangs up at once, so libspeechd never autospawns a real daemon; tests that need
    another behaviour start their own (tests/speechd.py). Afterwards no new speech-dispatcher
    may be running.
    """
    if not sys.platform.startswith("linux"):  # speech-dispatcher is Linux's (and its stand-in needs AF_UNIX)
        yield
        return
    before = _speech_dispatchers()
    with speechd_standin("hangup") as standin:
        os.environ["SPEECHD_ADDRESS"] = standin.address
        yield
    started = _speech_dispatchers() - before
    assert not started, f"the tests started speech-dispatcher (pids {sorted(started)})"


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own settings file and an empty model cache."""
    monkeypatch.setenv("SMOLSIGHT_CONFIG", str(tmp_path / "settings.json"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Converted models go to one cache for the whole run, never the developer's own."""
    os.environ["SMOLSIGHT_CACHE_DIR"] = str(tmp_path_factory.mktemp("smolsight-cache"))
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))  # where commands write their log


@pytest.fixture(scope="session")
def text_reader_loaded() -> None:
    """The process's text reader, loaded once, for the tests whose timing must not include its start.

    Everything else loads it on first use (once per process: the reader is shared), or never.
    """
    from app.reading.reader import shared_reader

    shared_reader().warm_up()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random SmolVLM2 folder built once per test session."""
    from app.devtools.model_builder import build_model

    return build_model(tmp_path_factory.mktemp("models") / "tiny-smolvlm2")


@pytest.fixture(scope="session")
def onnx_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with an `onnx/` export (full precision and 8-bit) beside its PyTorch weights.

    The published layout (`app.devtools.onnx_layout`): what a downloaded copy of the model holds.
    """
    from app.devtools.onnx_layout import write_onnx_layout

    folder = tmp_path_factory.mktemp("published") / "tiny-onnx"
    shutil.copytree(tiny_model, folder)
    write_onnx_layout(folder, ("fp32", "int8"))
    return folder


@pytest.fixture(scope="session")
def qwen_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen3.5 built once per session: PyTorch weights and OpenVINO's export (fp32).

    The export runs optimum-intel in an environment of its own, made once beside this one
    (`app.devtools.qwen_builder.export_python`: about a minute the first time).
    """
    from app.devtools.qwen_builder import build_qwen

    return build_qwen(tmp_path_factory.mktemp("models") / "tiny-qwen3.5")


@pytest.fixture(scope="session")
def small_onnx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random SmolVLM2-256M (its own widths and heads) with the published ONNX export."""
    from app.devtools.model_builder import build_model
    from app.devtools.onnx_layout import write_onnx_layout

    folder = build_model(tmp_path_factory.mktemp("models") / "tiny-smolvlm2-256m", family="smolvlm2-256m")
    write_onnx_layout(folder, ("fp32", "int8"))
    return folder


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolSight's wheel, built as `pip install .` and pipx build it, from a clean copy of the tree.

    A copy, because setuptools reuses its `build/` folder: a file an earlier build left there
    (a package since dropped from the wheel, say) would otherwise ship again.
    """
    source = tmp_path_factory.mktemp("source") / "smolsight"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "models", ".cache"
        ),
    )
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", out, source],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("smolsight-*.whl"))


def mlx_installed() -> bool:
    """Whether the MLX path can be tested here."""
    from app.inference.mlx_backend import mlx_available

    return mlx_available()


needs_mlx = pytest.mark.skipif(not mlx_installed(), reason="mlx and mlx-vlm are not installed")


@pytest.fixture(autouse=True)
def _shut_down_what_the_test_started() -> Iterator[None]:
    """Even a failing test leaves no model thread or live session running (`tests/cleanup.py`)."""
    yield
    from tests.cleanup import shut_down_everything

    stuck = shut_down_everything()
    assert stuck == [], f"did not stop within 5 s: {stuck}"


@pytest.fixture
def x_display() -> Iterator[str]:
    """A real X server (Xvfb) on a free display number; its DISPLAY value."""
    with xvfb() as display:
        yield display


@pytest.fixture
def no_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Modal dialogs return at once (they would block the test)."""
    from PySide6.QtWidgets import QDialog, QFileDialog

    monkeypatch.setattr(QDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path, no_dialogs: None) -> Iterator[MainWindow]:
    """The main window on the fake engine, narration off (the tests press its buttons), closed after."""
    from tests.windows import open_window

    w = open_window(qtbot, tmp_path)
    w.session.continuous = False
    yield w
    w.close()
    assert not w.session.model_thread.running


@pytest.fixture
def fake_server() -> Iterator[tuple[str, FakeBackend, ServedModel]]:
    """SmolSight's server on 127.0.0.1 with the fake engine (small image limits); URL, engine, model."""
    from app.server.api import ApiPolicy, create_app
    from app.server.images import ImageLimits
    from tests.servers import served_model, serving, wait_ready

    backend = FakeBackend(seconds_per_call=0.05, tokens=6)
    served = served_model(lambda _m: backend, name="fake-model", queue_size=4)
    options = ApiPolicy(images=ImageLimits(max_bytes=200_000, max_pixels=4_000_000))
    with serving(create_app(served, options)) as base:
        wait_ready(base, 10)
        yield base, backend, served
    assert served.shutdown()
