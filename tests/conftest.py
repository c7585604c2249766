"""Shared fixtures: a locally built tiny SmolVLM2, isolated settings, leak guards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own settings file and an empty model cache."""
    monkeypatch.setenv("SMOLSIGHT_CONFIG", str(tmp_path / "settings.json"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Converted models go to one cache for the whole run, never the developer's own."""
    os.environ["SMOLSIGHT_CACHE_DIR"] = str(tmp_path_factory.mktemp("smolsight-cache"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random SmolVLM2 folder built once per test session."""
    from app.devtools.model_builder import build_model

    return build_model(tmp_path_factory.mktemp("models") / "tiny-smolvlm2")


def mlx_installed() -> bool:
    """Whether the MLX path can be tested here."""
    from app.inference.mlx_backend import mlx_available

    return mlx_available()


needs_mlx = pytest.mark.skipif(not mlx_installed(), reason="mlx and mlx-vlm are not installed")
