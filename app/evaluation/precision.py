"""The accuracy guard of 8-bit arithmetic: an engine's numbers against full precision.

An engine that computes in 8 bits (weights, and activations quantized at run time or
calibrated ahead) is compared with the same model at full precision on real pictures: four
frames of the sample video ("calibration": what a static quantization would be calibrated on)
and the evaluation photographs ("held-out"). For each picture, a live description's request:
the cosine similarity of the image features and of the first token's logits, and whether the
most likely first token is the same. A candidate passes when

- every picture keeps its features (cosine > 0.998) and logits (cosine > 0.99),
- at least 90 % of the pictures keep their most likely first token, and
- its error (1 − cosine, averaged over the pictures) is at most twice what the 8-bit weights
  alone cause (the same weights computed at full precision), for the features and the logits:
  8-bit activations may add to the weights' error, not multiply it.

With random weights (all this workplace has) the guard checks the arithmetic at the real
model's size, not the answers; with the real weights, `smolsight eval vqa --dtype float32`
against the default measures the answers (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from app.capture.frames import Frame
from app.capture.media import load_image, sample_video
from app.inference.agreement import cosine
from app.inference.types import GenerationRequest
from app.paths import resource_file
from app.prompts import describe_prompt

FEATURES_COSINE = 0.998
LOGITS_COSINE = 0.99
TOP1_AGREEMENT = 0.9
ERROR_GROWTH = 2.0

Role = Literal["calibration", "held-out"]


class Probe(Protocol):
    """What the guard reads of an engine."""

    def image_features(self, request: GenerationRequest) -> np.ndarray:
        """The vision encoder's features for the request's pictures."""
        ...

    def first_token_logits(self, request: GenerationRequest) -> np.ndarray:
        """The logits of the first token of the answer to `request`."""
        ...


@dataclass(frozen=True)
class Picture:
    """One picture of the guard."""

    name: str
    role: Role
    frame: Frame

    def request(self) -> GenerationRequest:
        """A live description's request for this picture."""
        return GenerationRequest(describe_prompt("brief"), frames=(self.frame,), max_tokens=20)


@dataclass(frozen=True)
class Agreement:
    """How close a candidate's numbers for one picture are to the reference's."""

    picture: str
    role: Role
    features_cosine: float
    logits_cosine: float
    top1_same: bool


def guard_pictures(video_frames: int = 4) -> list[Picture]:
    """Frames of the sample video (calibration) and the evaluation photographs (held-out)."""
    video = sample_video(resource_file("sample.mp4"), fps=1.0, max_frames=video_frames)
    folder = resource_file("eval")
    photos = sorted(p for p in folder.iterdir() if p.suffix in (".jpg", ".png"))
    return [Picture(f"sample.mp4 at {f.timestamp:.0f} s", "calibration", f) for f in video] + [
        Picture(p.name, "held-out", Frame(load_image(p), 0.0)) for p in photos
    ]


def agreements(candidate: Probe, reference: Probe, pictures: Sequence[Picture]) -> list[Agreement]:
    """The candidate's numbers against the reference's, picture by picture."""
    rows = []
    for picture in pictures:
        request = picture.request()
        features = cosine(candidate.image_features(request), reference.image_features(request))
        ours, theirs = candidate.first_token_logits(request), reference.first_token_logits(request)
        rows.append(
            Agreement(
                picture.name,
                picture.role,
                features,
                cosine(ours, theirs),
                int(np.argmax(ours)) == int(np.argmax(theirs)),
            )
        )
    return rows


def mean_error(rows: Sequence[Agreement]) -> tuple[float, float]:
    """(features, logits) error, 1 − cosine, averaged over the pictures."""
    return (
        float(np.mean([1 - r.features_cosine for r in rows])),
        float(np.mean([1 - r.logits_cosine for r in rows])),
    )


def failures(candidate: Sequence[Agreement], weights_only: Sequence[Agreement]) -> list[str]:
    """Why `candidate` fails the guard (empty: it passes); `weights_only` is the 8-bit weights' own error."""
    found = []
    for row in candidate:
        if row.features_cosine <= FEATURES_COSINE:
            found.append(
                f"{row.picture}: image features cosine {row.features_cosine:.5f} ≤ {FEATURES_COSINE}"
            )
        if row.logits_cosine <= LOGITS_COSINE:
            found.append(
                f"{row.picture}: first-token logits cosine {row.logits_cosine:.5f} ≤ {LOGITS_COSINE}"
            )
    same = sum(r.top1_same for r in candidate) / max(len(candidate), 1)
    if same < TOP1_AGREEMENT:
        found.append(f"the most likely first token is the same for {same:.0%} of the pictures (< 90 %)")
    for what, ours, base in zip(
        ("image features", "first-token logits"), mean_error(candidate), mean_error(weights_only), strict=True
    ):
        if ours > ERROR_GROWTH * base:
            found.append(
                f"{what}: error {ours:.2e} is {ours / base:.1f}× the 8-bit weights' own ({base:.2e})"
            )
    return found


def report(rows: Sequence[Agreement]) -> str:
    """One line per picture."""
    return "\n".join(
        f"{r.picture} ({r.role}): features {r.features_cosine:.5f}, logits {r.logits_cosine:.5f}, "
        f"first token {'same' if r.top1_same else 'different'}"
        for r in rows
    )
