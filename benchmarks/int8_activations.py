"""8-bit activations on the CPU engine: how much faster, and whether they pass the accuracy guard.

    python benchmarks/int8_activations.py [--model DIR] [--calibration-frames 30]

Compares, in one run, on the bench's 500M-architecture model (random weights) or `--model`:

- full precision (the 32-bit export computed in 32 bits): the reference;
- the 8-bit weights alone (computed in 32 bits): the error every 8-bit variant starts from;
- the default engine: 8-bit weights, activations quantized to 8 bits at run time by OpenVINO
  (groups of 32 values per token);
- the same with groups of 128;
- static 8-bit activations for the vision encoder: NNCF's post-training quantization of the
  full-precision encoder, calibrated on frames of the sample video (never on the guard's
  held-out photographs), with the default engine's decoder.

For each: the vision encoder's time on one tile, the first token of a live description
(median over the guard's pictures), and the accuracy guard's verdict
(`app/evaluation/precision.py`). Needs NNCF for the last row (`pip install -e .[torch]`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.capture.media import sample_video
from app.commands.bench_measure import real_size_model
from app.evaluation.precision import Agreement, agreements, failures, guard_pictures, mean_error
from app.inference.answer import collect
from app.inference.openvino.backend import OpenVINOBackend, installed
from app.inference.smolvlm_inputs import SmolVLMInputs
from app.inference.types import GenerationRequest
from app.paths import resource_file
from app.prompts import describe_prompt


def _engine(model: str, dtype: str = "auto") -> OpenVINOBackend:
    engine = OpenVINOBackend(model=model, dtype=dtype)
    engine.load()
    return engine


def _vision_s(engine: OpenVINOBackend, request: GenerationRequest) -> float:
    engine.image_features(request)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        engine.image_features(request)
        times.append(time.perf_counter() - started)
    return min(times)


def _first_token_s(engine: OpenVINOBackend, requests: list[GenerationRequest]) -> float:
    times = []
    for request in requests:
        answer = collect(engine.stream(request))
        times.append(answer.stats.time_to_first_token_s or 0.0)
    return statistics.median(times)


def _calibrated_vision(full: OpenVINOBackend, frames: int) -> Any:
    """NNCF's static quantization of the full-precision vision encoder, on sample-video tiles."""
    import nncf
    import openvino as ov

    assert full.ir_folder is not None and full.folder is not None
    inputs = SmolVLMInputs(full.folder)
    tiles = []
    for frame in sample_video(resource_file("sample.mp4"), fps=1.0, max_frames=frames):
        request = GenerationRequest(describe_prompt("brief"), frames=(frame,), max_tokens=1)
        pixels = inputs.encode(request).pixel_values
        assert pixels is not None
        tiles += [tile[None] for tile in pixels]
    model = ov.Core().read_model(full.ir_folder / "vision.xml")
    return nncf.quantize(
        model, nncf.Dataset(tiles), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(tiles)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model folder (default: the bench's random 500M)")
    parser.add_argument("--calibration-frames", type=int, default=30)
    args = parser.parse_args()
    model = str(args.model or real_size_model())
    full = _engine(model, "float32")
    pictures = guard_pictures()
    requests = [
        GenerationRequest(describe_prompt("brief"), frames=(p.frame,), max_tokens=1) for p in pictures
    ]
    weights_only = _engine(model)
    weights_only.recompile({"INFERENCE_PRECISION_HINT": "f32", "DYNAMIC_QUANTIZATION_GROUP_SIZE": "0"})
    baseline = agreements(weights_only, full, pictures)
    variants: dict[str, Callable[[OpenVINOBackend], None]] = {
        "default: run-time 8-bit activations, groups of 32": lambda e: None,
        "run-time 8-bit activations, groups of 128": lambda e: e.recompile(
            {"DYNAMIC_QUANTIZATION_GROUP_SIZE": "128"}
        ),
    }
    if installed("nncf"):
        variants["static 8-bit activations in the vision encoder (NNCF)"] = lambda e: e.recompile(
            {}, vision=_calibrated_vision(full, args.calibration_frames)
        )
    else:
        print("NNCF is not installed: the static quantization row is left out (pip install -e .[torch])")
    rows: list[tuple[str, float, float, list[Agreement]]] = []
    for name, engine in (("full precision (reference)", full), ("8-bit weights alone", weights_only)):
        rows.append((name, _vision_s(engine, requests[0]), _first_token_s(engine, requests), []))
    for name, setup in variants.items():
        engine = _engine(model)
        setup(engine)
        found = agreements(engine, full, pictures)
        rows.append((name, _vision_s(engine, requests[0]), _first_token_s(engine, requests), found))
        engine.close()
    print(f"\n{'engine':58} {'vision':>8} {'first token':>12}  features / logits error, guard")
    for name, vision, first, found in rows:
        if not found:
            print(f"{name:58} {vision:>6.3f} s {first:>10.3f} s")
            continue
        error = mean_error(found)
        worst = min(r.features_cosine for r in found if r.role == "held-out")
        reasons = failures(found, baseline)
        verdict = "passes" if not reasons else f"fails ({len(reasons)} reasons: {reasons[0]} …)"
        print(
            f"{name:58} {vision:>6.3f} s {first:>10.3f} s  {error[0]:.1e} / {error[1]:.1e} "
            f"(held-out features ≥ {worst:.5f}), {verdict}"
        )
    base = mean_error(baseline)
    print(f"8-bit weights alone: features / logits error {base[0]:.1e} / {base[1]:.1e}")
    print(f"{len(pictures)} pictures; with random weights the guard checks the arithmetic, not answers")


if __name__ == "__main__":
    main()
