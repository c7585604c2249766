"""`smolsight bench`: latency, throughput and memory of every backend that runs fast here, side by side.

Each backend runs in its own child process (so its peak memory is its own and nothing else
competes for the CPU while it is timed), through the engine, on the same 640×480 photograph:

- **live**: one 512 px tile, the brief prompt, a 20-token answer: what narration does;
- **the naive way**: image splitting on (13 tiles for 640×480), "Describe this image in
  detail", 150 tokens, on plain transformers: how the project's first prototype described a
  frame.

The parent prints one table, the ratio of the naive way to the live path on the fastest
backend, and how far each live path is from this machine's own floors (its measured
matrix-product throughput and memory read bandwidth).

`--models` compares the three models on offer instead (`smolsight models`), each on the engine
this computer uses for it: live, a question about the same picture, and a detailed description
(splitting on, 150 tokens). A model that is downloaded is measured as downloaded; one that is
not is stood in for by a random-weight model of its real architecture and file layout, built
once into the user cache (timing does not depend on the weights' values).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import get_args

from app.commands.bench_floors import (
    ModelShape,
    decode_bytes_per_token,
    int8_products_here,
    measure_matmul_gflops,
    measure_read_bandwidth_gbs,
    text_flops_split,
    vision_flops_split,
)
from app.commands.bench_measure import (
    CONVERTED,
    NAIVE_TOKENS,
    BackendResult,
    measure_in_child,
    print_runs,
    real_size_model,
)
from app.commands.flags import ENGINES, CommandParser, option_default, options_from
from app.commands.options import BenchOptions
from app.config import DType
from app.exit_codes import ExitCode
from app.files import check_writable_folder, write_text_atomic
from app.inference.backend import BackendError
from app.inference.model_config import family_of_folder
from app.terminal import fail, fail_backend

OPTIONS = BenchOptions  # what the flags that are not settings fill


def precision_of(result: BackendResult) -> tuple[str, str, float]:
    """(dtype of the weights' products, of the rest, bytes per weight read while decoding)."""
    if result.backend.startswith("openvino"):
        weights, _, compute = result.dtype.partition("/")
        compute_dtype = "bfloat16" if compute == "bf16" else "float32"
        if weights == "int8":
            return ("int8" if int8_products_here() else compute_dtype), compute_dtype, 1.0
        return compute_dtype, compute_dtype, 2.0 if compute_dtype == "bfloat16" else 4.0
    compute_dtype = result.dtype if result.dtype in ("bfloat16", "float16", "float32") else "float32"
    return compute_dtype, compute_dtype, 2.0 if compute_dtype != "float32" else 4.0


# --- the command ---------------------------------------------------------------------------------
def backends_to_run(requested: str, model_folder: Path | None = None) -> tuple[list[str], list[str]]:
    """(backends to measure, notes on those skipped) for `--backend`."""
    from app.inference.factory import is_apple_silicon
    from app.inference.mlx_backend import mlx_available
    from app.inference.openvino.backend import openvino_available, torch_available
    from app.inference.published_onnx import find_onnx

    if requested != "all":
        return [requested], []
    chosen, notes = [], []
    if openvino_available():
        chosen.append("openvino")
        if model_folder is not None and find_onnx(model_folder, "int8") and torch_available():
            chosen.append(CONVERTED)  # both ways of preparing the CPU engine, side by side
    chosen.append("transformers")
    if mlx_available():
        if is_apple_silicon():
            chosen.append("mlx")
        else:
            notes.append(
                "MLX skipped: off Apple Silicon it runs on the CPU, far too slowly to measure "
                "(--backend mlx forces it)"
            )
    return chosen, notes


def add_arguments(parser: CommandParser) -> None:
    """How many runs, which model, which engines."""
    parser.add_argument("--quick", action="store_true", help="one run per setting (a few minutes)")
    parser.add_argument(
        "--runs",
        type=int,
        help=f"runs per setting, median reported (default {option_default(BenchOptions, 'runs')})",
    )
    parser.add_argument("--model", help="model folder or hub id (default: a random 500M-architecture model)")
    parser.add_argument(
        "--backend", choices=("all", *ENGINES), help="all: every backend that can run fast here (default)"
    )
    parser.add_argument("--dtype", choices=get_args(DType), help="(default: auto)")
    parser.add_argument("--json", dest="json_out", type=Path, help="also write the figures here")
    parser.add_argument(
        "--models",
        action="store_true",
        help="compare the three models (smolsight models) on this computer's engine: live, a question, "
        "a detailed description; random stand-ins of their real size where not downloaded",
    )


def run(args: argparse.Namespace) -> int:
    """Run the benchmark."""
    try:
        return run_bench(options_from(OPTIONS, args))
    except BackendError as exc:
        return fail_backend(exc)


def run_bench(options: BenchOptions) -> int:
    """Measure every chosen backend side by side, print the table, write JSON; the exit code."""
    if options.json_out is not None and (problem := check_writable_folder(options.json_out.parent)):
        return fail(f"can't save the figures: {problem}", ExitCode.INPUT)
    if options.models:
        from app.commands.bench_models import run_models_bench

        return run_models_bench(options)
    model = options.model or str(real_size_model())
    chosen, notes = backends_to_run(options.backend, Path(model) if Path(model).is_dir() else None)
    for note in notes:
        print(note, file=sys.stderr)
    runs = 1 if options.quick else options.runs
    results: list[BackendResult] = []
    for name in chosen:
        print(f"measuring {name} …", file=sys.stderr, flush=True)
        naive = name == "transformers"
        results.append(measure_in_child(name, model, runs=runs, dtype=options.dtype, naive=naive))
    floors = _floors(results, Path(model))
    report = _report(results, floors, model, options.quick)
    _print_report(results, floors, report)
    if options.json_out:
        write_text_atomic(options.json_out, json.dumps(report, indent=2))
    return ExitCode.OK


@dataclass(frozen=True)
class Floors:
    """How close one backend's live path comes to what this machine can do at best.

    The first token's floor counts the products with weights at the rate of the precision they
    run in (8-bit on the CPU engine where the CPU has VNNI) and the rest (attention) at the
    compute precision's rate.
    """

    products_dtype: str
    products_gflops: float
    compute_dtype: str
    matmul_gflops: float
    read_bandwidth_gbs: float
    flops_per_frame: float
    product_flops: float
    ttft_floor_s: float
    ttft_over_floor: float
    decode_floor_tokens_per_s: float
    decode_share_of_floor: float


def _floors(results: list[BackendResult], folder: Path) -> dict[str, Floors]:
    """Per backend: the compute floor of the live first token and the bandwidth floor of decoding."""
    if not (folder / "config.json").exists() or not any(r.device.lower() == "cpu" for r in results):
        return {}
    if family_of_folder(folder) != "smolvlm2":
        return {}  # the floors count SmolVLM2's parts; other families are timed without them
    shape = ModelShape.from_folder(folder)
    cpu = [r for r in results if r.device.lower() == "cpu"]
    rates = {name: measure_matmul_gflops(name) for r in cpu for name in precision_of(r)[:2]}
    bandwidth = measure_read_bandwidth_gbs()
    floors = {}
    for r in cpu:
        products, compute, bytes_per_weight = precision_of(r)
        if rates[products] <= 0:  # no 8-bit product to time here: count them at the compute rate
            products = compute
        vision, text = vision_flops_split(shape, 1), text_flops_split(shape, r.live.prompt_tokens)
        weighted, attention = vision[0] + text[0], vision[1] + text[1]
        ttft_floor = weighted / (rates[products] * 1e9) + attention / (rates[compute] * 1e9)
        decode_floor = bandwidth * 1e9 / decode_bytes_per_token(shape, bytes_per_weight)
        floors[r.backend] = Floors(
            products_dtype=products,
            products_gflops=rates[products],
            compute_dtype=compute,
            matmul_gflops=rates[compute],
            read_bandwidth_gbs=bandwidth,
            flops_per_frame=weighted + attention,
            product_flops=weighted,
            ttft_floor_s=ttft_floor,
            ttft_over_floor=r.live.time_to_first_token_s / ttft_floor,
            decode_floor_tokens_per_s=decode_floor,
            decode_share_of_floor=r.live.decode_tokens_per_s / decode_floor,
        )
    return floors


def _report(
    results: list[BackendResult], floors: dict[str, Floors], model: str, quick: bool
) -> dict[str, object]:
    fastest = min(results, key=lambda r: r.live.total_s)
    naive = next((r.naive for r in results if r.naive is not None), None)
    return {
        "model": model,
        "quick": quick,
        "backends": [asdict(r) for r in results],
        "floors": {name: asdict(f) for name, f in floors.items()},
        "fastest_live_backend": fastest.backend,
        "naive_total_s": naive.total_s if naive else None,
        "naive_over_fastest_live": (naive.total_s / fastest.live.total_s) if naive else None,
    }


def _print_report(results: list[BackendResult], floors: dict[str, Floors], report: dict[str, object]) -> None:
    print_runs(
        results,
        [("backend", 19), ("precision", 10), ("setting", 6)],
        lambda r, run: [r.backend, r.dtype, run.setting],
    )
    for r in results:
        print(_time_split(r))
    if report["naive_over_fastest_live"] is not None:
        print(
            f"the naive way (transformers, splitting on, {NAIVE_TOKENS} tokens): "
            f"{report['naive_total_s']:.1f} s per description; live on {report['fastest_live_backend']}: "
            f"{min(r.live.total_s for r in results):.2f} s → {report['naive_over_fastest_live']:.1f}× faster"
        )
    onnx = next((r for r in results if r.backend.startswith("openvino/onnx")), None)
    converted = next((r for r in results if r.backend == "openvino/converted"), None)
    if onnx is not None and converted is not None:
        print(
            f"the CPU engine prepared from ONNX files vs converted from PyTorch: live "
            f"{onnx.live.total_s:.2f} s vs {converted.live.total_s:.2f} s "
            f"({onnx.live.total_s / converted.live.total_s:.2f}×), decode "
            f"{onnx.live.decode_tokens_per_s:.1f} vs {converted.live.decode_tokens_per_s:.1f} tok/s, "
            f"peak memory {onnx.peak_rss_bytes / 1e9:.2f} vs {converted.peak_rss_bytes / 1e9:.2f} GB"
        )
    for backend, f in floors.items():
        live = next(r.live for r in results if r.backend == backend)
        if f.products_dtype == f.compute_dtype:
            work = f"{f.flops_per_frame / 1e9:.0f} GFLOP at {f.matmul_gflops:.0f} GFLOP/s {f.compute_dtype}"
        else:
            work = (
                f"{f.product_flops / 1e9:.0f} GFLOP of weight products at {f.products_gflops:.0f} GOP/s "
                f"{f.products_dtype}, {(f.flops_per_frame - f.product_flops) / 1e9:.0f} GFLOP of attention "
                f"at {f.matmul_gflops:.0f} GFLOP/s {f.compute_dtype}"
            )
        print(
            f"{backend} floors: first token {live.time_to_first_token_s:.2f} s vs compute floor "
            f"{f.ttft_floor_s:.2f} s ({work}): {f.ttft_over_floor:.2f}× the floor; decode "
            f"{live.decode_tokens_per_s:.1f} tok/s vs bandwidth floor "
            f"{f.decode_floor_tokens_per_s:.1f} tok/s ({f.read_bandwidth_gbs:.1f} GB/s): "
            f"{f.decode_share_of_floor:.0%} of it"
        )


def _time_split(r: BackendResult) -> str:
    """Where one backend's live description spends its time, and what a follow-up question saves."""
    live = r.live
    decode = live.total_s - live.time_to_first_token_s
    if live.vision_s is None:
        line = f"{r.backend} live: first token {live.time_to_first_token_s:.2f} s, decode {decode:.2f} s"
    else:
        prefill = live.time_to_first_token_s - live.vision_s
        shares = [part / live.total_s for part in (live.vision_s, prefill, decode)]
        line = (
            f"{r.backend} live: vision {live.vision_s:.2f} s, preprocessing and prefill {prefill:.2f} s, "
            f"decode {decode:.2f} s ({shares[0]:.0%} / {shares[1]:.0%} / {shares[2]:.0%})"
        )
    if r.ask is not None:
        line += (
            f"; a follow-up question on the same picture: first token {r.ask.time_to_first_token_s:.2f} s"
            + (" (its image features reused)" if r.ask.vision_s == 0 else "")
        )
    return line
