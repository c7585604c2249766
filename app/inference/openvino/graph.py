"""Graph passes over an OpenVINO model, shared by both ways of preparing the engine.

The decoder's key/value cache moved inside the model (`make_stateful`), OpenVINO's common
optimizations (`simplify`), the attention found and fused (`fuse_attention`), and each
layer's products that read one input joined into one (`fuse_projections`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openvino import Model


def make_stateful(ov: ModuleType, model: Model, kv_inputs: list[str], kv_outputs: list[str]) -> None:
    """Move the key/value cache inside the model as state, zero-initialized per request."""
    import numpy as np
    from openvino import opset13
    from openvino._offline_transformations import apply_make_stateful_transformation

    apply_make_stateful_transformation(model, dict(zip(kv_inputs, kv_outputs, strict=True)))
    shape = opset13.shape_of(model.input("inputs_embeds"), output_type="i64")
    batch = opset13.gather(shape, opset13.constant([0]), opset13.constant(0))
    for op in model.get_ops():
        if op.get_type_name() == "ReadValue":
            dims: list[Any] = [d.min_length for d in op.get_output_partial_shape(0)]
            dims[0] = batch
            dims = [
                opset13.constant(np.array([d], dtype=np.int64)) if isinstance(d, int) else d for d in dims
            ]
            zeros = opset13.broadcast(
                opset13.constant(0.0, dtype=op.get_output_element_type(0)), opset13.concat(dims, axis=0)
            )
            op.set_arguments([zeros])
    model.validate_nodes_and_infer_types()


def simplify(model: Model) -> None:
    """OpenVINO's common optimizations, then the cancelling transpose pairs the ONNX export leaves.

    The exported attention is spelled out in small operations; the common optimizations find
    scaled-dot-product attention in it, and the transposes around the keys must go for the CPU
    plugin to fuse it.
    """
    from openvino._offline_transformations import apply_moc_transformations

    apply_moc_transformations(model, cf=False)
    _drop_cancelling_transposes(model)


def _scaled(output: Any) -> tuple[Any, float]:
    """(x, c) when `output` is x · c with a constant scalar c, else (output, 1)."""
    from app.inference.openvino.onnx_rewrite import constant_value

    node = output.get_node()
    if node.get_type_name() == "Multiply":
        a, b = node.input_values()
        for tensor, factor in ((a, b), (b, a)):
            value = constant_value(factor)
            if value is not None and value.size == 1:
                return tensor, float(value.reshape(()))
    return output, 1.0


def fuse_attention(model: Model) -> int:
    """softmax((q·c1)(kᵀ·c2) + mask)·v → scaled_dot_product_attention(q, k, v, mask, c1·c2)."""
    import numpy as np
    from openvino import opset13 as ops

    from app.inference.openvino.onnx_rewrite import constant_value

    fused = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() != "MatMul" or any(op.get_attributes().get(f"transpose_{s}") for s in "ab"):
            continue
        softmax = op.input_value(0).get_node()
        add = softmax.input_value(0).get_node() if softmax.get_type_name() == "Softmax" else None
        if add is None or add.get_type_name() != "Add":
            continue
        a, b = add.input_values()
        scores, mask = (a, b) if a.get_node().get_type_name() == "MatMul" else (b, a)
        product = scores.get_node()
        flags = product.get_attributes()
        if product.get_type_name() != "MatMul" or flags.get("transpose_a") or flags.get("transpose_b"):
            continue
        q, c1 = _scaled(product.input_value(0))
        keys_t, c2 = _scaled(product.input_value(1))
        transpose = keys_t.get_node()
        order = constant_value(transpose.input_value(1)) if transpose.get_type_name() == "Transpose" else None
        if order is None or list(order) != [0, 1, 3, 2]:
            continue
        kind = q.get_element_type()  # a half-precision graph attends in half precision
        scale = (
            ops.constant(np.float32(c1 * c2))
            if kind.get_type_name() == "f32"
            else ops.constant(c1 * c2, dtype=kind)
        )
        keys, values = transpose.input_value(0), op.input_value(1)
        sdpa = ops.scaled_dot_product_attention(q, keys, values, mask, scale, causal=False)
        op.output(0).replace(sdpa.output(0))
        fused += 1
    return fused


@dataclass(frozen=True)
class _Compressed:
    """An 8-bit weight as the runtime reads it: convert, (subtract zero points), multiply by scales."""

    weights: Any  # (N, K) or (K, N) int8/uint8
    zero_points: Any | None
    scales: Any
    decompressed: Any  # the element type the weights are converted to
    final: Any | None  # a last conversion (to f32) after the scales, if any


def _compressed_weight(output: Any) -> _Compressed | None:
    """The parts of `output` if it is an 8-bit weight's decompression, else None."""
    import numpy as np

    node = output.get_node()
    final = None
    if node.get_type_name() == "Convert":
        final, node = node.get_output_element_type(0), node.input_value(0).get_node()
    if node.get_type_name() != "Multiply":
        return None
    value, scale = node.input_values()
    if scale.get_node().get_type_name() != "Constant":
        return None
    convert, zero_points = value.get_node(), None
    if convert.get_type_name() == "Subtract":
        zp = convert.input_value(1).get_node()
        if zp.get_type_name() != "Convert" or zp.input_value(0).get_node().get_type_name() != "Constant":
            return None
        zero_points = np.asarray(zp.input_value(0).get_node().get_data())
        convert = convert.input_value(0).get_node()
    stored = convert.input_value(0).get_node() if convert.get_type_name() == "Convert" else None
    if stored is None or stored.get_type_name() != "Constant":
        return None
    weights = np.asarray(stored.get_data())
    if weights.ndim != 2 or weights.dtype not in (np.int8, np.uint8):
        return None
    scales = np.asarray(scale.get_node().get_data())
    return _Compressed(weights, zero_points, scales, convert.get_output_element_type(0), final)


def fuse_projections(model: Model) -> int:
    """Join the 8-bit products that read the same input (q/k/v, gate/up) into one, then split.

    Decoding reads every weight once per token; one product over the joined weights streams
    them in one pass instead of three or two short ones (about 7 % less time per decoding step
    on two cores, `docs/performance.md`). Per-tensor scales become per-channel ones, so
    the joined weights compute exactly what the parts did.
    """
    import numpy as np
    from openvino import opset13 as ops

    groups: dict[tuple[object, ...], list[tuple[Any, _Compressed]]] = {}
    for op in model.get_ordered_ops():
        if op.get_type_name() != "MatMul" or op.get_attributes()["transpose_a"]:
            continue
        weight = _compressed_weight(op.input_value(1))
        if weight is None:
            continue
        source, transposed = op.input_value(0), bool(op.get_attributes()["transpose_b"])
        key = (
            source.get_node().get_name(),  # unique, unlike friendly names
            source.get_index(),
            transposed,
            weight.weights.dtype.str,
            weight.weights.shape[1 if transposed else 0],
            weight.zero_points is None,
            str(weight.decompressed),
            str(weight.final),
        )
        groups.setdefault(key, []).append((op, weight))
    fused = 0
    for members in groups.values():
        if len(members) < 2:
            continue
        transposed = bool(members[0][0].get_attributes()["transpose_b"])
        axis = 0 if transposed else 1  # the output channels' axis of the weights
        sizes = [w.weights.shape[axis] for _, w in members]
        weight = _joined_weight([w for _, w in members], axis)
        product = ops.matmul(members[0][0].input_value(0), weight, False, transposed)
        product.set_friendly_name("+".join(op.get_friendly_name() for op, _ in members))
        lengths = ops.constant(np.array(sizes, dtype=np.int64))
        split = ops.variadic_split(product, ops.constant(np.int64(-1)), lengths)
        for index, (op, _) in enumerate(members):
            op.output(0).replace(split.output(index))
        fused += 1
    return fused


def _joined_weight(parts: list[_Compressed], axis: int) -> Any:
    """One decompression subgraph for `parts` joined along their output channels (`axis`)."""
    import numpy as np
    from openvino import opset13 as ops

    def per_channel(values: Any, channels: int) -> Any:
        shape = [1, 1]
        shape[axis] = channels
        values = np.asarray(values)
        return np.broadcast_to(values, shape) if values.size == 1 else values.reshape(shape)

    def joined(arrays: list[Any]) -> Any:
        return ops.constant(np.ascontiguousarray(np.concatenate(arrays, axis)))

    first = parts[0]
    weight = ops.convert(joined([p.weights for p in parts]), first.decompressed)
    if first.zero_points is not None:
        zero = joined([per_channel(p.zero_points, p.weights.shape[axis]) for p in parts])
        weight = ops.subtract(weight, ops.convert(zero, first.decompressed))
    weight = ops.multiply(weight, joined([per_channel(p.scales, p.weights.shape[axis]) for p in parts]))
    return weight if first.final is None else ops.convert(weight, first.final)


def _drop_cancelling_transposes(model: Any) -> int:
    """Remove Transpose(Transpose(x)) pairs whose permutations compose to the identity."""
    import numpy as np

    dropped = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Transpose":
            continue
        inner = op.input_value(0).get_node()
        if inner.get_type_name() != "Transpose":
            continue
        outer_order, inner_order = op.input_value(1).get_node(), inner.input_value(1).get_node()
        if outer_order.get_type_name() != "Constant" or inner_order.get_type_name() != "Constant":
            continue
        composed = np.asarray(inner_order.get_data())[np.asarray(outer_order.get_data())]
        if list(composed) == list(range(len(composed))):
            op.output(0).replace(inner.input_value(0))
            dropped += 1
    return dropped
