"""`smolsight bench`: latency, throughput and memory of the live path.

Measured against the seed's settings and against this machine's own floors (its measured
matrix-product throughput and memory bandwidth), in one process and one run.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.capture.frames import Frame
from app.config import DType, Settings
from app.exit_codes import ExitCode
from app.files import write_text_atomic
from app.inference.base import process_peak_rss_bytes
from app.inference.engine import Engine
from app.inference.factory import create_backend
from app.inference.types import GenerationRequest, GenerationStats
from app.prompts import describe_prompt

CACHE = Path.home() / ".cache" / "smolsight" / "models" / "smolvlm2-500m-random"


@dataclass(frozen=True)
class BenchOptions:
    """What `smolsight bench` was asked to do."""

    quick: bool = False
    runs: int = 3
    model: str | None = None  # None: the random 500M-architecture model
    backend: str = "all"
    dtype: DType = "auto"
    json_out: Path | None = None


@dataclass(frozen=True)
class Run:
    """One setting's measured figures (medians over runs)."""

    setting: str
    prompt_tokens: int
    generated_tokens: int
    time_to_first_token_s: float
    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    total_s: float


def real_size_model() -> Path:
    """The random model with the real 500M architecture, built once into the user's cache."""
    if not (CACHE / "config.json").exists():
        from app.devtools.model_builder import build_model

        print(f"Building the 500M-architecture random model in {CACHE} (once, ~2 GB) …", file=sys.stderr)
        build_model(CACHE, real_size=True)
    return CACHE


def measure_matmul_gflops(dtype_name: str, seconds: float = 1.0) -> float:
    """Dense matrix-product throughput here at `dtype_name` (GFLOP/s), with torch's threads."""
    import torch

    dtype = getattr(torch, dtype_name)
    n = 1024
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < 2:
        a @ b
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


def measure_read_bandwidth_gbs(megabytes: int = 512) -> float:
    """Memory read bandwidth (GB/s): summing an array far larger than the caches."""
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
        config = json.loads((folder / "config.json").read_text())
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
    patches = (shape.image_size // shape.patch_size) ** 2
    h, m = shape.vision_hidden, shape.vision_mlp
    per_layer = 2 * patches * (4 * h * h + 2 * h * m) + 4 * patches * patches * h
    connector = 2 * (patches // shape.scale_factor**2) * (h * shape.scale_factor**2) * shape.text_hidden
    return float(tiles * (shape.vision_layers * per_layer + connector))


def _text_params_per_layer(shape: ModelShape) -> int:
    h, m = shape.text_hidden, shape.text_mlp
    head = h // shape.heads
    return 2 * h * h + 2 * h * shape.kv_heads * head + 3 * h * m


def text_flops(shape: ModelShape, tokens: int) -> float:
    """FLOPs of the decoder's prefill over `tokens` (causal attention, one logits row)."""
    linear = 2 * tokens * _text_params_per_layer(shape) * shape.text_layers
    attention = 2 * tokens * tokens * shape.text_hidden * shape.text_layers  # QK and AV, half of it masked
    return float(linear + attention + 2 * shape.text_hidden * shape.vocab)


def decode_bytes_per_token(shape: ModelShape, bytes_per_param: float) -> float:
    """Weight bytes read for one generated token (decoder layers and the output head)."""
    params = _text_params_per_layer(shape) * shape.text_layers + shape.text_hidden * shape.vocab
    return float(params * bytes_per_param)


def _median_run(setting: str, stats: list[GenerationStats]) -> Run:
    def med(values: list[float | None]) -> float:
        return float(np.median([v for v in values if v is not None] or [0.0]))

    return Run(
        setting=setting,
        prompt_tokens=stats[0].prompt_tokens,
        generated_tokens=stats[0].generated_tokens,
        time_to_first_token_s=med([s.time_to_first_token_s for s in stats]),
        prefill_tokens_per_s=med([s.prefill_tokens_per_s for s in stats]),
        decode_tokens_per_s=med([s.decode_tokens_per_s for s in stats]),
        total_s=med([s.total_s for s in stats]),
    )


def _frame() -> Frame:
    """A 640×480 photograph (scikit-image's coffee, if installed; else a synthetic scene)."""
    import cv2

    try:
        import skimage.data

        image = np.asarray(skimage.data.coffee())
    except ImportError:
        y, x = np.mgrid[0:480, 0:640]
        image = np.stack([x % 256, y % 256, (x + y) % 256], axis=2).astype(np.uint8)
    return Frame(np.asarray(cv2.resize(image, (640, 480), interpolation=cv2.INTER_AREA)), 0.0)


def backends_to_run(requested: str) -> tuple[list[str], list[str]]:
    """(backends to measure, notes on those skipped) for `--backend`."""
    from app.inference.factory import is_apple_silicon
    from app.inference.mlx_backend import mlx_available

    if requested != "all":
        return [requested], []
    chosen, notes = ["transformers"], []
    if mlx_available():
        if is_apple_silicon():
            chosen.append("mlx")
        else:
            notes.append(
                "MLX skipped: off Apple Silicon it runs on the CPU, far too slowly to measure "
                "(--backend mlx forces it)"
            )
    return chosen, notes


def run_bench(options: BenchOptions) -> int:
    """Measure every chosen backend, print a table each, write JSON; return the exit code."""
    model = options.model or str(real_size_model())
    chosen, notes = backends_to_run(options.backend)
    for note in notes:
        print(note, file=sys.stderr)
    payload = [_bench_backend(name, model, options) for name in chosen]
    if options.json_out:
        write_text_atomic(options.json_out, json.dumps(payload if len(payload) > 1 else payload[0], indent=2))
    return ExitCode.OK


def _bench_backend(name: str, model: str, options: BenchOptions) -> dict[str, Any]:
    runs = 1 if options.quick else options.runs
    settings = Settings(backend=name, model=model, dtype=options.dtype)  # type: ignore[arg-type]
    engine = Engine(lambda: create_backend(settings), warm_up=False)
    try:
        return _measure(engine, model, runs, options.quick)
    finally:
        engine.shutdown()


def _measure(engine: Engine, model: str, runs: int, quick: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    info = engine.wait_ready()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine.run_task(lambda backend, _cancel: backend.warm_up()).result()
    warm_s = time.perf_counter() - t0
    print(f"{info.backend} on {info.device}, {info.dtype}; model {model}", file=sys.stderr)

    frame = _frame()
    live = GenerationRequest(describe_prompt("brief"), frames=(frame,), max_tokens=20)
    seed = GenerationRequest(
        "Describe this image in detail", frames=(frame,), max_tokens=150, split_images=True
    )
    results = []
    for setting, request in (("live: 1 tile, brief answer", live), ("seed: splitting on, 150 tokens", seed)):
        # A real model may stop before max_tokens; the table shows the tokens actually generated.
        stats = [engine.submit(request).result().stats for _ in range(runs)]
        results.append(_median_run(setting, stats))
        print(f"  measured {setting}", file=sys.stderr)
    peak = process_peak_rss_bytes() or 0

    floors: dict[str, Any] = {}
    folder = Path(model)
    if info.backend == "transformers" and info.device == "cpu" and (folder / "config.json").exists():
        config = ModelShape.from_folder(folder)
        gflops = measure_matmul_gflops(info.dtype)
        bandwidth = measure_read_bandwidth_gbs()
        bytes_per_param = 2 if info.dtype in ("bfloat16", "float16") else 4
        live_run = results[0]
        flops = vision_flops(config, 1) + text_flops(config, live_run.prompt_tokens)
        ttft_floor = flops / (gflops * 1e9)
        decode_floor = bandwidth * 1e9 / decode_bytes_per_token(config, bytes_per_param)
        floors = {
            "matmul_gflops": gflops,
            "read_bandwidth_gbs": bandwidth,
            "flops_per_frame": flops,
            "ttft_floor_s": ttft_floor,
            "ttft_over_floor": live_run.time_to_first_token_s / ttft_floor,
            "decode_floor_tokens_per_s": decode_floor,
            "decode_share_of_floor": live_run.decode_tokens_per_s / decode_floor,
        }
    ratio = results[1].total_s / results[0].total_s
    _print_table(results, load_s, warm_s, peak, floors, ratio)
    return {
        "backend": asdict(info),
        "model": model,
        "load_s": load_s,
        "warm_up_s": warm_s,
        "peak_rss_bytes": peak,
        "runs": [asdict(r) for r in results],
        "floors": floors,
        "seed_over_live": ratio,
        "quick": quick,
    }


def _print_table(
    results: list[Run], load_s: float, warm_s: float, peak: int, floors: dict[str, Any], ratio: float
) -> None:
    print(f"load {load_s:.1f} s, warm-up {warm_s:.1f} s, peak resident memory {peak / 1e9:.2f} GB")
    header = f"{'setting':34} {'prompt':>7} {'first token':>12} {'prefill':>12} {'decode':>11} {'total':>8}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.setting:34} {r.prompt_tokens:>7} {r.time_to_first_token_s:>10.2f} s "
            f"{r.prefill_tokens_per_s:>7.0f} tok/s {r.decode_tokens_per_s:>6.1f} tok/s {r.total_s:>6.2f} s"
        )
    print(f"seed settings / live settings, total per description: {ratio:.1f}×")
    if floors:
        print(
            f"floors here: matrix products {floors['matmul_gflops']:.0f} GFLOP/s, memory reads "
            f"{floors['read_bandwidth_gbs']:.1f} GB/s"
        )
        print(
            f"  live first token {results[0].time_to_first_token_s:.2f} s vs compute floor "
            f"{floors['ttft_floor_s']:.2f} s ({floors['flops_per_frame'] / 1e9:.0f} GFLOP): "
            f"{floors['ttft_over_floor']:.2f}× the floor"
        )
        print(
            f"  decode {results[0].decode_tokens_per_s:.1f} tok/s vs bandwidth floor "
            f"{floors['decode_floor_tokens_per_s']:.1f} tok/s: {floors['decode_share_of_floor']:.0%} of it"
        )
