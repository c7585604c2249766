"""Build random-weight Qwen3.5 model folders locally: the PyTorch weights and OpenVINO's export.

One folder holds both, as a test needs them: the PyTorch weights and processor files in the
layout of `Qwen/Qwen3.5-0.8B` (transformers and mlx-vlm read them) and, beside them, the
OpenVINO export in the layout of `OpenVINO/Qwen3.5-0.8B-int4-ov` (`openvino_*.xml`, the
tokenizer as OpenVINO models), written by optimum-intel's own exporter: the tool that made the
published files. Its exporter handles Qwen3.5 only under transformers 5.2, older than ours, so
it runs in an environment of its own (`export_env`). The tokenizer is trained offline with
Qwen's special tokens; at real size its vocabulary is filled to Qwen's 248,320 ids.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

ExportWeights = Literal["fp32", "int8", "int4"]

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<think>",
    "</think>",
]

# The prompt format we write (`app.inference.chat_format.render_qwen_prompt`), as a template, so
# that transformers' `apply_chat_template` writes the same text.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n\n</think>\n\n{% endif %}"
)

# The versions optimum-intel's Qwen3.5 exporter runs under (its model config says 5.2.x).
EXPORT_REQUIREMENTS = (
    "transformers==5.2.0",
    "optimum-intel==2.2.0",
    "optimum==2.3.0",
    "nncf==3.4.0",
    "datasets<5",
    "huggingface-hub<1.22",
)
EXPORT_PYTHON_ENV = "SMOLSIGHT_EXPORT_PYTHON"  # a Python that already has them


@dataclass(frozen=True)
class QwenSize:
    """Dimensions of a built Qwen3.5."""

    text_hidden: int
    text_layers: int
    text_heads: int
    text_kv_heads: int
    head_dim: int
    text_mlp: int
    linear_heads: int  # key heads of the linear-attention (Gated DeltaNet) layers
    linear_value_heads: int
    linear_head_dim: int
    vision_hidden: int
    vision_layers: int
    vision_heads: int
    vision_mlp: int
    vocab_size: int | None  # None: as many as the trained tokenizer has
    tied: bool


TINY_QWEN = QwenSize(64, 4, 4, 2, 16, 128, 2, 4, 16, 32, 2, 2, 64, None, False)
# Qwen3.5-0.8B as its published config describes it (0.85 B weights with the vision encoder).
REAL_QWEN = QwenSize(1024, 24, 8, 2, 256, 3584, 16, 16, 128, 768, 12, 12, 3072, 248320, True)

_CORPUS = (
    "A person is sitting at a wooden table with a white mug and a laptop. The room is bright. "
    "A red car drives along a street with trees. The sign says OPEN. Describe what you see.\n"
)


def qwen_tokenizer(vocab_size: int | None) -> PreTrainedTokenizerFast:
    """An offline byte-level BPE with Qwen's special tokens (filler words up to `vocab_size`)."""
    from transformers import PreTrainedTokenizerFast

    from app.devtools.model_builder import train_bpe

    tok = train_bpe(SPECIAL_TOKENS, _CORPUS, 600, vocab_size)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=262144,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_qwen_pytorch(out_dir: Path, *, real_size: bool = False, seed: int = 0) -> Path:
    """Write a random Qwen3.5 in the layout of `Qwen/Qwen3.5-0.8B` (PyTorch weights) to `out_dir`."""
    import torch
    from transformers import Qwen2VLImageProcessor, Qwen3_5Config, Qwen3_5ForConditionalGeneration
    from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    size = REAL_QWEN if real_size else TINY_QWEN
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = qwen_tokenizer(size.vocab_size)
    ids = {t: int(tokenizer.convert_tokens_to_ids(t)) for t in SPECIAL_TOKENS}
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": size.text_hidden,
        "intermediate_size": size.text_mlp,
        "num_hidden_layers": size.text_layers,
        "num_attention_heads": size.text_heads,
        "num_key_value_heads": size.text_kv_heads,
        "head_dim": size.head_dim,
        "linear_key_head_dim": size.linear_head_dim,
        "linear_value_head_dim": size.linear_head_dim,
        "linear_num_key_heads": size.linear_heads,
        "linear_num_value_heads": size.linear_value_heads,
        "max_position_embeddings": 262144,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000000.0,
            "mrope_section": [11, 11, 10] if real_size else [2, 1, 1],
            "mrope_interleaved": True,
            "partial_rotary_factor": 0.25 if real_size else 0.5,
        },
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
        "tie_word_embeddings": size.tied,
    }
    vision = {
        "depth": size.vision_layers,
        "hidden_size": size.vision_hidden,
        "intermediate_size": size.vision_mlp,
        "num_heads": size.vision_heads,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": size.text_hidden,
        "num_position_embeddings": 2304 if real_size else 64,
    }
    config = Qwen3_5Config(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=size.tied,
    )
    model = Qwen3_5ForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(out_dir)
    image = {"patch_size": 16, "temporal_patch_size": 2, "merge_size": 2}
    normalise = {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(
            **image, **normalise, size={"shortest_edge": 65536, "longest_edge": 16777216}
        ),
        tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(**image, **normalise),
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(out_dir)
    # The hub repositories keep the image settings in preprocessor_config.json too.
    combined = json.loads((out_dir / "processor_config.json").read_text())
    settings = {**combined["image_processor"], "processor_class": "Qwen3VLProcessor"}
    (out_dir / "preprocessor_config.json").write_text(json.dumps(settings, indent=2))
    marker = {"built_by": "smolsight", "family": "qwen3.5-0.8b", "real_size": real_size, "seed": seed}
    (out_dir / "smolsight_random_model.json").write_text(json.dumps(marker, indent=2))
    return out_dir


def export_python() -> Path:
    """A Python that runs optimum-intel's Qwen3.5 exporter: $SMOLSIGHT_EXPORT_PYTHON, or one made once.

    The environment made here lives beside this Python's own (made once per environment); it
    installs only the exporter's pinned versions and finds everything else (PyTorch, OpenVINO)
    in this Python's packages.
    """
    given = os.environ.get(EXPORT_PYTHON_ENV)
    if given:
        return Path(given)
    home = Path(sys.prefix) / "smolsight-qwen-export"
    python = home / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    ready = home / "smolsight-ready"
    if ready.exists():
        return python
    shutil.rmtree(home, ignore_errors=True)
    venv.create(home, with_pip=True)
    import sysconfig

    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # After the environment's own packages: this Python's (PyTorch, OpenVINO, …) for the rest.
    (site / "zz_smolsight_parent.pth").write_text("\n".join(sorted(paths)) + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *EXPORT_REQUIREMENTS],
        check=True,
        capture_output=True,
        timeout=1800,
    )
    ready.write_text("\n".join(EXPORT_REQUIREMENTS) + "\n")
    return python


def export_openvino(folder: Path, weights: ExportWeights = "fp32") -> Path:
    """Add OpenVINO's export of the Qwen3.5 in `folder` to it (optimum-intel's exporter); `folder`."""
    python = export_python()
    with tempfile.TemporaryDirectory(prefix="qwen-export-") as tmp:
        out = Path(tmp) / "ov"
        command = [
            str(python),
            "-m",
            "optimum.commands.optimum_cli",
            "export",
            "openvino",
            "--model",
            str(folder),
            "--task",
            "image-text-to-text",
            "--weight-format",
            weights,
            str(out),
        ]
        if weights == "int4":
            command[-1:-1] = ["--group-size", "64", "--ratio", "1.0"]
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
        if done.returncode != 0 or not (out / "openvino_language_model.xml").is_file():
            tail = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            raise RuntimeError(f"optimum-intel could not export {folder}: {tail}")
        for path in out.iterdir():
            if path.name.startswith("openvino_") or not (folder / path.name).exists():
                shutil.move(str(path), folder / path.name)
    return folder


def build_qwen(
    out_dir: Path, *, real_size: bool = False, seed: int = 0, weights: ExportWeights | None = None
) -> Path:
    """A random Qwen3.5 folder with both layouts; OpenVINO weights fp32 (tiny) or int4 (real size)."""
    folder = build_qwen_pytorch(out_dir, real_size=real_size, seed=seed)
    return export_openvino(folder, weights or ("int4" if real_size else "fp32"))
