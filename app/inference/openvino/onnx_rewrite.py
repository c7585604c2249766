"""Read dynamically quantized ONNX graphs as 8-bit-weight graphs OpenVINO runs fast.

The published 8-bit files (transformers.js's `_int8`, `_uint8`, `_quantized`) were made with
ONNX Runtime's dynamic quantization: every matrix product became

    DynamicQuantizeLinear(x) → MatMulInteger(x_q, W_q, x_zero, W_zero) → Cast → Mul(x_scale · W_scale)

(and `ConvInteger` likewise for the vision encoder's patch convolution): the activations are
quantized to 8 bits at run time, per tensor. Read as it is, OpenVINO runs that as dozens of
small operations per product with the weights unpacked to floats: slower than the converted
model, and less accurate. `onnx_core` reads these operations differently (OpenVINO's ONNX
front end takes a converter per operation type): the activations stay float (scale 1, zero
point 0) and each product takes `W_q - W_zero` as its weights; `keep_weight_scales` then moves
each product's scale from its output onto its weights. The result is

    MatMul(x, (Convert(W_q) - W_zero) · W_scale)

with the published 8-bit weights kept bit for bit, the form NNCF's weight compression makes,
which OpenVINO keeps 8-bit in memory and decompresses inside the product. Quantized `Gather`s
(the token embedding) already have that form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from openvino import Core, Model, Output

__all__ = ["constant_value", "keep_weight_scales", "onnx_core"]


def _float_activations(node: Any) -> list[Any]:
    """DynamicQuantizeLinear: pass the float input through, with scale 1 and zero point 0."""
    from openvino import opset13 as ops

    return [node.get_input(0), ops.constant(np.float32(1.0)).output(0), ops.constant(np.uint8(0)).output(0)]


def _integer_product(kind: str) -> Any:
    def convert(node: Any) -> list[Any]:
        import openvino as ov
        from openvino import opset13 as ops

        x, weights = node.get_input(0), node.get_input(1)
        unpacked = ops.convert(weights, ov.Type.f32)
        if node.get_input_size() > 3:
            unpacked = ops.subtract(unpacked, ops.convert(node.get_input(3), ov.Type.f32))
        if kind == "MatMulInteger":
            return [ops.matmul(x, unpacked, False, False).output(0)]
        pads = list(node.get_attribute("pads", [0, 0, 0, 0]))
        half = len(pads) // 2
        strides = node.get_attribute("strides", [1, 1])
        dilations = node.get_attribute("dilations", [1, 1])
        product = ops.convolution(x, unpacked, strides, pads[:half], pads[half:], dilations)
        return [product.output(0)]

    return convert


def onnx_core(*, own_rotary: bool = True) -> Core:
    """An OpenVINO Core whose ONNX reader keeps 8-bit products 8-bit and knows ONNX Runtime's operators.

    `own_rotary`: see `onnx_contrib.register`.
    """
    import openvino as ov
    from openvino.frontend.onnx import ConversionExtension

    from app.inference.openvino.onnx_contrib import register

    core = ov.Core()
    register(
        core, own_rotary=own_rotary
    )  # ONNX Runtime's own operators, as onnxruntime-genai's builder writes them
    core.add_extension(ConversionExtension("DynamicQuantizeLinear", _float_activations))
    for kind in ("MatMulInteger", "ConvInteger"):
        core.add_extension(ConversionExtension(kind, _integer_product(kind)))
    return core


def constant_value(output: Output) -> np.ndarray | None:
    """The value of a small constant expression (products and conversions of constants), else None."""
    node = output.get_node()
    kind = node.get_type_name()
    if kind == "Constant":
        return np.asarray(node.get_data())
    if kind == "Convert":
        return constant_value(node.input_value(0))
    if kind == "Multiply":
        a, b = (constant_value(i) for i in node.input_values())
        if a is not None and b is not None:
            return np.asarray(a * b)
    return None


def keep_weight_scales(model: Model) -> int:
    """Move each 8-bit product's output scale onto its weights; how many were moved."""
    from openvino import opset13 as ops

    moved = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() not in ("MatMul", "Convolution"):
            continue
        if op.input_value(1).get_node().get_type_name() not in ("Subtract", "Convert"):
            continue  # not unpacked 8-bit weights
        after = [t.get_node() for t in op.output(0).get_target_inputs()]
        cast = None
        if len(after) == 1 and after[0].get_type_name() == "Convert":  # the int32 → float Cast
            cast, after = after[0], [t.get_node() for t in after[0].output(0).get_target_inputs()]
        if len(after) != 1 or after[0].get_type_name() != "Multiply":
            continue
        rescale = after[0]
        source = cast or op
        others = [i for i in rescale.input_values() if i != source.output(0)]
        scale = constant_value(others[0]) if len(others) == 1 else None
        if scale is None or scale.size != 1:
            continue
        weights = ops.multiply(op.input_value(1), ops.constant(np.float32(scale.reshape(()))))
        op.input(1).replace_source_output(weights.output(0))
        rescale.output(0).replace(op.output(0))
        moved += 1
    return moved
