"""Prepare the published ONNX files (`onnx/`) for OpenVINO, without PyTorch.

Each graph is read by OpenVINO's own ONNX reader (with SmolSight's converters for the 8-bit
products and ONNX Runtime's contrib operators, `onnx_rewrite` and `onnx_contrib`), given the
engine's interface (`_published_vision`, `_published_decoder`), checked against the published
decoder before anything is saved (`_check_prepared_decoder`), then saved. docs/cpu-engine.md
tells the steps and why.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from app.inference.model_config import read_config, section
from app.inference.openvino.graph import fuse_attention, make_stateful, simplify
from app.inference.openvino.steps import ONNX_STEPS, Weights, finish_export, report_step, save_graphs

# How close the prepared decoder's logits must be to the published graph's, both computed in
# float32 on the same short input: only the order of floating-point sums may differ.
PREPARED_AGREEMENT = 0.9999


class PreparedDisagrees(RuntimeError):
    """The prepared decoder does not compute what the published graph does; it is not saved."""


class DamagedFile(RuntimeError):
    """A published file can't be read at all (cut short, damaged); the message names it."""


def _read_part(core: Any, folder: Path, path: Path) -> Any:
    """`_read_onnx`, with a file that can't be read said by name (and how far it goes)."""
    try:
        return _read_onnx(core, path)
    except RuntimeError as exc:
        from app.inference.onnx_census import UnreadableGraph, census

        name = path.relative_to(folder).as_posix() if path.is_relative_to(folder) else str(path)
        try:
            census(path)
        except UnreadableGraph as why:
            raise DamagedFile(f"{name} in {folder} can't be read: {why}. Download the model again.") from exc
        except OSError as why:
            raise DamagedFile(f"{name} in {folder} can't be read: {why.strerror or why}.") from exc
        raise


def _read_onnx(core: Any, path: Path) -> Any:
    """Read one published graph; 8-bit ones keep their weights as 8 bits (`onnx_rewrite`).

    Half-precision inputs and outputs (the fp16 decoder keeps its cache in float16, as
    onnxruntime-genai's builder writes it) become float32 ones, the interface every other
    precision has: the cache inside the prepared model is then float32, and the engine feeds and
    reads float32 everywhere. The weights stay as published.
    """
    import openvino as ov
    from openvino.preprocess import PrePostProcessor

    from app.inference.openvino.onnx_rewrite import keep_weight_scales

    model = core.read_model(path)
    keep_weight_scales(model)
    half = [p for p in model.inputs if p.get_element_type() == ov.Type.f16]
    half_out = [p for p in model.outputs if p.get_element_type() == ov.Type.f16]
    if half or half_out:
        steps = PrePostProcessor(model)
        for port in half:
            steps.input(port.get_any_name()).tensor().set_element_type(ov.Type.f32)
        for port in half_out:
            steps.output(port.get_any_name()).tensor().set_element_type(ov.Type.f32)
        model = steps.build()
    return model


def _published_vision(ov: Any, model: Any, tile: int) -> Any:
    """Our vision interface, pixels (tiles, 3, tile, tile) → features, over the published one.

    The published encoder takes (batch, images, 3, h, w) pixels and a per-pixel mask; SmolVLM2's
    processor always makes full tiles, so the mask is all true and built inside the graph. For
    the same reason no attention row is ever fully masked, and the guards against one go
    (`_drop_nan_guards`).
    """
    from openvino import opset13 as ops

    pixels = ops.parameter([-1, 3, tile, tile], ov.Type.f32, name="pixel_values")
    batched = ops.unsqueeze(pixels, ops.constant(0))
    shape = ops.gather(ops.shape_of(batched, output_type="i64"), ops.constant([0, 1, 3, 4]), ops.constant(0))
    model.input("pixel_values").get_node().output(0).replace(batched.output(0))
    mask = model.input("pixel_attention_mask").get_node()
    mask.output(0).replace(ops.broadcast(ops.constant(True, dtype=ov.Type.boolean), shape).output(0))
    wrapped = ov.Model(model.get_results(), [pixels], "vision")
    wrapped.outputs[0].get_tensor().set_names({"image_features"})
    _drop_nan_guards(wrapped)
    simplify(wrapped)
    return wrapped


def _drop_nan_guards(model: Any) -> int:
    """Remove `Select(IsNaN(p), 0, p)` after an attention's softmax; the number removed.

    An encoder exported through the model's masked attention (the patch mask) zeroes the NaN
    rows a fully-masked query would give. Only padding can mask a whole row, and the tiles the
    engine sends are never padded, so the guard never changes a value; left in place, it keeps
    OpenVINO from fusing the attention (measured on the 500M's encoder, one tile, 2 cores:
    0.37 s with the guards, 0.31 s without, 0.29 s for an encoder exported with no mask).
    """
    dropped = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Select":
            continue
        condition, zero, value = (port.get_source_output() for port in op.inputs())
        check = condition.get_node()
        if (
            check.get_type_name() == "IsNaN"
            and check.input_value(0) == value
            and zero.get_node().get_type_name() == "Constant"
            and not zero.get_node().get_data().any()
            and value.get_node().get_type_name() == "Softmax"
        ):
            op.output(0).replace(value)
            dropped += 1
    return dropped


def _published_decoder(ov: Any, model: Any) -> Any:
    """Our decoder interface over the published one: stateful, last position's logits only."""
    import numpy as np
    from openvino import opset13 as ops

    names = {port.get_any_name() for port in model.inputs}
    if "use_cache_branch" in names:  # an optimum-style merged decoder: always the cached branch
        branch = model.input("use_cache_branch").get_node()
        branch.output(0).replace(ops.constant(np.array([True])).output(0))
        model.remove_parameter(branch)
    head = model.output("logits").get_node()
    if head.get_type_name() == "Result":
        head = head.input_value(0).get_node()
    if head.get_type_name() == "MatMul":  # compute the output head for the last position only
        hidden = head.input_value(0)
        last = ops.slice(
            hidden,
            ops.constant(np.array([-1], dtype=np.int64)),
            ops.constant(np.array([np.iinfo(np.int64).max], dtype=np.int64)),
            ops.constant(np.array([1], dtype=np.int64)),
            ops.constant(np.array([1], dtype=np.int64)),
        )
        head.input(0).replace_source_output(last.output(0))
    kv_in = sorted(n for n in names if n.startswith("past_key_values."))
    kv_out = [n.replace("past_key_values.", "present.") for n in kv_in]
    _cache_shapes_from_outputs(ov, model, kv_in, kv_out)
    # A `beam_idx` reordering of the cache, as in our conversion: OpenVINO's CPU plugin fuses
    # cache + attention into one kernel only in that form (its StatefulSDPAFusion pattern).
    beam = ops.parameter([-1], ov.Type.i32, name="beam_idx")
    beam.output(0).get_tensor().set_names({"beam_idx"})
    for name in kv_in:
        past = model.input(name).get_node()
        readers = list(past.output(0).get_target_inputs())
        reordered = ops.gather(past, beam, ops.constant(0))
        for reader in readers:
            reader.replace_source_output(reordered.output(0))
    model.add_parameters([beam])
    make_stateful(ov, model, kv_in, kv_out)
    simplify(model)
    fuse_attention(model)  # what the common optimizations left spelled out (the first layer's)
    return model


def _cache_shapes_from_outputs(ov: Any, model: Any, kv_in: list[str], kv_out: list[str]) -> None:
    """Give each cache input the head count and head size its output has.

    onnxruntime-genai's builder declares the cache inputs' head size as a free dimension; the
    stateful cache starts as zeros of the input's smallest shape, which would then have a head
    size of 0 and not join the first step's keys. Batch and sequence stay free.
    """
    for past_name, present_name in zip(kv_in, kv_out, strict=True):
        past = model.input(past_name).get_node()
        known = model.output(present_name).get_partial_shape()
        if known.rank.is_dynamic:
            continue
        dims = [ov.Dimension() if axis in (0, 2) else known[axis] for axis in range(known.rank.get_length())]
        past.set_partial_shape(ov.PartialShape(dims))
    model.validate_nodes_and_infer_types()


def _check_prepared_decoder(ov: Any, published: Any, prepared: Any, embed: Any) -> float:
    """Refuse a prepared decoder that disagrees with the published graph; the agreement (cosine).

    The reference is the published decoder itself, read by OpenVINO operator by operator with
    none of SmolSight's preparation (no cache moved inside, no last-position head, no joined
    products, no fused attention), run at float32 with its cache passed in and out as the graph
    declares it. Both run the same short input: six tokens' embeddings (from the published
    embedding table), then one more token with the cache. What the operators themselves mean
    (ONNX Runtime's, in decoders built by onnxruntime-genai) is checked against ONNX Runtime and
    transformers by the test suite; this check guards the preparation on files we never saw.
    """
    import numpy as np

    from app.inference.agreement import cosine

    core = ov.Core()
    f32 = {"INFERENCE_PRECISION_HINT": "f32", "DYNAMIC_QUANTIZATION_GROUP_SIZE": "0"}
    table = core.compile_model(embed, "CPU", f32)
    ids = np.array([[1, 2, 3, 4, 5, 6, 7]], dtype=np.int64)
    embeds = np.asarray(table(ids)[0], dtype=np.float32)
    first, step = embeds[:, :6], embeds[:, 6:]

    def feed(tokens: Any, start: int) -> dict[str, Any]:
        total = start + tokens.shape[1]
        return {
            "inputs_embeds": tokens,
            "attention_mask": np.ones((1, total), dtype=np.int64),
            "position_ids": np.arange(start, total, dtype=np.int64)[None],
        }

    reference = core.compile_model(published, "CPU", f32)
    past = {}
    for port in published.inputs:
        name = port.get_any_name()
        if name.startswith("past_key_values."):
            shape = published.output(name.replace("past_key_values.", "present.")).get_partial_shape()
            dims = [1, shape[1].get_length(), 0, shape[3].get_length()]
            past[name] = np.zeros(dims, dtype=np.float32)
    done = reference({**feed(first, 0), **past})
    want = [np.asarray(done[reference.output("logits")])[0, -1]]
    presents = {
        n: np.asarray(done[reference.output(n.replace("past_key_values.", "present."))]) for n in past
    }
    done = reference({**feed(step, 6), **presents})
    want.append(np.asarray(done[reference.output("logits")])[0, -1])

    request = core.compile_model(prepared, "CPU", f32).create_infer_request()
    request.reset_state()
    beam = {"beam_idx": np.zeros(1, dtype=np.int32)}
    got = [np.asarray(request.infer({**feed(first, 0), **beam})["logits"])[0, -1].copy()]
    got.append(np.asarray(request.infer({**feed(step, 6), **beam})["logits"])[0, -1].copy())
    agreement = min(cosine(a, b) for a, b in zip(got, want, strict=True))
    if not agreement >= PREPARED_AGREEMENT:  # also refuses NaN
        raise PreparedDisagrees(
            f"the prepared decoder does not compute what the published one does (logits cosine "
            f"{agreement:.4f} on a check input, {PREPARED_AGREEMENT} needed), so it was not kept"
        )
    return agreement


def export_from_onnx(
    folder: Path, out: Path, weights: Weights, variant: str, *, own_rotary: bool = True
) -> Path:
    """Prepare the published ONNX files in `folder/onnx/` for OpenVINO into `out` (no PyTorch).

    `own_rotary=False` reads `RotaryEmbedding` with OpenVINO's own converter, whose compiled
    form loads back wrong from the compiled cache: only to show that fault (tests).
    """
    import openvino as ov

    from app.inference.published_onnx import find_onnx

    files = find_onnx(folder, variant)  # type: ignore[arg-type]
    if files is None:
        raise FileNotFoundError(f"{folder} has no complete {variant} ONNX export")
    started = time.monotonic()
    tile = int(section(read_config(folder), "vision_config").get("image_size", 512))  # type: ignore[call-overload]
    from app.inference.openvino.onnx_rewrite import onnx_core

    core = onnx_core(own_rotary=own_rotary)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        report_step("vision", "Reading the vision encoder", ONNX_STEPS)
        vision = _published_vision(ov, _read_part(core, folder, files["vision"]), tile)
        report_step("embed", "Reading the token embeddings", ONNX_STEPS)
        embed = _read_part(core, folder, files["embed"])
        report_step("decoder", "Reading the language decoder", ONNX_STEPS)
        dec = _published_decoder(ov, _read_part(core, folder, files["decoder"]))
        report_step("check", "Checking the prepared decoder against the published one", ONNX_STEPS)
        agreement = _check_prepared_decoder(ov, _read_onnx(core, files["decoder"]), dec, embed)
        if weights == "int8" and variant in ("fp32", "fp16"):
            import nncf

            report_step("compress", "Compressing the weights to 8 bits", ONNX_STEPS)
            mode = nncf.CompressWeightsMode.INT8_ASYM
            vision = nncf.compress_weights(vision, mode=mode)
            embed = nncf.compress_weights(embed, mode=mode)
            dec = nncf.compress_weights(dec, mode=mode)
        report_step("save", "Saving the prepared model", ONNX_STEPS)
        save_graphs(ov, work, vision, embed, dec)
        finish_export(
            ov, work, out, weights, source=f"{folder} (onnx {variant})", started=started, checked=agreement
        )
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return out
