"""Write a model folder's `onnx/` export in the layout its hub repository publishes.

SmolVLM2's hub repositories carry an `onnx/` folder made with transformers.js's conversion
scripts: `vision_encoder`, `embed_tokens` and `decoder_model_merged`, each in several
precisions told apart by a suffix (see `app.inference.published_onnx`, which cites the
sources). Real weights can't be downloaded here, so tests and benchmarks write the same layout
from a locally built model: the same file names, the same graph inputs and outputs, and the
8-bit variants made the way transformers.js's `scripts/quantize.py` makes them (ONNX
Runtime's dynamic integer quantization, per tensor; `_int8` signed weights, `_uint8` unsigned,
`_quantized` unsigned for graphs with a convolution or one of ONNX Runtime's attention operators).

The vision encoder is exported through the model's own image-feature path, as
`get_image_features` computes it: padding images dropped, the pixel mask turned into the patch
mask and the position ids the vision transformer derives from it.

The hub's decoders were most likely not exported from PyTorch but built by onnxruntime-genai's
model builder (`exclude_embeds`: the same input and output names, a float16 cache in the fp16
file, and ONNX Runtime's contrib operators `MultiHeadAttention` or `GroupQueryAttention`,
`RotaryEmbedding`, `SkipSimplifiedLayerNormalization`; docs/cpu-engine.md gives the evidence).
`decoder="genai-mha"` or `"genai-gqa"` builds the decoder that way from the same weights.

Needs PyTorch, transformers, onnx and onnxruntime (and onnxruntime-genai for its builder): a
developer tool (`smolsight build-test-model --onnx`), never part of the app's own path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.inference.published_onnx import ONNX_DIR, PARTS, SUFFIXES, DecoderForm, Variant

__all__ = ["DecoderForm", "write_onnx_layout"]

# How the decoder graph is made (`DecoderForm`): exported from PyTorch (`export`), or by
# onnxruntime-genai's model builder with `MultiHeadAttention` (what its web target made, and what
# it makes for CPU at float16) or `GroupQueryAttention` (its CPU target at float32), each with a
# separate `RotaryEmbedding` and `position_ids` as an input, as the published decoders have.

OPSET = 17

# Runs onnxruntime-genai's builder with the attention form chosen: the builder imports its
# modules as top-level ones (`builders.base`), and picks the attention operator by target.
_GENAI_BUILDER = """
import os, runpy, sys
form = sys.argv.pop(1)
import onnxruntime_genai.models as models
sys.path.insert(0, os.path.dirname(models.__file__))
from builders.base import Model
if form == "genai-mha":
    Model.is_gqa_supported = lambda self: False
    Model.is_packed_attn_supported = lambda self: False
# RotaryEmbedding apart and position_ids kept, with q, k and v from their own products (the
# builder gives a packed product's rotary embedding no key input)
Model.is_fused_rope_supported = lambda self: False
Model.is_packed_matmul_supported = lambda self: False
runpy.run_module("onnxruntime_genai.models.builder", run_name="__main__")
"""


@contextmanager
def _traceable_position_ids(torch: Any) -> Iterator[None]:
    """Two ONNX translations the vision embeddings' position ids need while exporting.

    The TorchScript exporter has no `aten::bucketize`, and translates `torch.full` with an
    integer fill and no dtype to a float tensor (eager PyTorch makes it int64), which breaks the
    position-embedding lookup. Both are registered for the export and removed after it.
    """
    from torch.onnx import register_custom_op_symbolic, unregister_custom_op_symbolic
    from torch.onnx._internal.torchscript_exporter import symbolic_helper, symbolic_opset9

    def bucketize(g: Any, x: Any, boundaries: Any, out_int32: Any, right: Any) -> Any:
        # right=True (what the embeddings ask): how many boundaries are <= x
        below = g.op(
            "Not",
            g.op("Less", g.op("Unsqueeze", x, g.op("Constant", value_t=torch.tensor([-1]))), boundaries),
        )
        counted = g.op(
            "ReduceSum",
            g.op("Cast", below, to_i=7),
            g.op("Constant", value_t=torch.tensor([-1])),
            keepdims_i=0,
        )
        counted.setType(x.type().with_dtype(torch.int64))
        return counted

    def full(
        g: Any, sizes: Any, value: Any, dtype: Any, layout: Any, device: Any, pin_memory: Any = False
    ) -> Any:
        fill = symbolic_helper._maybe_get_const(value, "t")
        if (
            symbolic_helper._is_none(dtype)
            and isinstance(fill, torch.Tensor)
            and not fill.is_floating_point()
        ):
            return g.op("ConstantOfShape", sizes, value_t=fill.view(1).to(torch.int64))
        return symbolic_opset9.full(g, sizes, value, dtype, layout, device, pin_memory)

    register_custom_op_symbolic("aten::bucketize", bucketize, OPSET)
    register_custom_op_symbolic("aten::full", full, OPSET)
    try:
        yield
    finally:
        unregister_custom_op_symbolic("aten::bucketize", OPSET)
        unregister_custom_op_symbolic("aten::full", OPSET)


def _export_fp32(folder: Path, work: Path) -> dict[str, Path]:
    """The three graphs at full precision, with the published input and output names."""
    import torch
    from transformers import AutoModelForImageTextToText

    from app.inference.openvino.convert import traceable_modules

    model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    _, Embed, Decoder = traceable_modules(torch)
    text = model.config.text_config
    tile = int(model.config.vision_config.image_size)

    class PublishedVision(torch.nn.Module):  # type: ignore[misc,name-defined]
        """The model's own image-feature path: (batch, images, 3, h, w) pixels and mask → features.

        What `get_image_features` computes, step for step, with two spellings an export can
        trace: the patch mask by a reshape rather than `unfold` (the tile is a whole number of
        patches), and the features as one tensor rather than a list split per batch row.
        Padding images (all zeros) are dropped, as the model drops them, so the output has one
        row per real image; the vision transformer, its position ids from the patch mask and
        the connector are the model's own modules.
        """

        def __init__(self) -> None:
            super().__init__()
            self.model = model.model
            self.patch = int(model.config.vision_config.patch_size)

        def forward(self, pixel_values: Any, pixel_attention_mask: Any) -> Any:
            pixels = pixel_values.reshape(-1, *pixel_values.shape[2:])
            mask = pixel_attention_mask.reshape(-1, *pixel_attention_mask.shape[2:])
            values = pixels.shape[1] * pixels.shape[2] * pixels.shape[3]
            real = (pixels == 0.0).sum(dim=(-1, -2, -3)) != values
            first = torch.arange(real.shape[0]) == 0
            real = real | (first & ~real.any())  # no real image: keep one, as the model does
            pixels, mask = pixels[real], mask[real]
            side = tile // self.patch
            patches = mask.reshape(-1, side, self.patch, side, self.patch).sum(dim=(2, 4))
            hidden = self.model.vision_model(
                pixel_values=pixels, patch_attention_mask=patches > 0
            ).last_hidden_state
            return self.model.connector(hidden)

    class PublishedDecoder(torch.nn.Module):  # type: ignore[misc,name-defined]
        """The decoder with explicit cache tensors in and out, logits for every position."""

        def __init__(self) -> None:
            super().__init__()
            self.decoder = Decoder(model, last_only=False)

        def forward(self, inputs_embeds: Any, attention_mask: Any, position_ids: Any, *past: Any) -> Any:
            return self.decoder(inputs_embeds, attention_mask, position_ids, None, *past)

    decoder = PublishedDecoder()
    head_dim = decoder.decoder.head_dim
    names = {part: work / f"{stem}.onnx" for part, stem in PARTS.items()}
    # The TorchScript exporter (deprecated, and warning so) traces these small modules as the
    # published files were made; tracing warns about shapes it takes as constants (tile sizes).
    with torch.no_grad(), warnings.catch_warnings(), _traceable_position_ids(torch):
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # The padding-image selection is a boolean index: its indices are never negative.
        warnings.filterwarnings("ignore", "Exporting aten::index operator", UserWarning)
        torch.onnx.export(
            PublishedVision(),
            (torch.ones(1, 2, 3, tile, tile), torch.ones(1, 2, tile, tile, dtype=torch.bool)),
            names["vision"],
            input_names=["pixel_values", "pixel_attention_mask"],
            output_names=["image_features"],
            dynamic_axes={
                "pixel_values": {0: "batch_size", 1: "num_images"},
                "pixel_attention_mask": {0: "batch_size", 1: "num_images"},
                "image_features": {0: "num_images_total"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
        torch.onnx.export(
            Embed(model),
            (torch.zeros(1, 4, dtype=torch.long),),
            names["embed"],
            input_names=["input_ids"],
            output_names=["inputs_embeds"],
            dynamic_axes={
                "input_ids": {0: "batch_size", 1: "sequence_length"},
                "inputs_embeds": {0: "batch_size", 1: "sequence_length"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
        layers = text.num_hidden_layers
        past_names = [f"past_key_values.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]
        present_names = [f"present.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]
        past = [torch.zeros(1, text.num_key_value_heads, 3, head_dim) for _ in past_names]
        dynamic: dict[str, dict[int, str]] = {
            "inputs_embeds": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"},
        }
        dynamic.update({n: {0: "batch_size", 2: "past_sequence_length"} for n in past_names})
        dynamic.update({n: {0: "batch_size", 2: "total_sequence_length"} for n in present_names})
        torch.onnx.export(
            decoder,
            (
                torch.zeros(1, 2, text.hidden_size),
                torch.ones(1, 5, dtype=torch.long),
                torch.tensor([[3, 4]]),
                *past,
            ),
            names["decoder"],
            input_names=["inputs_embeds", "attention_mask", "position_ids", *past_names],
            output_names=["logits", *present_names],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    return names


def _quantize(source: Path, target: Path, variant: Variant) -> None:
    """8-bit weights as transformers.js's quantize script makes them (see the module docs)."""
    import onnx
    from onnxruntime.quantization import QuantizationMode, QuantType
    from onnxruntime.quantization.onnx_quantizer import ONNXQuantizer
    from onnxruntime.quantization.registry import IntegerOpsRegistry

    model = onnx.load_model(source)
    if variant == "fp16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        onnx.save_model(convert_float_to_float16(model, keep_io_types=True), target)
        return
    # transformers.js's script quantizes `q8` unsigned for graphs with a convolution or one of
    # ONNX Runtime's attention operators (those onnxruntime-genai's builder makes).
    unsigned_ops = {"Conv", "GroupQueryAttention", "MultiHeadAttention"}
    unsigned = variant == "uint8" or (
        variant == "q8" and any(node.op_type in unsigned_ops for node in model.graph.node)
    )
    quantizer = ONNXQuantizer(
        model,
        False,  # per_channel: the script's default
        False,  # reduce_range
        mode=QuantizationMode.IntegerOps,
        static=False,
        weight_qType=QuantType.QUInt8 if unsigned else QuantType.QInt8,
        activation_qType=QuantType.QUInt8,
        tensors_range=None,
        nodes_to_quantize=[],
        nodes_to_exclude=[],
        op_types_to_quantize=set(IntegerOpsRegistry.keys()),
        extra_options={"EnableSubgraph": True, "MatMulConstBOnly": True},
    )
    quantizer.quantize_model()
    onnx.save_model(quantizer.model.model, target)


def _genai_decoder(folder: Path, work: Path, form: DecoderForm, precision: str) -> Path:
    """The decoder built by onnxruntime-genai's model builder from the model's text weights.

    The builder reads a text model: the language model's weights are saved as a Llama model
    (SmolVLM2's is one) beside the tokenizer, then built with `exclude_embeds` at `precision`
    (fp32, or fp16 with a float16 cache) and saved as one self-contained file.
    """
    import onnx
    import torch
    from transformers import AutoModelForImageTextToText, LlamaConfig, LlamaForCausalLM

    model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.float32)
    settings = {k: v for k, v in model.config.text_config.to_dict().items() if k != "model_type"}
    config = LlamaConfig(**{**settings, "architectures": ["LlamaForCausalLM"], "tie_word_embeddings": False})
    text = LlamaForCausalLM(config)
    text.model.load_state_dict(model.model.text_model.state_dict())
    text.lm_head.weight.data = model.lm_head.weight.data.clone()
    source = work / "text-model"
    text.save_pretrained(source)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        if (folder / name).exists():
            shutil.copyfile(folder / name, source / name)
    built = work / f"genai-{precision}"
    args = ["-i", source, "-o", built, "-p", precision, "-e", "cpu", "-c", work / "genai-cache"]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _GENAI_BUILDER,
            form,
            *map(str, args),
            "--extra_options",
            "exclude_embeds=true",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"onnxruntime-genai's builder failed: {done.stderr[-2000:]}")
    decoder = onnx.load_model(built / "model.onnx")  # its weights are beside it: load them in
    target = work / f"decoder-{precision}.onnx"
    onnx.save_model(decoder, target)
    return target


def write_onnx_layout(
    folder: Path, variants: tuple[Variant, ...] = ("int8",), *, decoder: DecoderForm = "export"
) -> Path:
    """Write `folder/onnx/` for the model in `folder`, in the published layout; return that folder.

    `decoder` says how the decoder graph is made (`DecoderForm`); the 8-bit variants of every
    graph are quantized from its full-precision form, as transformers.js's script does.
    """
    out = folder / ONNX_DIR
    out.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".onnx-export.", dir=folder))
    try:
        plain = _export_fp32(folder, work)
        if decoder != "export":
            plain["decoder"] = _genai_decoder(folder, work, decoder, "fp32")
        # Full precision last, its files moved rather than copied: at the 500M size each copy
        # is 2 GB more on the disk at once.
        for variant in sorted(variants, key=lambda v: v == "fp32"):
            for part, source in plain.items():
                target = out / f"{PARTS[part]}{SUFFIXES[variant]}.onnx"
                if variant == "fp32":
                    shutil.move(source, target)
                elif variant == "fp16" and part == "decoder" and decoder != "export":
                    shutil.copyfile(_genai_decoder(folder, work, decoder, "fp16"), target)
                else:
                    _quantize(source, target, variant)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    marker = folder / "smolsight_random_model.json"
    if marker.exists():
        data = json.loads(marker.read_text())
        data["onnx"] = sorted(set(data.get("onnx", [])) | set(variants))
        marker.write_text(json.dumps(data, indent=2))
    return out
