"""Convert a SmolVLM2 model folder to OpenVINO IR once: vision encoder, token embeddings, decoder.

Run as its own process (`python -m app.inference.openvino_export`), so the app never imports
PyTorch for the CPU path and the conversion's memory is returned to the system when it ends.
It prints one JSON object per line on stdout: `{"step", "steps", "message"}` while it works,
then `{"done": folder}`; on failure the last line is `{"error": message}` and the exit code is 1.

What is exported (traced from the transformers model, so any transformers version works):

- `vision.xml`: pixel values (N, 3, tile, tile) → image features (N, tokens, hidden): the
  SigLIP encoder with the position ids of full tiles (SmolVLM2's processor always makes full
  tiles) and the pixel-shuffle connector. The tile size, patch size and scale factor are the
  model's own (`config.json`): 512/16/4 → 64 tokens for the 500M, 384/14/3 → 81 for the 2.2B;
- `embed.xml`: token ids → embeddings;
- `decoder.xml`: the Llama decoder, stateful (the key/value cache lives inside OpenVINO), with
  inputs_embeds, attention_mask, position_ids and beam_idx, returning the last position's
  logits only.

Weights are compressed to int8 (per output channel, asymmetric) with NNCF, unless full
precision is asked for. A `reference.json` records what transformers' own processor makes of a
reference request (token ids and pixel statistics), so the runtime can check on the user's
machine that its torch-free preprocessing agrees with it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Weights = Literal["int8", "fp32"]
EXPORT_VERSION = 4  # bump when the exported graphs change; old caches are then rebuilt
MANIFEST = "smolsight_openvino.json"
STEPS = ("load", "vision", "embed", "decoder", "compress", "save", "reference")
ONNX_STEPS = ("vision", "embed", "decoder", "check", "compress", "save")
# How close the prepared decoder's logits must be to the published graph's, both computed in
# float32 on the same short input: only the order of floating-point sums may differ.
PREPARED_AGREEMENT = 0.9999


class PreparedDisagrees(RuntimeError):
    """The prepared decoder does not compute what the published graph does; it is not saved."""


def _say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def _step(name: str, message: str, steps: tuple[str, ...] = STEPS) -> None:
    _say(step=steps.index(name), steps=len(steps), message=message)


def _modules(torch: Any) -> tuple[type, type, type]:
    """The export wrappers (defined here so importing this module never needs torch)."""
    nn = torch.nn

    class Vision(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self, model: Any) -> None:
            super().__init__()
            m = model.model
            self.patch = m.vision_model.embeddings.patch_embedding
            self.positions = m.vision_model.embeddings.position_embedding
            self.encoder = m.vision_model.encoder
            self.post = m.vision_model.post_layernorm
            self.connector = m.connector

        def forward(self, pixel_values: Any) -> Any:
            x = self.patch(pixel_values).flatten(2).transpose(1, 2)
            # A full tile's patches take position ids 0..n-1 in order (what the model computes
            # from an all-ones patch mask).
            x = x + self.positions.weight[None, : x.shape[1]]
            x = self.encoder(inputs_embeds=x, attention_mask=None).last_hidden_state
            return self.connector(self.post(x))

    class Embed(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.embed = model.model.text_model.embed_tokens

        def forward(self, input_ids: Any) -> Any:
            return self.embed(input_ids)

    class Decoder(nn.Module):  # type: ignore[misc,name-defined]
        """The Llama decoder written out with explicit cache tensors, for tracing."""

        def __init__(self, model: Any, *, last_only: bool = True) -> None:
            super().__init__()
            self.last_only = last_only  # our IR: the last position's logits; the ONNX layout: all
            text = model.model.text_model
            config = text.config
            self.layers = text.layers
            self.norm = text.norm
            self.rotary = text.rotary_emb
            self.head = model.lm_head
            self.heads = config.num_attention_heads
            self.kv_heads = config.num_key_value_heads
            self.head_dim = (
                getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
            )

        def forward(
            self, inputs_embeds: Any, attention_mask: Any, position_ids: Any, beam_idx: Any, *past: Any
        ) -> Any:
            h = inputs_embeds
            b, q = h.shape[0], h.shape[1]
            cos, sin = self.rotary(h, position_ids)
            cos, sin = cos[:, None], sin[:, None]
            kv_len = attention_mask.shape[1]
            key_pos = torch.arange(kv_len)
            query_pos = torch.arange(q) + (kv_len - q)
            allowed = (key_pos[None, :] <= query_pos[:, None])[None, None] & attention_mask[
                :, None, None, :
            ].bool()
            mask = torch.where(allowed, 0.0, torch.finfo(torch.float32).min)
            groups = self.heads // self.kv_heads
            presents = []
            for i, layer in enumerate(self.layers):
                attn = layer.self_attn
                x = layer.input_layernorm(h)
                qs = attn.q_proj(x).view(b, q, self.heads, self.head_dim).transpose(1, 2)
                ks = attn.k_proj(x).view(b, q, self.kv_heads, self.head_dim).transpose(1, 2)
                vs = attn.v_proj(x).view(b, q, self.kv_heads, self.head_dim).transpose(1, 2)
                qs = qs * cos + _rotate_half(torch, qs) * sin
                ks = ks * cos + _rotate_half(torch, ks) * sin
                past_k, past_v = past[2 * i], past[2 * i + 1]
                if (
                    beam_idx is not None
                ):  # our IR reorders the cache by beam; the ONNX layout has no beam input
                    past_k = torch.index_select(past_k, 0, beam_idx)
                    past_v = torch.index_select(past_v, 0, beam_idx)
                ks = torch.cat([past_k, ks], dim=2)
                vs = torch.cat([past_v, vs], dim=2)
                presents += [ks, vs]
                n = ks.shape[2]
                kr = (
                    ks[:, :, None]
                    .expand(b, self.kv_heads, groups, n, self.head_dim)
                    .reshape(b, self.heads, n, -1)
                )
                vr = (
                    vs[:, :, None]
                    .expand(b, self.kv_heads, groups, n, self.head_dim)
                    .reshape(b, self.heads, n, -1)
                )
                o = torch.nn.functional.scaled_dot_product_attention(
                    qs, kr, vr, attn_mask=mask, scale=attn.scaling
                )
                h = h + attn.o_proj(o.transpose(1, 2).reshape(b, q, self.heads * self.head_dim))
                h = h + layer.mlp(layer.post_attention_layernorm(h))
            return (self.head(self.norm(h[:, -1:, :] if self.last_only else h)), *presents)

    return Vision, Embed, Decoder


def _rotate_half(torch: Any, x: Any) -> Any:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _make_stateful(ov: Any, model: Any, kv_inputs: list[str], kv_outputs: list[str]) -> None:
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


def _reference(folder: Path) -> dict[str, object]:
    """What transformers' own processor makes of a reference request (checked by the runtime)."""
    import numpy as np
    from PIL import Image

    from app.inference.chat_format import render_prompt
    from app.inference.smolvlm_inputs import reference_request
    from app.inference.transformers_backend import load_processor

    processor = load_processor(folder)
    request = reference_request()
    images = [Image.fromarray(np.asarray(f.image)) for f in request.frames]
    inputs = processor(
        text=[render_prompt(request)], images=[images], do_image_splitting=False, return_tensors="np"
    )
    pixels = np.asarray(inputs["pixel_values"][0], dtype=np.float64)
    return {
        "input_ids": [int(i) for i in inputs["input_ids"][0]],
        "pixel_mean": float(pixels.mean()),
        "pixel_sum_abs": float(np.abs(pixels).sum()),
    }


def export(folder: Path, out: Path, weights: Weights) -> Path:
    """Convert the model in `folder` into `out` (written to a temporary folder, then renamed)."""
    import openvino as ov
    import torch
    from transformers import AutoModelForImageTextToText

    started = time.monotonic()
    _step("load", "Reading the model")
    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    Vision, Embed, Decoder = _modules(torch)
    text = model.config.text_config
    tile = int(model.config.vision_config.image_size)
    decoder = Decoder(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        with torch.no_grad():
            _step("vision", "Converting the vision encoder")
            vision = ov.convert_model(
                Vision(model),
                example_input=torch.zeros(1, 3, tile, tile),
                input=[(ov.PartialShape([-1, 3, tile, tile]), ov.Type.f32)],
            )
            vision.inputs[0].get_tensor().set_names({"pixel_values"})
            vision.outputs[0].get_tensor().set_names({"image_features"})
            _step("embed", "Converting the token embeddings")
            embed = ov.convert_model(
                Embed(model),
                example_input=torch.zeros(1, 4, dtype=torch.long),
                input=[(ov.PartialShape([-1, -1]), ov.Type.i64)],
            )
            embed.inputs[0].get_tensor().set_names({"input_ids"})
            embed.outputs[0].get_tensor().set_names({"inputs_embeds"})
            _step("decoder", "Converting the language decoder")
            past = [
                torch.zeros(1, text.num_key_value_heads, 3, decoder.head_dim)
                for _ in range(2 * text.num_hidden_layers)
            ]
            example = (
                torch.zeros(1, 2, text.hidden_size),
                torch.ones(1, 5, dtype=torch.long),
                torch.tensor([[3, 4]]),
                torch.zeros(1, dtype=torch.int32),
                *past,
            )
            names = ["inputs_embeds", "attention_mask", "position_ids", "beam_idx"]
            shapes = [
                (ov.PartialShape([-1, -1, text.hidden_size]), ov.Type.f32),
                (ov.PartialShape([-1, -1]), ov.Type.i64),
                (ov.PartialShape([-1, -1]), ov.Type.i64),
                (ov.PartialShape([-1]), ov.Type.i32),
            ]
            kv_in, kv_out = [], []
            for i in range(text.num_hidden_layers):
                for kind in ("key", "value"):
                    kv_in.append(f"past_key_values.{i}.{kind}")
                    kv_out.append(f"present.{i}.{kind}")
                    shapes.append(
                        (ov.PartialShape([-1, text.num_key_value_heads, -1, decoder.head_dim]), ov.Type.f32)
                    )
            dec = ov.convert_model(decoder, example_input=example, input=shapes)
        for port, name in zip(dec.inputs, names + kv_in, strict=True):
            port.get_tensor().set_names({name})
        for port, name in zip(dec.outputs, ["logits", *kv_out], strict=True):
            port.get_tensor().set_names({name})
        _make_stateful(ov, dec, kv_in, kv_out)
        del model, decoder
        if weights == "int8":
            import nncf

            _step("compress", "Compressing the weights to 8 bits")
            mode = nncf.CompressWeightsMode.INT8_ASYM
            vision = nncf.compress_weights(vision, mode=mode)
            embed = nncf.compress_weights(embed, mode=mode)
            dec = nncf.compress_weights(dec, mode=mode)
        _step("save", "Saving the converted model")
        _save(ov, work, vision, embed, dec)
        _step("reference", "Recording a reference for the runtime's checks")
        (work / "reference.json").write_text(json.dumps(_reference(folder)))
        _finish(ov, work, out, weights, source=str(folder), started=started)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return out


def _save(ov: Any, work: Path, vision: Any, embed: Any, decoder: Any) -> None:
    _fuse_projections(decoder)  # the vision encoder computes, it does not stream: nothing to gain there
    for name, graph in (("vision", vision), ("embed", embed), ("decoder", decoder)):
        ov.save_model(graph, work / f"{name}.xml", compress_to_fp16=False)


def _finish(
    ov: Any,
    work: Path,
    out: Path,
    weights: Weights,
    *,
    source: str,
    started: float,
    checked: float | None = None,
) -> None:
    manifest: dict[str, object] = {
        "export_version": EXPORT_VERSION,
        "weights": weights,
        "openvino": ov.get_version(),
        "source": source,
        "seconds": round(time.monotonic() - started, 1),
    }
    if checked is not None:  # the prepared decoder's agreement with the published one (logits cosine)
        manifest["checked_against_published"] = round(checked, 7)
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2))  # last: marks a complete export
    if out.exists():
        shutil.rmtree(out)
    work.rename(out)


def _read_onnx(core: Any, path: Path) -> Any:
    """Read one published graph; 8-bit ones keep their weights as 8 bits (`onnx_rewrite`).

    Half-precision inputs and outputs (the fp16 decoder keeps its cache in float16, as
    onnxruntime-genai's builder writes it) become float32 ones, the interface every other
    precision has: the cache inside the prepared model is then float32, and the engine feeds and
    reads float32 everywhere. The weights stay as published.
    """
    import openvino as ov
    from openvino.preprocess import PrePostProcessor

    from app.inference.onnx_rewrite import keep_weight_scales

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
    _simplify(wrapped)
    return wrapped


def _simplify(model: Any) -> None:
    """OpenVINO's common optimizations, then the cancelling transpose pairs the ONNX export leaves.

    The exported attention is spelled out in small operations; the common optimizations find
    scaled-dot-product attention in it, and the transposes around the keys must go for the CPU
    plugin to fuse it.
    """
    from openvino._offline_transformations import apply_moc_transformations

    apply_moc_transformations(model, cf=False)
    _drop_cancelling_transposes(model)


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
    _make_stateful(ov, model, kv_in, kv_out)
    _simplify(model)
    _fuse_attention(model)  # what the common optimizations left spelled out (the first layer's)
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


def _scaled(output: Any) -> tuple[Any, float]:
    """(x, c) when `output` is x · c with a constant scalar c, else (output, 1)."""
    from app.inference.onnx_rewrite import constant_value

    node = output.get_node()
    if node.get_type_name() == "Multiply":
        a, b = node.input_values()
        for tensor, factor in ((a, b), (b, a)):
            value = constant_value(factor)
            if value is not None and value.size == 1:
                return tensor, float(value.reshape(()))
    return output, 1.0


def _fuse_attention(model: Any) -> int:
    """softmax((q·c1)(kᵀ·c2) + mask)·v → scaled_dot_product_attention(q, k, v, mask, c1·c2)."""
    import numpy as np
    from openvino import opset13 as ops

    from app.inference.onnx_rewrite import constant_value

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
        scale = ops.constant(np.float32(c1 * c2))
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


def _fuse_projections(model: Any) -> int:
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

    from app.evaluation.precision import cosine

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


def export_from_onnx(folder: Path, out: Path, weights: Weights, variant: str) -> Path:
    """Prepare the published ONNX files in `folder/onnx/` for OpenVINO into `out` (no PyTorch)."""
    import openvino as ov

    from app.inference.published_onnx import find_onnx

    files = find_onnx(folder, variant)  # type: ignore[arg-type]
    if files is None:
        raise FileNotFoundError(f"{folder} has no complete {variant} ONNX export")
    started = time.monotonic()
    tile = int(
        json.loads((folder / "config.json").read_text()).get("vision_config", {}).get("image_size", 512)
    )
    from app.inference.onnx_rewrite import onnx_core

    core = onnx_core()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _step("vision", "Reading the vision encoder", ONNX_STEPS)
        vision = _published_vision(ov, _read_onnx(core, files["vision"]), tile)
        _step("embed", "Reading the token embeddings", ONNX_STEPS)
        embed = _read_onnx(core, files["embed"])
        _step("decoder", "Reading the language decoder", ONNX_STEPS)
        dec = _published_decoder(ov, _read_onnx(core, files["decoder"]))
        _step("check", "Checking the prepared decoder against the published one", ONNX_STEPS)
        agreement = _check_prepared_decoder(ov, _read_onnx(core, files["decoder"]), dec, embed)
        if weights == "int8" and variant in ("fp32", "fp16"):
            import nncf

            _step("compress", "Compressing the weights to 8 bits", ONNX_STEPS)
            mode = nncf.CompressWeightsMode.INT8_ASYM
            vision = nncf.compress_weights(vision, mode=mode)
            embed = nncf.compress_weights(embed, mode=mode)
            dec = nncf.compress_weights(dec, mode=mode)
        _step("save", "Saving the prepared model", ONNX_STEPS)
        _save(ov, work, vision, embed, dec)
        _finish(
            ov, work, out, weights, source=f"{folder} (onnx {variant})", started=started, checked=agreement
        )
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: convert, printing progress as JSON lines."""
    parser = argparse.ArgumentParser(description="Convert a SmolVLM2 folder to OpenVINO IR")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--weights", choices=("int8", "fp32"), default="int8")
    parser.add_argument(
        "--onnx", metavar="VARIANT", help="prepare the published ONNX files of this precision"
    )
    args = parser.parse_args(argv)
    try:
        if args.onnx:
            done = export_from_onnx(args.model, args.out, args.weights, args.onnx)
        else:
            done = export(args.model, args.out, args.weights)
    except Exception as exc:  # reported to the parent in one line; it decides what to do
        from app.inference.backend import one_line

        _say(error=one_line(exc))
        return 1
    _say(done=str(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
