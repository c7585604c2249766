"""What this machine and this model allow at best: the floors `smolsight bench` compares against.

Measured here: dense product throughput per precision and memory read bandwidth. Counted from
the model's `config.json`: the operations per picture and per token, and the bytes a decoding
step reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from app.inference.model_config import read_config


def measure_matmul_gflops(dtype_name: str, seconds: float = 1.0) -> float:
    """Dense matrix-product throughput here at `dtype_name` (GFLOP/s), with PyTorch's threads.

    "int8": 8-bit products with 32-bit sums (`torch._int_mm`), what VNNI/AMX CPUs run the
    CPU engine's 8-bit-weight products in; 0 where PyTorch has no such product here.
    """
    import torch

    n = 1024
    if dtype_name == "int8":
        a = torch.randint(-128, 128, (n, n), dtype=torch.int8)
        b = torch.randint(-128, 128, (n, n), dtype=torch.int8)

        def product() -> object:
            return torch._int_mm(a, b)

        try:
            product()
        except (RuntimeError, AttributeError):
            return 0.0
    else:
        dtype = getattr(torch, dtype_name)
        x, y = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)

        def product() -> object:
            return x @ y

        product()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < 2:
        product()
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


@cache
def int8_products_here() -> bool:
    """Whether OpenVINO runs 8-bit-weight products with 8-bit activations on this CPU.

    It does (run-time quantization of the activations, on by default) where the CPU has VNNI:
    AVX512-VNNI or AVX-VNNI on x86.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        try:
            from numpy._core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return False
        return bool(features.get("AVX512VNNI"))
    return "avx512_vnni" in flags or "avx_vnni" in flags


def measure_read_bandwidth_gbs(megabytes: int = 512) -> float:
    """Memory read bandwidth (GB/s): summing an array far larger than the caches, on every core."""
    import torch

    x = torch.ones(megabytes * 1024 * 1024 // 4, dtype=torch.float32)
    x.sum()
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        x.sum()
        best = max(best, x.numel() * 4 / (time.perf_counter() - start) / 1e9)
    return best


@dataclass(frozen=True)
class ModelShape:
    """The sizes of SmolVLM2's parts that its cost per token depends on (from config.json)."""

    image_size: int
    patch_size: int
    vision_hidden: int
    vision_mlp: int
    vision_layers: int
    scale_factor: int
    text_hidden: int
    text_mlp: int
    text_layers: int
    heads: int
    kv_heads: int
    vocab: int

    @classmethod
    def from_folder(cls, folder: Path) -> ModelShape:
        """Read a model folder's config.json."""
        config: dict[str, Any] = read_config(folder)
        v, t = config["vision_config"], config["text_config"]
        return cls(
            image_size=int(v.get("image_size", 512)),
            patch_size=int(v.get("patch_size", 16)),
            vision_hidden=int(v["hidden_size"]),
            vision_mlp=int(v["intermediate_size"]),
            vision_layers=int(v["num_hidden_layers"]),
            scale_factor=int(config.get("scale_factor", 4)),
            text_hidden=int(t["hidden_size"]),
            text_mlp=int(t["intermediate_size"]),
            text_layers=int(t["num_hidden_layers"]),
            heads=int(t["num_attention_heads"]),
            kv_heads=int(t.get("num_key_value_heads", t["num_attention_heads"])),
            vocab=int(t["vocab_size"]),
        )


def vision_flops(shape: ModelShape, tiles: int) -> float:
    """FLOPs of the vision encoder and connector for `tiles` 512 px tiles."""
    return sum(vision_flops_split(shape, tiles))


def vision_flops_split(shape: ModelShape, tiles: int) -> tuple[float, float]:
    """(products with weights, attention) FLOPs of the vision encoder and connector."""
    patches = (shape.image_size // shape.patch_size) ** 2
    h, m = shape.vision_hidden, shape.vision_mlp
    weights = 2 * patches * (4 * h * h + 2 * h * m)
    connector = 2 * (patches // shape.scale_factor**2) * (h * shape.scale_factor**2) * shape.text_hidden
    attention = 4 * patches * patches * h
    return float(tiles * (shape.vision_layers * weights + connector)), float(
        tiles * shape.vision_layers * attention
    )


def _text_params_per_layer(shape: ModelShape) -> int:
    h, m = shape.text_hidden, shape.text_mlp
    head = h // shape.heads
    return 2 * h * h + 2 * h * shape.kv_heads * head + 3 * h * m


def text_flops(shape: ModelShape, tokens: int) -> float:
    """FLOPs of the decoder's prefill over `tokens` (causal attention, one logits row)."""
    return sum(text_flops_split(shape, tokens))


def text_flops_split(shape: ModelShape, tokens: int) -> tuple[float, float]:
    """(products with weights, attention) FLOPs of the decoder's prefill over `tokens`."""
    linear = 2 * tokens * _text_params_per_layer(shape) * shape.text_layers
    attention = 2 * tokens * tokens * shape.text_hidden * shape.text_layers  # QK and AV, half of it masked
    return float(linear + 2 * shape.text_hidden * shape.vocab), float(attention)


def decode_bytes_per_token(shape: ModelShape, bytes_per_param: float) -> float:
    """Weight bytes read for one generated token (decoder layers and the output head)."""
    params = _text_params_per_layer(shape) * shape.text_layers + shape.text_hidden * shape.vocab
    return float(params * bytes_per_param)
