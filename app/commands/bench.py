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
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import get_args

import numpy as np

from app.capture.frames import Frame
from app.capture.media import load_image
from app.commands.bench_floors import (
    ModelShape,
    decode_bytes_per_token,
    int8_products_here,
    measure_matmul_gflops,
    measure_read_bandwidth_gbs,
    text_flops_split,
    vision_flops_split,
)
from app.commands.flags import ENGINES, CommandParser, option_default, options_from
from app.commands.options import BenchOptions
from app.config import DType, EngineSettings
from app.exit_codes import ExitCode
from app.files import check_writable_folder, write_text_atomic
from app.inference.backend import BackendError, VisionBackend
from app.inference.factory import backend_factory
from app.inference.generation import process_peak_rss_bytes
from app.inference.model_thread import ModelThread
from app.inference.types import GenerationRequest, GenerationStats
from app.paths import resource_file, user_cache_dir
from app.prompts import describe_prompt
from app.terminal import fail, fail_backend

NAIVE_PROMPT = "Describe this image in detail"
ASK_PROMPT = "What colour is the cup?"  # a follow-up about the picture just described
LIVE_TOKENS = 20
NAIVE_TOKENS = 150

OPTIONS = BenchOptions  # what the flags that are not settings fill


def benchmark_model_dir() -> Path:
    """Where the random 500M-architecture model for benchmarks is built (the user cache)."""
    return user_cache_dir() / "models" / "smolvlm2-500m-random"


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
    vision_s: float | None = None  # of the first token, where the backend measures it


@dataclass(frozen=True)
class BackendResult:
    """Everything measured for one backend, in its own process."""

    backend: str
    device: str
    dtype: str
    note: str
    load_s: float
    warm_up_s: float
    peak_rss_bytes: int
    live: Run
    naive: Run | None
    ask: Run | None = None  # a question about the picture just described (its features reused)
    model: str = ""  # its catalog name, in a comparison of models (`--models`)


def real_size_model() -> Path:
    """The random model with the real 500M architecture, built once into the user's cache."""
    from app.devtools.model_builder import build_model, built_by_an_older_builder

    folder = benchmark_model_dir()
    if built_by_an_older_builder(folder):
        print(f"Building the random model in {folder} again (an older SmolSight built it) …", file=sys.stderr)
        shutil.rmtree(folder)
    if not (folder / "config.json").exists():
        print(f"Building the 500M-architecture random model in {folder} (once, ~2 GB) …", file=sys.stderr)
        build_model(folder, real_size=True)
    from app.inference.openvino.backend import installed
    from app.inference.published_onnx import find_onnx

    tools = ("onnxruntime", "onnx", "torch")
    if find_onnx(folder, "int8") is None and all(installed(t) for t in tools):
        from app.devtools.onnx_layout import write_onnx_layout

        print("Writing its ONNX export in the published layout (once, ~0.5 GB) …", file=sys.stderr)
        write_onnx_layout(folder, ("int8",))
    return folder


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


# --- measuring one backend (in a child process) ----------------------------------------------------
def _frame() -> Frame:
    """A 640×480 photograph: the evaluation set's coffee cup (shipped, so every install benchmarks alike)."""
    import cv2

    image = load_image(resource_file("eval", "coffee.jpg"))
    return Frame(np.asarray(cv2.resize(image, (640, 480), interpolation=cv2.INTER_AREA)), 0.0)


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
        vision_s=None if stats[0].vision_s is None else med([s.vision_s for s in stats]),
    )


GENAI = "genai"  # what OpenVINO GenAI's backend says it runs from (an OpenVINO export)
CONVERTED = "openvino-converted"  # the CPU engine from the PyTorch weights, beside the ONNX-prepared one


def _factory(name: str, model: str, dtype: DType) -> Callable[[], VisionBackend]:
    if name == CONVERTED:
        from app.inference.openvino.backend import OpenVINOBackend

        return lambda: OpenVINOBackend(model=model, dtype=dtype, prepare_from="pytorch")
    return backend_factory(EngineSettings(backend=name, model=model, dtype=dtype))  # type: ignore[arg-type]


def measure_backend(
    name: str, model: str, *, runs: int, dtype: DType, naive: bool, setting: str = "naive"
) -> BackendResult:
    """Load `name` through the engine, warm it up, and time the live path (and the naive way).

    `setting` names the naive way's row: `detailed` when models are compared on their own engine.
    """
    model_thread = ModelThread(_factory(name, model, dtype), warm_up=False)
    try:
        t0 = time.perf_counter()
        info = model_thread.wait_ready()
        load_s = time.perf_counter() - t0
        source = model_thread.run_task(lambda backend, _cancel: getattr(backend, "source", "")).result()
        label = info.backend
        if source == GENAI:
            label = "openvino-genai"
        elif info.backend == "openvino":  # which files it was prepared from
            label = f"openvino/onnx-{source}" if source else "openvino/converted"
        t0 = time.perf_counter()
        model_thread.run_task(lambda backend, _cancel: backend.warm_up()).result()
        warm_s = time.perf_counter() - t0
        frame = _frame()
        # Live narration sees a new picture every time: each run's frame differs by a pixel.
        frames = [Frame(np.roll(np.asarray(frame.image), i + 1, axis=1), 0.0) for i in range(runs)]
        lives = [
            GenerationRequest(describe_prompt("brief"), frames=(f,), max_tokens=LIVE_TOKENS) for f in frames
        ]
        live_run = _median_run("live", [model_thread.submit(live).result().stats for live in lives])
        question = GenerationRequest(ASK_PROMPT, frames=(frames[-1],), max_tokens=LIVE_TOKENS)
        ask_run = _median_run("ask", [model_thread.submit(question).result().stats for _ in range(runs)])
        naive_run = None
        if naive:
            request = GenerationRequest(
                NAIVE_PROMPT, frames=(frame,), max_tokens=NAIVE_TOKENS, split_images=True
            )
            naive_run = _median_run(
                setting, [model_thread.submit(request).result().stats for _ in range(runs)]
            )
    finally:
        model_thread.shutdown()
    return BackendResult(
        backend=label,
        device=info.device,
        dtype=info.dtype,
        note=info.note,
        load_s=load_s,
        warm_up_s=warm_s,
        peak_rss_bytes=process_peak_rss_bytes() or 0,
        live=live_run,
        naive=naive_run,
        ask=ask_run,
    )


def _measure_in_child(
    name: str, model: str, *, runs: int, dtype: DType, naive: bool, setting: str = "naive"
) -> BackendResult:
    command = [
        sys.executable,
        "-m",
        "app.commands.bench",
        name,
        model,
        str(runs),
        dtype,
        setting if naive else "live",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise BackendError(f"Measuring {name} failed: {reason}")
    data = json.loads(lines[-1])
    data["live"] = Run(**data["live"])
    data["naive"] = Run(**data["naive"]) if data["naive"] else None
    data["ask"] = Run(**data["ask"]) if data.get("ask") else None
    return BackendResult(**data)


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
        results.append(_measure_in_child(name, model, runs=runs, dtype=options.dtype, naive=naive))
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
    header = (
        f"{'backend':19} {'precision':10} {'setting':6} {'prompt':>6} {'first token':>12} "
        f"{'decode':>11} {'total':>8} {'load':>7} {'peak memory':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        for run in (r.live, r.ask, r.naive):
            if run is None:
                continue
            print(
                f"{r.backend:19} {r.dtype:10} {run.setting:6} {run.prompt_tokens:>6} "
                f"{run.time_to_first_token_s:>10.2f} s {run.decode_tokens_per_s:>6.1f} tok/s "
                f"{run.total_s:>6.2f} s {r.load_s:>5.1f} s {r.peak_rss_bytes / 1e9:>9.2f} GB"
            )
        if r.note:
            print(f"  note: {r.note}")
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


def _child(argv: list[str]) -> int:
    """`python -m app.commands.bench NAME MODEL RUNS DTYPE naive|detailed|live`: measure one, print JSON."""
    name, model, runs, dtype, which = argv
    result = measure_backend(
        name,
        model,
        runs=int(runs),
        dtype=dtype,  # type: ignore[arg-type]
        naive=which != "live",
        setting=which,
    )
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))


# --- the three models side by side ---------------------------------------------------------------
def stand_in_folder(name: str) -> Path:
    """Where the random-weight stand-in of the catalog model `name` is built (the user cache)."""
    return (
        benchmark_model_dir() if name == "smolvlm2-500m" else user_cache_dir() / "models" / f"{name}-random"
    )


def stand_in(name: str) -> Path:
    """The random-weight model of `name`'s real architecture and file layout, built once."""
    if name == "smolvlm2-500m":
        return real_size_model()
    folder = stand_in_folder(name)
    done = folder / "smolsight-stand-in-complete"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"Building a random-weight {name} of the real size in {folder} (once) …", file=sys.stderr)
    if name == "qwen3.5-0.8b":
        from app.devtools.qwen_builder import build_qwen

        build_qwen(folder, real_size=True)
    else:
        from app.devtools.model_builder import build_model
        from app.devtools.onnx_layout import write_onnx_layout

        build_model(folder, real_size=True, family=name)
        write_onnx_layout(folder, ("int8",))
    done.write_text("built\n")
    return folder


def model_to_measure(name: str, engine: EngineSettings) -> tuple[str, bool]:
    """The folder to time for a catalog model: its download if here, else its stand-in; (folder, real)."""
    import os

    from app.inference.factory import fetch_model

    offline = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        return str(fetch_model(engine.model_copy(update={"model": name}), download=False)), True
    except Exception:
        return str(stand_in(name)), False
    finally:
        if offline is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = offline


def run_models_bench(options: BenchOptions) -> int:
    """Time the three models on this computer's engine, print one table and the ratios; write JSON."""
    from dataclasses import replace

    from app.inference.catalog import CATALOG

    backend = "auto" if options.backend == "all" else options.backend
    engine = EngineSettings.model_validate({"backend": backend, "dtype": options.dtype})
    runs = 1 if options.quick else options.runs
    results: list[BackendResult] = []
    real: dict[str, bool] = {}
    for entry in CATALOG:
        folder, real[entry.name] = model_to_measure(entry.name, engine)
        print(f"measuring {entry.name} ({folder}) …", file=sys.stderr, flush=True)
        result = _measure_in_child(
            engine.backend, folder, runs=runs, dtype=options.dtype, naive=True, setting="detailed"
        )
        results.append(replace(result, model=entry.name))
    _print_models(results, real)
    if options.json_out:
        report = {
            "quick": options.quick,
            "models": [asdict(r) for r in results],
            "real_weights": real,
        }
        write_text_atomic(options.json_out, json.dumps(report, indent=2))
    return ExitCode.OK


def _print_models(results: list[BackendResult], real: dict[str, bool]) -> None:
    header = (
        f"{'model':14} {'engine':20} {'precision':10} {'setting':8} {'prompt':>6} {'first token':>12} "
        f"{'decode':>11} {'total':>8} {'load':>7} {'peak memory':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        for run in (r.live, r.ask, r.naive):
            if run is None:
                continue
            print(
                f"{r.model:14} {r.backend:20} {r.dtype:10} {run.setting:8} {run.prompt_tokens:>6} "
                f"{run.time_to_first_token_s:>10.2f} s {run.decode_tokens_per_s:>6.1f} tok/s "
                f"{run.total_s:>6.2f} s {r.load_s:>5.1f} s {r.peak_rss_bytes / 1e9:>9.2f} GB"
            )
    base = next((r for r in results if r.model == "smolvlm2-500m"), None)
    if base is not None:
        for r in results:
            if r is base:
                continue
            parts = [f"live {r.live.total_s / base.live.total_s:.2f}×"]
            if r.naive is not None and base.naive is not None:
                parts.append(f"detailed {r.naive.total_s / base.naive.total_s:.2f}×")
            print(f"{r.model} against smolvlm2-500m: " + ", ".join(parts))
    stand_ins = [name for name, is_real in real.items() if not is_real]
    if stand_ins:
        print(
            f"random-weight stand-ins of the real size for {', '.join(stand_ins)} (not downloaded here): "
            "the times are the real model's, the words are not"
        )
