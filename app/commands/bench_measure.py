"""Measuring one engine for `smolsight bench`: in a child process of its own, through the model thread.

`python -m app.commands.bench_measure NAME MODEL RUNS DTYPE naive|detailed|live` loads the
engine, warms it up and times the live path, a question about the same picture and (unless
`live`) the naive way or a detailed description; it prints the figures as one JSON line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from app.capture.frames import Frame
from app.capture.media import load_image
from app.config import DType, EngineSettings
from app.helpers import helper_command
from app.inference.backend import BackendError, VisionBackend
from app.inference.factory import backend_factory
from app.inference.generation import process_peak_rss_bytes
from app.inference.model_thread import ModelThread
from app.inference.types import GenerationRequest, GenerationStats
from app.paths import resource_file, user_cache_dir
from app.prompts import describe_prompt

NAIVE_PROMPT = "Describe this image in detail"
ASK_PROMPT = "What colour is the cup?"  # a follow-up about the picture just described
LIVE_TOKENS = 20
NAIVE_TOKENS = 150


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
    if name == CONVERTED:  # wrapped as `backend_factory` wraps every engine: the same work measured
        from app.inference.openvino.backend import OpenVINOBackend
        from app.inference.seeing import SeeingBackend

        return lambda: SeeingBackend(OpenVINOBackend(model=model, dtype=dtype, prepare_from="pytorch"))
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


def measure_in_child(
    name: str, model: str, *, runs: int, dtype: DType, naive: bool, setting: str = "naive"
) -> BackendResult:
    """`measure_backend` in a child process of its own (its peak memory and CPU are its own)."""
    command = helper_command("measure", name, model, str(runs), dtype, setting if naive else "live")
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


def print_runs(
    results: list[BackendResult],
    lead: list[tuple[str, int]],
    cells: Callable[[BackendResult, Run], list[str]],
) -> None:
    """Every backend's runs as a table: the `lead` columns (header, width) from `cells`, then the figures."""
    heads = " ".join(f"{name:{width}}" for name, width in lead)
    figures = f"{'prompt':>6} {'first token':>12} {'decode':>11} {'total':>8} {'load':>7} {'peak memory':>12}"
    header = f"{heads} {figures}"
    print(header)
    print("-" * len(header))
    for r in results:
        for run in (r.live, r.ask, r.naive):
            if run is None:
                continue
            first = " ".join(f"{cell:{width}}" for cell, (_, width) in zip(cells(r, run), lead, strict=True))
            print(
                f"{first} {run.prompt_tokens:>6} "
                f"{run.time_to_first_token_s:>10.2f} s {run.decode_tokens_per_s:>6.1f} tok/s "
                f"{run.total_s:>6.2f} s {r.load_s:>5.1f} s {r.peak_rss_bytes / 1e9:>9.2f} GB"
            )
        if r.note:
            print(f"  note: {r.note}")


def main(argv: list[str]) -> int:
    """`python -m app.commands.bench_measure NAME MODEL RUNS DTYPE WHICH`: measure one, print JSON."""
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
    sys.exit(main(sys.argv[1:]))
