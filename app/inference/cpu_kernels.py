"""Faster one-token decoding on CPUs: matrix-vector products through NumPy's BLAS.

Generating a token multiplies one vector by every weight matrix of the decoder, so decoding
is bound by how fast weights stream from memory. On the 2-core machine we measure on,
PyTorch's fp32 matrix-vector product reads ~14 GB/s while NumPy's (OpenBLAS) reads ~23 GB/s.
For inputs of a single row we compute `x @ W.T` with NumPy on the same memory (no copies);
prompts (many rows) keep PyTorch's matrix-matrix kernels. Whether to switch is decided by a
short measurement at load time, so machines where PyTorch is faster keep PyTorch. The two
thread pools (PyTorch's OpenMP and OpenBLAS) take turns; `OMP_WAIT_POLICY=PASSIVE` (set in
`app/__init__.py`) stops OpenMP's idle threads from spinning while OpenBLAS works.
"""

from __future__ import annotations

import functools
import time
import types
from typing import Any


def _one_row_forward(self: Any, x: Any) -> Any:
    import torch

    if x.dim() >= 2 and x.shape[-2] == 1 and x.dtype == torch.float32 and not torch.is_grad_enabled():
        out = x.reshape(-1, x.shape[-1]).numpy() @ self._np_weight_t
        if self._np_bias is not None:
            out += self._np_bias
        return torch.from_numpy(out).reshape(*x.shape[:-1], out.shape[-1])
    return self._torch_forward(x)


def use_numpy_gemv(module: Any) -> int:
    """Route one-row products of every fp32 CPU `nn.Linear` in `module` through NumPy.

    Returns how many layers were switched; layers already switched are left alone.
    """
    import torch

    count = 0
    for layer in module.modules():
        if not isinstance(layer, torch.nn.Linear) or hasattr(layer, "_torch_forward"):
            continue
        weight = layer.weight
        if weight.dtype != torch.float32 or weight.device.type != "cpu":
            continue
        layer._np_weight_t = weight.detach().numpy().T  # a view of the same memory
        layer._np_bias = None if layer.bias is None else layer.bias.detach().numpy()
        layer._torch_forward = layer.forward
        layer.forward = types.MethodType(_one_row_forward, layer)
        count += 1
    return count


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
