"""Which CPU kernels are faster here, measured once at load time.

Generating a token multiplies one vector by every weight matrix of the decoder, so decoding
is bound by how fast weights stream from memory. On the 2-core machine we measure on,
PyTorch's fp32 matrix-vector product reads ~14 GB/s while NumPy's (OpenBLAS) reads ~23 GB/s;
elsewhere it may be the other way round, so we measure. The two thread pools (PyTorch's
OpenMP and OpenBLAS) take turns; `OMP_WAIT_POLICY=PASSIVE` (set in `app/__init__.py`) stops
OpenMP's idle threads from spinning while OpenBLAS works.
"""

from __future__ import annotations

import functools
import time
from typing import Any


@functools.cache
def numpy_gemv_is_faster() -> bool:
    """Measure once whether NumPy's matrix-vector product beats PyTorch's on this CPU."""
    import torch

    weights = [torch.randn(2560, 960) for _ in range(16)]  # ~160 MB: far beyond the caches
    arrays = [w.numpy().T for w in weights]
    x = torch.randn(1, 960)
    xn = x.numpy()

    def best(fn: Any) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    with torch.inference_mode():
        torch_s = best(lambda: [torch.nn.functional.linear(x, w) for w in weights])
    numpy_s = best(lambda: [xn @ a for a in arrays])
    return numpy_s < 0.85 * torch_s
