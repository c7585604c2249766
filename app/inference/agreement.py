"""How close two engines' numbers are: the measures the precision checks and the compiled-cache check use."""

from __future__ import annotations

import numpy as np


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two arrays, flattened, in float64."""
    x, y = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def difference(got: np.ndarray, want: np.ndarray) -> float:
    """The largest difference between two probes, relative to the record's largest value (inf: NaN)."""
    if got.shape != want.shape or not np.isfinite(got).all():
        return float("inf")
    return float(np.abs(got - want).max() / max(float(np.abs(want).max()), 1e-6))
