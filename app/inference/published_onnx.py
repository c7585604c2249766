"""The ONNX export SmolVLM2's hub repositories publish, and what the CPU engine takes from it.

Each SmolVLM2 repository (HuggingFaceTB/SmolVLM2-500M-Video-Instruct and its siblings) has an
`onnx/` folder, made with transformers.js's conversion scripts, that transformers.js loads:

- `vision_encoder{suffix}.onnx`: `pixel_values` (batch, images, 3, tile, tile) float32 and
  `pixel_attention_mask` (batch, images, tile, tile) bool → `image_features`
  (images, tokens, hidden), the pixel-shuffle connector included;
- `embed_tokens{suffix}.onnx`: `input_ids` → `inputs_embeds`;
- `decoder_model_merged{suffix}.onnx`: `inputs_embeds`, `attention_mask`, `position_ids` and
  `past_key_values.{layer}.key/value` → `logits` (every position) and `present.{layer}.key/value`.

The suffix names the precision the way transformers.js's `DEFAULT_DTYPE_SUFFIX_MAPPING` does
(`SUFFIXES`). docs/cpu-engine.md gives the sources (the repository's file list, its model
card's ONNX example, transformers.js's SmolVLM loading code and quantize script).

The CPU engine downloads one precision of the three files plus the small processor files
(`download_patterns`): 8-bit by default, about a quarter of the full-precision size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Variant = Literal["fp32", "fp16", "int8", "uint8", "q8"]

ONNX_DIR = "onnx"
PARTS = {"vision": "vision_encoder", "embed": "embed_tokens", "decoder": "decoder_model_merged"}
SUFFIXES: dict[Variant, str] = {
    "fp32": "",
    "fp16": "_fp16",
    "int8": "_int8",
    "uint8": "_uint8",
    "q8": "_quantized",
}
# The processor, tokenizer and model configuration files: small, and needed by every engine.
METADATA_PATTERNS = (
    "config.json",
    "generation_config.json",
    "preprocessor_config.json",
    "processor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.json",
    "chat_template.jinja",
    "vocab.json",
    "merges.txt",
)


def file_names(variant: Variant) -> dict[str, str]:
    """The three graphs' paths inside a repository, for one precision."""
    return {part: f"{ONNX_DIR}/{stem}{SUFFIXES[variant]}.onnx" for part, stem in PARTS.items()}


def download_patterns(variant: Variant) -> list[str]:
    """What the CPU engine downloads: the small metadata files and one precision's graphs.

    A graph over 2 GB keeps its weights beside it (`.onnx_data`); the pattern takes those too.
    """
    graphs = list(file_names(variant).values())
    return [*METADATA_PATTERNS, *graphs, *(f"{g}_data*" for g in graphs)]


def find_onnx(folder: Path, variant: Variant) -> dict[str, Path] | None:
    """The three graphs of `variant` in a model folder, or None when any is missing."""
    paths = {part: folder / name for part, name in file_names(variant).items()}
    return paths if all(p.is_file() for p in paths.values()) else None


def available_variants(folder: Path) -> list[Variant]:
    """Which precisions a model folder holds complete."""
    return [v for v in SUFFIXES if find_onnx(folder, v) is not None]


# How a decoder graph was made, told from its operators (what `check-model` says about it):
# exported from PyTorch (plain ONNX: SmolSight's own exporter, optimum's), or built by
# onnxruntime-genai's model builder (ONNX Runtime's attention operators, as the hub's most likely
# were, docs/cpu-engine.md), with `MultiHeadAttention` or `GroupQueryAttention`.
DecoderForm = Literal["export", "genai-mha", "genai-gqa", "unknown"]
FORM_NAMES: dict[DecoderForm, str] = {
    "export": "exported from PyTorch (plain ONNX operators)",
    "genai-mha": "built by onnxruntime-genai's model builder, with MultiHeadAttention",
    "genai-gqa": "built by onnxruntime-genai's model builder, with GroupQueryAttention",
    "unknown": "not a form SmolSight knows",
}
FOUR_BIT = "com.microsoft.MatMulNBits"  # q4, q4f16, bnb4: 4-bit weights, which the CPU engine does not take


def decoder_form(operators: dict[str, int] | object) -> DecoderForm:
    """How the decoder whose operator counts (`domain.Type` → count) these are was made."""
    ops = set(operators) if isinstance(operators, dict) else set()
    if "com.microsoft.MultiHeadAttention" in ops:
        return "genai-mha"
    if "com.microsoft.GroupQueryAttention" in ops:
        return "genai-gqa"
    if any(op.startswith("com.microsoft.") and "Attention" in op for op in ops):
        return "unknown"  # another fused attention (ONNX Runtime's own optimizer's, say)
    if {"Softmax", "MatMul"} <= ops or {"Softmax", "MatMulInteger"} <= ops:
        return "export"
    return "unknown"


def engine_takes(form: DecoderForm, operators: dict[str, int]) -> tuple[bool, str]:
    """Whether the CPU engine prepares a decoder of this form and these operators, and why not."""
    if FOUR_BIT in operators:
        return (
            False,
            "4-bit weights (MatMulNBits), which the CPU engine does not take (it takes int8, q8, uint8, "
            "fp32 and fp16)",
        )
    if form == "unknown":
        return (
            False,
            "a form the CPU engine was not built for: preparing it may fail, or be refused by its check",
        )
    return True, "the CPU engine prepares this form"
