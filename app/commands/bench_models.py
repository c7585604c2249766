"""`smolsight bench --models`: the three models on offer, side by side on this computer's engine.

Each is timed as `smolsight bench` times an engine (its own child process, the same photograph):
live, a question about the same picture, and a detailed description (splitting on, 150
tokens). A model that is downloaded is measured as downloaded; one that is not is stood in for
by a random-weight model of its real architecture and file layout, built once into the user
cache (the time does not depend on the weights' values; the words do).
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import asdict, replace
from pathlib import Path

from app.commands.bench_measure import (
    BackendResult,
    benchmark_model_dir,
    measure_in_child,
    print_runs,
    real_size_model,
)
from app.commands.options import BenchOptions
from app.config import EngineSettings
from app.exit_codes import ExitCode
from app.files import write_text_atomic
from app.paths import user_cache_dir


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
    from app.inference.factory import fetch_model

    try:
        return str(fetch_model(engine.model_copy(update={"model": name}), download=False)), True
    except Exception:  # not downloaded (a look in the cache only): its stand-in
        return str(stand_in(name)), False


def run_models_bench(options: BenchOptions) -> int:
    """Time the three models on this computer's engine, print one table and the ratios; write JSON."""
    from app.inference.catalog import CATALOG
    from app.inference.factory import choose_backend

    # The engine `auto` picks here, named: measured as itself (no fallback in between).
    backend = choose_backend("auto") if options.backend == "all" else options.backend
    engine = EngineSettings.model_validate({"backend": backend, "dtype": options.dtype})
    runs = 1 if options.quick else options.runs
    results: list[BackendResult] = []
    real: dict[str, bool] = {}
    for entry in CATALOG:
        folder, real[entry.name] = model_to_measure(entry.name, engine)
        print(f"measuring {entry.name} ({folder}) …", file=sys.stderr, flush=True)
        result = measure_in_child(
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
    print_runs(
        results,
        [("model", 14), ("engine", 20), ("precision", 10), ("setting", 8)],
        lambda r, run: [r.model, r.backend, r.dtype, run.setting],
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
