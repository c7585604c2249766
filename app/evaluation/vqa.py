"""VQA accuracy: the standard answer normalization and the min(matches / 3, 1) rule.

The normalization follows the VQA challenge's evaluation script: lower case, punctuation
removed (but not decimal points), number words written as digits, articles dropped, common
contractions restored. A prediction scores min(number of annotators who gave it / 3, 1);
exact match asks for the most common annotator answer.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_CONTRACTIONS = {
    "dont": "don't", "doesnt": "doesn't", "isnt": "isn't", "arent": "aren't", "cant": "can't",
    "wont": "won't", "didnt": "didn't", "wasnt": "wasn't", "werent": "weren't", "im": "i'm",
    "ive": "i've", "youre": "you're", "theyre": "they're", "thats": "that's", "whats": "what's",
    "its": "it's", "hes": "he's", "shes": "she's", "couldnt": "couldn't", "shouldnt": "shouldn't",
}  # fmt: skip
_NUMBERS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
_ARTICLES = {"a", "an", "the"}
_PUNCT = re.compile(r"[;/\[\]\"{}()=+\\_\-><@`,?!*#%^&$|~:']")
_PERIOD = re.compile(r"(?<!\d)\.(?!\d)")
_COMMA_NUMBER = re.compile(r"(\d),(\d)")


def normalize_answer(answer: str) -> str:
    """An answer in the VQA evaluation's normal form."""
    text = answer.replace("\n", " ").replace("\t", " ").strip().lower()
    text = _COMMA_NUMBER.sub(r"\1\2", text)
    text = _PERIOD.sub("", text)
    words = []
    for word in _PUNCT.sub(" ", text.replace("'", "")).split():
        word = _NUMBERS.get(word, word)
        if word in _ARTICLES:
            continue
        words.append(_CONTRACTIONS.get(word, word))
    return " ".join(words)


def vqa_accuracy(prediction: str, answers: Iterable[str]) -> float:
    """min(annotators who gave the prediction / 3, 1)."""
    pred = normalize_answer(prediction)
    matches = sum(1 for a in answers if normalize_answer(a) == pred)
    return min(matches / 3.0, 1.0)


def exact_match(prediction: str, answers: Iterable[str]) -> bool:
    """Whether the prediction is the most common annotator answer (after normalization)."""
    counts = Counter(normalize_answer(a) for a in answers)
    return bool(counts) and normalize_answer(prediction) == counts.most_common(1)[0][0]


def short_answer(text: str) -> str:
    """The answer part of a model's reply: its first sentence, without a trailing period."""
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return first.rstrip(".!")


@dataclass(frozen=True)
class VQAItem:
    """One question about one image, with the annotators' answers."""

    image: str
    question: str
    answers: tuple[str, ...]


@dataclass(frozen=True)
class VQAResult:
    """Scores over a data set."""

    items: int
    vqa_accuracy: float
    exact_match: float
    rows: tuple[dict[str, object], ...]


def load_items(path: Path) -> list[VQAItem]:
    """Read a JSONL file: one {"image", "question", "answers"} object per line."""
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            items.append(
                VQAItem(str(data["image"]), str(data["question"]), tuple(str(a) for a in data["answers"]))
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}, line {n}: expected {{image, question, answers}} ({exc})") from None
    if not items:
        raise ValueError(f"{path} has no questions")
    return items


def load_image(name: str, images: Path) -> np.ndarray:
    """The picture `name` (a file name, relative to the data set's image folder `images`)."""
    from app.capture.media import load_image as read

    return read(images / name)


def evaluate(items: list[VQAItem], answer: Callable[[np.ndarray, str], str], *, images: Path) -> VQAResult:
    """Ask every question with `answer(image, question)` about its picture in `images`; score the replies."""
    rows: list[dict[str, object]] = []
    scores: list[float] = []
    exact: list[bool] = []
    for item in items:
        reply = answer(load_image(item.image, images), item.question)
        pred = short_answer(reply)
        scores.append(vqa_accuracy(pred, item.answers))
        exact.append(exact_match(pred, item.answers))
        rows.append(
            {
                "image": item.image,
                "question": item.question,
                "reply": reply,
                "prediction": normalize_answer(pred),
                "vqa_accuracy": scores[-1],
                "exact_match": exact[-1],
            }
        )
    n = len(rows)
    return VQAResult(items=n, vqa_accuracy=sum(scores) / n, exact_match=sum(exact) / n, rows=tuple(rows))
