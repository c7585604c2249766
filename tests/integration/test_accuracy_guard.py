"""The accuracy guard of the CPU engine's 8-bit arithmetic, at the 500M model's real size.

The engine reads 8-bit weights and OpenVINO quantizes the activations of those products to
8 bits at run time (groups of 32 values per token), so they run as integer arithmetic. The
guard (`app/evaluation/precision.py`) compares that with full precision (the 32-bit export
computed in 32 bits), over frames of the sample video and the evaluation photographs, with
random weights: real ones cannot be downloaded here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.evaluation.precision import agreements, failures, guard_pictures, report
from app.inference.openvino.backend import OpenVINOBackend
from tests.cleanup import scratch_folder

pytestmark = pytest.mark.slow

WEIGHTS_ONLY = {"INFERENCE_PRECISION_HINT": "f32", "DYNAMIC_QUANTIZATION_GROUP_SIZE": "0"}


@pytest.fixture(scope="module")
def model_500m(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The 500M architecture with random weights, with its 8-bit and 32-bit ONNX files.

    About 5 GB with the prepared engines: removed when the module is done, not kept with
    pytest's last temporary folders.
    """
    from app.devtools.model_builder import build_model
    from app.devtools.onnx_layout import write_onnx_layout

    with scratch_folder(tmp_path_factory, "m500") as root:
        folder = build_model(root / "smolvlm2-500m-random", real_size=True)
        write_onnx_layout(folder, ("int8", "fp32"))
        for heavy in folder.glob("*.safetensors"):  # what users download: the ONNX files only
            heavy.unlink()
        yield folder


def test_the_default_engine_passes_the_guard_against_full_precision(model_500m: Path) -> None:
    cache = model_500m.parent / "openvino"
    shipped = OpenVINOBackend(model=str(model_500m), cache_dir=cache)
    full = OpenVINOBackend(model=str(model_500m), dtype="float32", cache_dir=cache)
    weights_only = OpenVINOBackend(model=str(model_500m), cache_dir=cache)
    try:
        for engine in (shipped, full, weights_only):
            engine.load()
        weights_only.recompile(WEIGHTS_ONLY)  # the same 8-bit weights, computed in 32 bits
        assert (shipped.source, full.source) == ("int8", "fp32")
        assert shipped.info.dtype.startswith("int8/") and full.info.dtype == "fp32/fp32"
        pictures = guard_pictures()
        assert {p.role for p in pictures} == {"calibration", "held-out"} and len(pictures) >= 10
        candidate = agreements(shipped, full, pictures)
        baseline = agreements(weights_only, full, pictures)
    finally:
        for engine in (shipped, full, weights_only):
            engine.close()
    print("default engine\n" + report(candidate) + "\n8-bit weights alone\n" + report(baseline))
    assert failures(candidate, baseline) == [], report(candidate)
