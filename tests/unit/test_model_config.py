"""One rule each for what a model folder says (app/inference/model_config.py) and what a model name means."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.inference.model_config import context_limit, end_token_ids, family_of_folder, read_config
from app.inference.model_files import model_kind

VOCABULARY = {"<end_of_utterance>": 49279, "<|im_end|>": 248044, "<|endoftext|>": 248045}


def folder_with(tmp_path: Path, config: object, generation: object | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if generation is not None:
        (tmp_path / "generation_config.json").write_text(json.dumps(generation), encoding="utf-8")
    return tmp_path


def test_the_end_tokens_are_the_folders_and_the_familys_for_every_engine(tmp_path: Path) -> None:
    smol = folder_with(tmp_path / "smol", {"model_type": "smolvlm"}, {"eos_token_id": [2, 49279]})
    assert end_token_ids(smol, VOCABULARY.get) == {2, 49279}
    # Where the engines disagreed: transformers took no Qwen end token of its own, MLX ignored
    # generation_config.json, the CPU engine the tokenizer's own end token.
    qwen = folder_with(tmp_path / "qwen", {"model_type": "qwen3_5"}, {"eos_token_id": 248046})
    assert end_token_ids(qwen, VOCABULARY.get) == {248044, 248045, 248046}
    assert end_token_ids(qwen, VOCABULARY.get, also=[7, None, [8, True]]) == {7, 8, 248044, 248045, 248046}
    bare = folder_with(tmp_path / "bare", {"model_type": "smolvlm"})
    assert end_token_ids(bare, {}.get) == frozenset()


def test_a_config_that_is_missing_or_not_json_reads_as_empty(tmp_path: Path) -> None:
    assert read_config(tmp_path) == {}
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    assert read_config(tmp_path) == {} and family_of_folder(tmp_path) == "smolvlm2"
    assert context_limit(tmp_path) == 8192
    folder_with(tmp_path, {"model_type": "qwen3_5", "text_config": {"max_position_embeddings": 262144}})
    assert family_of_folder(tmp_path) == "qwen3_5" and context_limit(tmp_path) == 262144


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        ("qwen3.5-0.8b", "word"),  # a model's name (check-model once called it "not a folder")
        ("nothing-like-it", "word"),
        ("HuggingFaceTB/SmolVLM2-500M-Video-Instruct", "hub"),
        ("/models/smolvlm2", "folder"),
        ("./local", "folder"),
        ("~/models/x", "folder"),
        ("C:\\models\\x", "folder"),
        ("a/b/c", "folder"),
    ],
)
def test_what_a_model_names_follows_one_rule(model: str, kind: str) -> None:
    assert model_kind(model) == kind


def test_a_word_that_is_a_folder_here_is_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mymodel").mkdir()
    monkeypatch.chdir(tmp_path)
    assert model_kind("mymodel") == "folder"
