"""Convert a SmolVLM2 model folder to OpenVINO IR once: vision encoder, token embeddings, decoder.

Run in its own process (`python -m app.inference.openvino`, which reports its steps as `steps`
says), so the app never imports PyTorch for the CPU path and the conversion's memory is
returned to the system when it ends.

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

import json
import shutil
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from app.inference.openvino.graph import make_stateful
from app.inference.openvino.steps import Weights, finish_export, report_step, save_graphs


def traceable_modules(torch: ModuleType) -> tuple[type, type, type]:
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
    report_step("load", "Reading the model")
    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    Vision, Embed, Decoder = traceable_modules(torch)
    text = model.config.text_config
    tile = int(model.config.vision_config.image_size)
    decoder = Decoder(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        with torch.no_grad():
            report_step("vision", "Converting the vision encoder")
            vision = ov.convert_model(
                Vision(model),
                example_input=torch.zeros(1, 3, tile, tile),
                input=[(ov.PartialShape([-1, 3, tile, tile]), ov.Type.f32)],
            )
            vision.inputs[0].get_tensor().set_names({"pixel_values"})
            vision.outputs[0].get_tensor().set_names({"image_features"})
            report_step("embed", "Converting the token embeddings")
            embed = ov.convert_model(
                Embed(model),
                example_input=torch.zeros(1, 4, dtype=torch.long),
                input=[(ov.PartialShape([-1, -1]), ov.Type.i64)],
            )
            embed.inputs[0].get_tensor().set_names({"input_ids"})
            embed.outputs[0].get_tensor().set_names({"inputs_embeds"})
            report_step("decoder", "Converting the language decoder")
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
        make_stateful(ov, dec, kv_in, kv_out)
        del model, decoder
        if weights == "int8":
            import nncf

            report_step("compress", "Compressing the weights to 8 bits")
            mode = nncf.CompressWeightsMode.INT8_ASYM
            vision = nncf.compress_weights(vision, mode=mode)
            embed = nncf.compress_weights(embed, mode=mode)
            dec = nncf.compress_weights(dec, mode=mode)
        report_step("save", "Saving the converted model")
        save_graphs(ov, work, vision, embed, dec)
        report_step("reference", "Recording a reference for the runtime's checks")
        (work / "reference.json").write_text(json.dumps(_reference(folder)))
        finish_export(ov, work, out, weights, source=str(folder), started=started)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return out
