"""OpenVINO's CPU options timed on the prepared model: run-time int8 activations, the KV-cache precision.

    python benchmarks/openvino_options.py [--model DIR] [--steps 30]

Loads the CPU engine once (preparing it if needed) to find its prepared folder, then compiles
its vision encoder and decoder again under each option set and times, in this one run: the
vision encoder on one 512 px tile, the decoder's prefill of 167 tokens and one decoding step
(median), and how far the vision features move from full precision (cosine). Options compared:
OpenVINO's defaults (on CPUs it quantizes the activations of 8-bit-weight products to 8 bits at
run time, group size 32), that turned off (`DYNAMIC_QUANTIZATION_GROUP_SIZE=0`), larger groups,
the key/value cache in f16 instead of u8, and full precision (`INFERENCE_PRECISION_HINT=f32`).
Random weights by default (the bench's 500M-architecture model): the cosines say whether the
arithmetic holds, not how good answers are; that needs the real weights (`smolsight eval vqa`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from app.commands.bench_measure import real_size_model
from app.evaluation.precision import cosine
from app.inference.openvino.backend import OpenVINOBackend

OPTION_SETS: dict[str, dict[str, str]] = {
    "defaults": {},
    "no run-time int8 activations": {"DYNAMIC_QUANTIZATION_GROUP_SIZE": "0"},
    "int8 activations, groups of 128": {"DYNAMIC_QUANTIZATION_GROUP_SIZE": "128"},
    "KV cache f16": {"KV_CACHE_PRECISION": "f16"},
    "full precision": {"INFERENCE_PRECISION_HINT": "f32"},
}
PROMPT = 167  # the bench's live prompt length


def _time_vision(compiled: object, pixels: np.ndarray) -> tuple[float, np.ndarray]:
    run = compiled  # a CompiledModel: called with its input, it returns its outputs
    run(pixels)  # type: ignore[operator]
    times, out = [], None
    for _ in range(3):
        started = time.perf_counter()
        out = np.asarray(run(pixels)[0], np.float64)  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    assert out is not None
    return min(times), out.ravel()


def _time_decoder(compiled: object, hidden: int, steps: int) -> tuple[float, float]:
    request = compiled.create_infer_request()  # type: ignore[attr-defined]
    names = {n for port in compiled.inputs for n in port.get_names()}  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)

    def feed(total: int, new: int) -> dict[str, np.ndarray]:
        inputs = {
            "inputs_embeds": (rng.standard_normal((1, new, hidden)) * 0.02).astype(np.float32),
            "attention_mask": np.ones((1, total), np.int64),
            "position_ids": np.arange(total - new, total, dtype=np.int64)[None],
        }
        if "beam_idx" in names:
            inputs["beam_idx"] = np.zeros(1, np.int32)
        return inputs

    prefills, step_times = [], []
    for _ in range(2):
        request.reset_state()
        started = time.perf_counter()
        request.infer(feed(PROMPT, PROMPT))
        prefills.append(time.perf_counter() - started)
        for i in range(steps):
            inputs = feed(PROMPT + i + 1, 1)
            started = time.perf_counter()
            request.infer(inputs)
            step_times.append(time.perf_counter() - started)
    return min(prefills), statistics.median(step_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model folder (default: the bench's random 500M)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import openvino as ov

    backend = OpenVINOBackend(model=str(args.model or real_size_model()))
    backend.load()
    assert backend.ir_folder is not None and backend.folder is not None
    hidden = json.loads((backend.folder / "config.json").read_text())["text_config"]["hidden_size"]
    backend.close()
    core = ov.Core()
    pixels = np.random.default_rng(1).uniform(-1, 1, (1, 3, 512, 512)).astype(np.float32)
    rows, reference = {}, None
    for name, extra in reversed(OPTION_SETS.items()):  # full precision first: the reference
        config = {"PERFORMANCE_HINT": "LATENCY", **extra}
        vision_s, features = _time_vision(
            core.compile_model(backend.ir_folder / "vision.xml", "CPU", config), pixels
        )
        if reference is None:
            reference = features
        decoder = core.compile_model(backend.ir_folder / "decoder.xml", "CPU", config)
        prefill_s, step_s = _time_decoder(decoder, hidden, args.steps)
        rows[name] = {
            "vision_s": vision_s,
            "prefill_s": prefill_s,
            "step_s": step_s,
            "vision_cosine": cosine(features, reference),
        }
    print(f"{'options':34} {'vision':>8} {'prefill':>8} {'step':>9} {'cosine to fp32':>15}")
    for name in OPTION_SETS:
        r = rows[name]
        print(
            f"{name:34} {r['vision_s']:>6.3f} s {r['prefill_s']:>6.3f} s {r['step_s'] * 1000:>6.1f} ms "
            f"{r['vision_cosine']:>15.5f}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
