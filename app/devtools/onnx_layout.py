"""Write a model folder's `onnx/` export in the layout its hub repository publishes.

SmolVLM2's hub repositories carry an `onnx/` folder made with transformers.js's conversion
scripts: `vision_encoder`, `embed_tokens` and `decoder_model_merged`, each in several
precisions told apart by a suffix (see `app.inference.published_onnx`, which cites the
sources). Real weights can't be downloaded here, so tests and benchmarks write the same layout
from a locally built model: the same file names, the same graph inputs and outputs, and the
8-bit variants made the way transformers.js's `scripts/quantize.py` makes them (ONNX
Runtime's dynamic integer quantization, per tensor; `_int8` signed weights, `_uint8` unsigned,
`_quantized` unsigned only for graphs with a convolution).

Needs PyTorch, transformers, onnx and onnxruntime: a developer tool (`smolsight
build-test-model --onnx`), never part of the app's own path.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from app.inference.published_onnx import ONNX_DIR, PARTS, SUFFIXES, Variant

__all__ = ["write_onnx_layout"]


def _export_fp32(folder: Path, work: Path) -> dict[str, Path]:
    """The three graphs at full precision, with the published input and output names."""
    import torch
    from transformers import AutoModelForImageTextToText

    from app.inference.openvino_export import _modules

    model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    Vision, Embed, Decoder = _modules(torch)
    text = model.config.text_config
    tile = int(model.config.vision_config.image_size)

    class PublishedVision(torch.nn.Module):  # type: ignore[misc,name-defined]
        """(batch, images, 3, tile, tile) pixels and a per-pixel mask → image features."""

        def __init__(self) -> None:
            super().__init__()
            self.vision = Vision(model)

        def forward(self, pixel_values: Any, pixel_attention_mask: Any) -> Any:
            flat = pixel_values.reshape(-1, *pixel_values.shape[2:])
            real = pixel_attention_mask.reshape(flat.shape[0], -1).any(dim=1)  # padding images: all False
            return self.vision(flat) * real[:, None, None].to(flat.dtype)

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
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            PublishedVision(),
            (torch.zeros(1, 1, 3, tile, tile), torch.ones(1, 1, tile, tile, dtype=torch.bool)),
            names["vision"],
            input_names=["pixel_values", "pixel_attention_mask"],
            output_names=["image_features"],
            dynamic_axes={
                "pixel_values": {0: "batch_size", 1: "num_images"},
                "pixel_attention_mask": {0: "batch_size", 1: "num_images"},
                "image_features": {0: "num_images_total"},
            },
            opset_version=17,
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
            opset_version=17,
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
            opset_version=17,
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
        raise ValueError("fp16 test files are not built; use fp32, int8, uint8 or q8")
    has_conv = any(node.op_type == "Conv" for node in model.graph.node)
    unsigned = variant == "uint8" or (variant == "q8" and has_conv)
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


def write_onnx_layout(folder: Path, variants: tuple[Variant, ...] = ("int8",)) -> Path:
    """Write `folder/onnx/` for the model in `folder`, in the published layout; return that folder."""
    out = folder / ONNX_DIR
    out.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".onnx-export.", dir=folder))
    try:
        plain = _export_fp32(folder, work)
        for variant in variants:
            for part, source in plain.items():
                target = out / f"{PARTS[part]}{SUFFIXES[variant]}.onnx"
                if variant == "fp32":
                    shutil.copyfile(source, target)
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
