"""What `check-model` reads from an ONNX file: whole files read, cut-short ones said, decoder forms told."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.inference.onnx_census import UnreadableGraph, census
from app.inference.published_onnx import decoder_form, engine_takes


def small_graph(path: Path) -> Path:
    """A real ONNX file: one MatMul by a 64×64 weight, then a Softmax."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((64, 64), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Softmax", ["y"], ["z"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 64])],
        [weight],
    )
    onnx.save_model(helper.make_model(graph, producer_name="a test"), path)
    return path


def test_a_whole_file_is_read(tmp_path: Path) -> None:
    found = census(small_graph(tmp_path / "g.onnx"))
    assert found.producer == "a test" and dict(found.operators) == {"MatMul": 1, "Softmax": 1}
    assert found.inputs[0].name == "x" and found.inputs[0].shape == ("batch", "64")


@pytest.mark.parametrize("keep", [0.05, 0.3, 0.6, 0.99])
def test_a_file_cut_short_anywhere_is_said_not_misread(tmp_path: Path, keep: float) -> None:
    whole = small_graph(tmp_path / "g.onnx").read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(UnreadableGraph, match=r"ends"):
        census(cut)


def test_decoder_forms_are_told_from_their_operators() -> None:
    exported = {"MatMul": 30, "Softmax": 2, "Concat": 10}
    builder_mha = {"com.microsoft.MultiHeadAttention": 2, "com.microsoft.RotaryEmbedding": 4, "MatMul": 8}
    builder_gqa = {"com.microsoft.GroupQueryAttention": 2, "com.microsoft.RotaryEmbedding": 4}
    four_bit = {**builder_gqa, "com.microsoft.MatMulNBits": 14}
    assert [decoder_form(ops) for ops in (exported, builder_mha, builder_gqa)] == [
        "export",
        "genai-mha",
        "genai-gqa",
    ]
    assert decoder_form({"com.microsoft.Attention": 2}) == "unknown"
    assert engine_takes("genai-mha", builder_mha)[0] and engine_takes("export", exported)[0]
    takes, why = engine_takes("genai-gqa", four_bit)
    assert not takes and "4-bit" in why
    assert not engine_takes("unknown", {"com.microsoft.Attention": 2})[0]
