"""The accuracy guard's rules, on numbers made up to sit either side of each threshold."""

from __future__ import annotations

import numpy as np
import pytest

from app.capture.frames import Frame
from app.evaluation.precision import Agreement, Picture, agreements, failures, guard_pictures
from app.inference.types import GenerationRequest


def rows(features: float, logits: float, same: int = 10, total: int = 10) -> list[Agreement]:
    return [Agreement(f"p{i}", "held-out", features, logits, i < same) for i in range(total)]


BASE = rows(0.9994, 0.997)  # what 8-bit weights alone cause


def test_close_arithmetic_passes() -> None:
    assert failures(rows(0.9993, 0.9965), BASE) == []


def test_each_rule_can_fail_on_its_own() -> None:
    one = rows(0.9994, 0.997, total=1)
    assert failures(rows(0.9979, 0.9969, total=1), rows(0.9985, 0.997, total=1)) == [
        "p0: image features cosine 0.99790 ≤ 0.998"  # 1.4× the weights' error: only the floor fails
    ]
    assert failures(rows(0.9994, 0.989, total=1), rows(0.9994, 0.98, total=1)) == [
        "p0: first-token logits cosine 0.98900 ≤ 0.99"
    ]
    assert failures(rows(0.9994, 0.997, same=8), BASE) == [
        "the most likely first token is the same for 80% of the pictures (< 90 %)"
    ]
    assert failures(rows(0.9985, 0.997, total=1), one) == [
        "image features: error 1.50e-03 is 2.5× the 8-bit weights' own (6.00e-04)"
    ]
    assert failures(rows(0.9994, 0.992, total=1), one) == [
        "first-token logits: error 8.00e-03 is 2.7× the 8-bit weights' own (3.00e-03)"
    ]


class Fixed:
    """A probe whose numbers depend only on the picture's size, plus a fixed perturbation."""

    def __init__(self, shift: float) -> None:
        self.shift = shift

    def image_features(self, request: GenerationRequest) -> np.ndarray:
        base = np.arange(1, 65, dtype=np.float32) * request.frames[0].image.shape[0]
        return base + self.shift * np.cos(base)

    def first_token_logits(self, request: GenerationRequest) -> np.ndarray:
        return np.linspace(-1, 1, 100, dtype=np.float32) + self.shift * np.sin(np.arange(100))


def test_agreements_compare_picture_by_picture() -> None:
    pictures = [Picture("a", "calibration", Frame(np.zeros((8, 8, 3), np.uint8), 0.0))]
    (row,) = agreements(Fixed(0.0), Fixed(0.0), pictures)
    assert (row.picture, row.role, row.top1_same) == ("a", "calibration", True)
    assert row.features_cosine == pytest.approx(1.0) and row.logits_cosine == pytest.approx(1.0)
    (moved,) = agreements(Fixed(3.0), Fixed(0.0), pictures)
    assert moved.features_cosine < 0.99999 and moved.logits_cosine < 0.5 and not moved.top1_same


def test_the_guard_pictures_are_real_frames_and_photographs() -> None:
    pictures = guard_pictures()
    assert [p.role for p in pictures[:4]] == ["calibration"] * 4
    assert {p.name for p in pictures if p.role == "held-out"} >= {"coffee.jpg", "page.png"}
    assert all(p.frame.image.ndim == 3 and p.frame.image.shape[2] == 3 for p in pictures)
    assert pictures[0].request().frames == (pictures[0].frame,)
