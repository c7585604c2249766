"""The models on offer by name: what each name stands for on each engine, and the commands that list them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.capture.frames import Frame
from app.cli import main
from app.config import EngineSettings
from app.exit_codes import ExitCode
from app.inference.backend import BackendError
from app.inference.catalog import CATALOG, family_of, find, public_name, source_for
from app.inference.chat_format import render_qwen_prompt
from app.inference.factory import create_backend, why_not_loadable
from app.inference.openvino.backend import OpenVINOBackend
from app.inference.openvino.genai import GenAIBackend
from app.inference.types import ChatTurn, GenerationRequest
from tests.media import photo


def test_three_models_each_with_a_role_and_a_download_per_engine() -> None:
    assert [(m.name, m.role) for m in CATALOG] == [
        ("smolvlm2-256m", "fastest"),
        ("smolvlm2-500m", "balanced"),
        ("qwen3.5-0.8b", "most accurate"),
    ]
    for model in CATALOG:
        for engine in ("openvino", "transformers", "mlx"):
            assert "/" in model.repo(engine) and model.size(engine).startswith("about ")
    assert find("Qwen3.5-0.8B") is find("qwen3.5-0.8b") is not None
    assert public_name("OpenVINO/Qwen3.5-0.8B-int4-ov") == "qwen3.5-0.8b"
    assert public_name(None) == "smolvlm2-500m" and public_name("me/my-model") == "me/my-model"


def test_a_name_stands_for_each_engines_own_download(tmp_path: Path) -> None:
    assert source_for("qwen3.5-0.8b", "openvino") == "OpenVINO/Qwen3.5-0.8B-int4-ov"
    assert source_for("qwen3.5-0.8b", "transformers") == "Qwen/Qwen3.5-0.8B"
    assert source_for(None, "mlx") == "mlx-community/SmolVLM2-500M-Video-Instruct-mlx"
    assert source_for("someone/their-model", "openvino") == "someone/their-model"
    qwen = create_backend(EngineSettings(backend="openvino", model="qwen3.5-0.8b"))
    assert isinstance(qwen, GenAIBackend) and qwen.info.model == "OpenVINO/Qwen3.5-0.8B-int4-ov"
    small = create_backend(EngineSettings(backend="openvino", model="smolvlm2-256m"))
    assert isinstance(small, OpenVINOBackend)
    assert small.info.model == "HuggingFaceTB/SmolVLM2-256M-Video-Instruct"
    with pytest.raises(BackendError, match="No model called 'qwen-9000': use one of smolvlm2-256m"):
        create_backend(EngineSettings(backend="openvino", model="qwen-9000"))
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen3_5"}))
    assert family_of(str(folder)) == "qwen3_5" and family_of("OpenVINO/Qwen3.5-0.8B-int4-ov") == "qwen3_5"
    assert family_of("HuggingFaceTB/SmolVLM2-256M-Video-Instruct") == "smolvlm2"


def test_a_name_not_downloaded_offline_is_said_plainly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    why = why_not_loadable("qwen3.5-0.8b")
    assert why is not None and "OpenVINO/Qwen3.5-0.8B-int4-ov is not on this computer yet" in why
    assert "No model called 'nothing-like-it'" in str(why_not_loadable("nothing-like-it"))


def test_smolsight_models_lists_the_three_with_downloads_and_the_engine_here(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert main(["models", "--backend", "openvino", "--model", "qwen3.5-0.8b"]) == ExitCode.OK
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "  smolvlm2-256m   fastest" in lines[1] and "about 280 MB" in lines[1]
    assert "balanced, the default" in lines[2] and "about 520 MB" in lines[2]
    assert lines[3].startswith("* qwen3.5-0.8b") and "about 0.9 GB" in lines[3]
    assert "OpenVINO GenAI (CPU)" in lines[3] and "not yet" in lines[3]
    assert main(["models", "--backend", "transformers", "--json"]) == ExitCode.OK
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["download"], r["repo"]) for r in rows][2] == (
        "qwen3.5-0.8b",
        "about 1.8 GB",
        "Qwen/Qwen3.5-0.8B",
    )
    assert [r["chosen"] for r in rows] == [False, True, False]  # no model named: the default


def test_download_takes_a_name_and_says_which_repository_it_needs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    assert main(["download", "qwen3.5-0.8b", "--backend", "openvino"]) == ExitCode.MODEL
    err = capsys.readouterr().err
    assert "Downloading OpenVINO/Qwen3.5-0.8B-int4-ov" in err
    assert "OpenVINO/Qwen3.5-0.8B-int4-ov is not on this computer yet" in err
    assert "Unset HF_HUB_OFFLINE to download it." in err and "internet connection" not in err


def test_download_of_a_folder_says_there_is_nothing_to_download(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "smolvlm"}))
    assert main(["download", str(folder), "--backend", "transformers"]) == ExitCode.MODEL
    err = capsys.readouterr().err  # a folder without weights: what it lacks, no word of downloading
    assert "is a folder on this computer: nothing to download." in err and "has no model weights" in err
    assert "Downloading" not in err and "HF_HUB_OFFLINE" not in err and "internet" not in err
    (folder / "model.safetensors").write_bytes(b"")
    assert main(["download", str(folder), "--backend", "transformers"]) == ExitCode.OK
    assert capsys.readouterr().out.strip() == str(folder)


def test_qwens_prompt_is_its_chat_format_with_our_words() -> None:
    picture = (Frame(photo()),)
    request = GenerationRequest(
        "And the colour?",
        frames=picture,
        system="Be brief.",
        history=(ChatTurn("user", "What is this?"), ChatTurn("assistant", "A mug.")),
    )
    assert render_qwen_prompt(request) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nWhat is this?<|im_end|>\n"
        "<|im_start|>assistant\nA mug.<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>And the colour?<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    )
    clip = tuple(Frame(photo(), float(t)) for t in (0, 1))
    text = render_qwen_prompt(GenerationRequest("What happens?", frames=clip), lambda i: f"<img{i}>")
    assert "following series of two frames" in text
    assert "\nFrame from 00:00: <img0>\nFrame from 00:01: <img1>\n\nWhat happens?" in text
