"""The VQA metric and the multi-turn context protocol, checked with answers we control."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.evaluation.follow_ups import SAMPLE, evaluate_follow_ups
from app.evaluation.vqa import (
    evaluate,
    exact_match,
    load_image,
    load_items,
    normalize_answer,
    short_answer,
    vqa_accuracy,
)
from app.inference.types import GenerationRequest

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "resources" / "eval" / "vqa_sample.jsonl"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("A Cat.", "cat"),
        ("the red mug", "red mug"),
        ("Two", "2"),
        ("zero", "0"),
        ("1,000", "1000"),
        ("3.5", "3.5"),
        ("dont know", "don't know"),
        ("Yes!", "yes"),
        ("an espresso, probably", "espresso probably"),
    ],
)
def test_normalization(raw: str, normal: str) -> None:
    assert normalize_answer(raw) == normal


def test_three_annotator_rule() -> None:
    answers = ["cat"] * 4 + ["kitten"] * 2 + ["dog"] + ["tiger"] * 3
    assert vqa_accuracy("a cat", answers) == 1.0
    assert vqa_accuracy("Kitten.", answers) == pytest.approx(2 / 3)
    assert vqa_accuracy("dog", answers) == pytest.approx(1 / 3)
    assert vqa_accuracy("tiger", answers) == 1.0
    assert vqa_accuracy("horse", answers) == 0.0
    assert exact_match("The cat", answers) and not exact_match("tiger", answers)
    assert short_answer("Red. The mug is on a desk.") == "Red"


def test_scores_over_the_sample_set_with_known_answers() -> None:
    items = load_items(SAMPLE_DATA)
    assert len(items) >= 12
    truth = {(i.image, i.question): i.answers for i in items}
    # Right on every other question (the annotators' first answer), wrong on the rest.
    replies = {
        key: (answers[0] + ". Probably." if n % 2 == 0 else "banana")
        for n, (key, answers) in enumerate(truth.items())
    }
    seen: list[tuple[int, ...]] = []

    def answer(image: np.ndarray, question: str) -> str:
        seen.append(image.shape)
        image_name = next(k for k in truth if k[1] == question)[0]
        return replies[(image_name, question)]

    result = evaluate(items, answer, images=SAMPLE_DATA.parent)
    expected = sum(
        vqa_accuracy(short_answer(replies[(i.image, i.question)]), i.answers) for i in items
    ) / len(items)
    assert result.vqa_accuracy == pytest.approx(expected)
    assert 0.3 < result.vqa_accuracy < 0.6
    assert all(len(shape) == 3 and shape[2] == 3 for shape in seen)  # real photographs were loaded


def test_the_sample_sets_pictures_ship_with_smolsight(monkeypatch: pytest.MonkeyPatch) -> None:
    """`smolsight eval` works on an ordinary install: no scikit-image (a developer tool) needed."""
    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.data", None)
    names = {item.image for item in load_items(SAMPLE_DATA)} | {item.image for item in SAMPLE}
    for name in names:
        image = load_image(name, SAMPLE_DATA.parent)
        assert image.ndim == 3 and image.shape[2] == 3 and min(image.shape[:2]) >= 190, name


def test_bad_data_file_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "d.jsonl"
    bad.write_text('{"image": "x.png", "question": "q", "answers": ["a"]}\n{"image": "y.png"}\n')
    with pytest.raises(ValueError, match="line 2"):
        load_items(bad)


def prompt_only_model(request: GenerationRequest) -> str:
    """Describes pictures it is shown; without a picture it can only repeat its notes."""
    descriptions = {
        (400, 600): "A red cup of coffee on a white saucer with a spoon.",
        (300, 451): "A brown tabby cat with its eyes open looks at the camera.",
        (427, 640): "A rocket on a launch pad at night, lit by lights.",
    }
    if request.frames:
        return descriptions[request.frames[0].image.shape[:2]]  # type: ignore[union-attr]
    notes, _, _question = request.prompt.rpartition("\n\n")
    return notes.split(":", 1)[1] if "Seen:" in notes else "I can't tell."


def test_context_protocol_scores_100_with_memory_and_0_without() -> None:
    with_memory = evaluate_follow_ups(prompt_only_model, memory=True)
    without = evaluate_follow_ups(prompt_only_model, memory=False)
    assert (with_memory.score, with_memory.total) == (100.0, 3 * len(SAMPLE))
    assert without.score == 0.0


def test_cli_eval_context_with_the_tiny_model(
    tiny_model: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["eval", "context", "--model", str(tiny_model), "--json", str(tmp_path / "c.json")]) == 0
    assert "context understanding:" in capsys.readouterr().out
    assert (tmp_path / "c.json").exists()
