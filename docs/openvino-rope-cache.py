#!/usr/bin/env python3
"""Reproduction for OpenVINO: RoPE from ONNX `RotaryEmbedding` computes wrongly after a cache reload.

What it shows (OpenVINO 2026.3.1 and 2026.4.1, CPU plugin, Linux x86_64): a graph of one
`com.microsoft.RotaryEmbedding` node, read by OpenVINO's own ONNX front end, computes the right
numbers when compiled fresh, and wrong ones (or NaN) once the same model is compiled again with
the same `CACHE_DIR`, so that the CPU plugin loads its compiled blob instead of compiling. The
same rotation written in Llama's form (cos/sin repeated to the whole head, as a traced PyTorch
model has it; also fused into the plugin's RoPE kernel) reloads bit for bit.

Needs only `openvino` and `onnx` (pip install openvino onnx); no network, no model files.
Exit code 1 when the fault shows, 0 when it does not.

    python3 docs/openvino-rope-cache.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import openvino as ov
from onnx import TensorProto, helper, numpy_helper

HEADS, HEAD, LENGTH, POSITIONS = 3, 8, 5, 32


def rotary_embedding_model(path: Path) -> Path:
    """One RotaryEmbedding (x: (1, 5, 24), positions (1, 5), cos/sin tables (32, 4)), as ONNX."""
    angles = np.random.default_rng(0).uniform(0, 6.3, (POSITIONS, HEAD // 2)).astype(np.float32)
    node = helper.make_node(
        "RotaryEmbedding", ["x", "positions", "cos", "sin"], ["y"], domain="com.microsoft", interleaved=0
    )
    graph = helper.make_graph(
        [node],
        "rotary",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, LENGTH, HEADS * HEAD]),
            helper.make_tensor_value_info("positions", TensorProto.INT64, [1, LENGTH]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, LENGTH, HEADS * HEAD])],
        [numpy_helper.from_array(np.cos(angles), "cos"), numpy_helper.from_array(np.sin(angles), "sin")],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    onnx.save_model(helper.make_model(graph, opset_imports=opsets), path)
    return path


def expected(x: np.ndarray, positions: np.ndarray, path: Path) -> np.ndarray:
    """What RotaryEmbedding means (ONNX Runtime's documentation), in NumPy."""
    tables = {t.name: numpy_helper.to_array(t) for t in onnx.load_model(path).graph.initializer}
    cos = np.concatenate([tables["cos"][positions[0]]] * 2, -1)[:, None]  # (S, 1, H)
    sin = np.concatenate([tables["sin"][positions[0]]] * 2, -1)[:, None]
    heads = x[0].reshape(LENGTH, HEADS, HEAD)
    first, second = heads[..., : HEAD // 2], heads[..., HEAD // 2 :]
    turned = np.concatenate([-second, first], -1)
    return (heads * cos + turned * sin).reshape(1, LENGTH, HEADS * HEAD)


def run_once(folder: Path) -> int:
    """One process: compile the model with the cache folder, run it, say how far off it is."""
    path = folder / "rotary.onnx"
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, LENGTH, HEADS * HEAD)).astype(np.float32)
    positions = np.array([[3, 9, 4, 20, 31]], dtype=np.int64)
    core = ov.Core()
    config = {"INFERENCE_PRECISION_HINT": "f32", "CACHE_DIR": str(folder / "cache")}
    compiled = core.compile_model(core.read_model(path), "CPU", config)
    error = float(np.abs(compiled({"x": x, "positions": positions})[0] - expected(x, positions, path)).max())
    print(f"loaded from the cache: {compiled.get_property('LOADED_FROM_CACHE')}, max |error|: {error:.3g}")
    return 0 if error < 1e-4 else 1


def main(argv: list[str]) -> int:
    """Write the model, then compile and run it in two processes sharing one cache folder."""
    if argv[:1] == ["--once"]:
        return run_once(Path(argv[1]))
    print("OpenVINO", ov.get_version())
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = rotary_embedding_model(folder / "rotary.onnx")
        plain = ov.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        kernels = {
            op.get_rt_info()["layerType"].astype(str) for op in plain.get_runtime_model().get_ordered_ops()
        }
        print("the CPU plugin fuses a RoPE kernel:", "RoPE" in kernels)
        codes = []
        for run in ("first process ", "second process"):
            print(run, end=": ", flush=True)
            codes.append(subprocess.run([sys.executable, __file__, "--once", str(folder)]).returncode)
    faulty = any(codes)
    print("FAULT: the model loaded from the cache computes wrong numbers" if faulty else "no fault here")
    return 1 if faulty else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
