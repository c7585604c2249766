"""SmolSight's reading of ONNX Runtime's `RotaryEmbedding` computes what ONNX Runtime computes.

One `com.microsoft.RotaryEmbedding` node per graph, in every form the operator allows (three- and
four-dimensional input, halves or interleaved pairs, the whole head or part of it turned,
positions per token or one offset), run by ONNX Runtime and by OpenVINO with `onnx_contrib`'s
converter, fresh and again from OpenVINO's compiled cache.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

HEADS, HEAD, LENGTH, POSITIONS = 3, 8, 5, 32


def rotary_graph(path: Path, *, four_d: bool, interleaved: bool, rotary: int, offset: bool) -> Path:
    """A graph of one RotaryEmbedding with random cos/sin tables (as a builder stores them)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    angles = rng.uniform(0, 6.3, (POSITIONS, rotary // 2)).astype(np.float32)
    shape = [1, HEADS, LENGTH, HEAD] if four_d else [1, LENGTH, HEADS * HEAD]
    attributes = {"interleaved": int(interleaved)}
    if rotary != HEAD:
        attributes.update(rotary_embedding_dim=rotary, num_heads=HEADS)
    node = helper.make_node(
        "RotaryEmbedding", ["x", "positions", "cos", "sin"], ["y"], domain="com.microsoft", **attributes
    )
    positions = (
        helper.make_tensor_value_info("positions", TensorProto.INT64, [1])
        if offset
        else helper.make_tensor_value_info("positions", TensorProto.INT64, [1, LENGTH])
    )
    graph = helper.make_graph(
        [node],
        "rotary",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape), positions],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        [numpy_helper.from_array(np.cos(angles), "cos"), numpy_helper.from_array(np.sin(angles), "sin")],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    onnx.save_model(model, path)
    return path


@pytest.mark.parametrize("four_d", [False, True], ids=["3d", "4d"])
@pytest.mark.parametrize("interleaved", [False, True], ids=["halves", "interleaved"])
@pytest.mark.parametrize("rotary", [HEAD, HEAD // 2], ids=["whole-head", "part-of-head"])
@pytest.mark.parametrize("offset", [False, True], ids=["per-token", "offset"])
def test_rotary_embedding_reads_as_onnx_runtime_computes_it_fresh_and_from_the_cache(
    tmp_path: Path, four_d: bool, interleaved: bool, rotary: int, offset: bool
) -> None:
    import onnxruntime as ort
    import openvino as ov

    from app.inference.openvino.onnx_rewrite import onnx_core

    if four_d and rotary != HEAD:
        pytest.skip("ONNX Runtime turns part of a head only in three-dimensional input")
    path = rotary_graph(
        tmp_path / "rotary.onnx", four_d=four_d, interleaved=interleaved, rotary=rotary, offset=offset
    )
    rng = np.random.default_rng(1)
    shape = (1, HEADS, LENGTH, HEAD) if four_d else (1, LENGTH, HEADS * HEAD)
    x = rng.standard_normal(shape).astype(np.float32)
    positions = np.array([7], np.int64) if offset else np.array([[3, 9, 4, 20, 31]], np.int64)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"x": x, "positions": positions}
    )[0]
    model = onnx_core().read_model(path)
    config = {"INFERENCE_PRECISION_HINT": "f32", "CACHE_DIR": str(tmp_path / "compiled")}
    for cached in (False, True):
        compiled = ov.Core().compile_model(model, "CPU", config)
        assert compiled.get_property("LOADED_FROM_CACHE") == cached
        got = compiled({"x": x, "positions": positions})[0]
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=f"loaded from the cache: {cached}")
