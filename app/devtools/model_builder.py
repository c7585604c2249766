"""Build random-weight SmolVLM2 model folders locally, for tests and benchmarks.

No model hub is needed: the tokenizer is trained offline with the `tokenizers` library and
holds SmolVLM's special tokens and chat template; the processor files are shaped like the
real SmolVLM2-500M-Video-Instruct ones, so our normal loading code (transformers and
mlx-vlm) reads the folder exactly as it reads a downloaded model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

__all__ = [
    "CHAT_TEMPLATE",
    "GEOMETRIES",
    "REAL_500M",
    "TINY",
    "Geometry",
    "ModelSize",
    "build_model",
    "train_bpe",
    "write_config",
]

# The chat template SmolVLM2 ships (the video-aware variant transformers uses as its default).
CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'] is string %}{{': ' + message['content']}}{% else %}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}"
    "{{ '<video>' }}{% endif %}{% endfor %}{% endif %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<fake_token_around_image>",
    "<image>",
    "<global-img>",
    "<end_of_utterance>",
    *[f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)],
]

# A small English corpus for the offline tokenizer: words a narrator uses, so decoded
# random output still looks like words.
_CORPUS = """
A person is sitting at a wooden table with a white mug and a laptop. There is probably a
window on the left. The room is bright. I can't tell what the text says. A red car drives
along a street with trees and houses. Two people are walking a dog in a park. The camera
shows a kitchen with a sink, a kettle and some cups on the counter. A cat sleeps on a sofa.
The scene changed: a door opened and someone came in. On the right there is a bookshelf.
In the centre, a bottle of water stands next to a phone. It is dark; the picture is blurry.
You are provided the following series of frames from a video. Frame from 00:01.
Describe what you see in one short sentence. What colour is the mug? Answer briefly.
The sky is blue, the grass is green, the sign is yellow and the letters are black.
One two three four five six seven eight nine ten eleven twelve sixteen sixty four.
"""


@dataclass(frozen=True)
class ModelSize:
    """Dimensions of a built model."""

    vision_hidden: int
    vision_layers: int
    vision_heads: int
    vision_mlp: int
    text_hidden: int
    text_layers: int
    text_heads: int
    text_kv_heads: int
    text_mlp: int
    vocab_size: int | None  # None: as many as the trained tokenizer has


TINY = ModelSize(32, 2, 2, 64, 64, 2, 4, 2, 128, None)
# SmolVLM2-500M-Video-Instruct: SigLIP-B/16 @ 512 px + SmolLM2-360M (see ARCHITECTURE.md).
REAL_500M = ModelSize(768, 12, 12, 3072, 960, 32, 15, 5, 2560, 49280)
# SmolVLM2-256M-Video-Instruct: the same vision encoder + SmolLM2-135M (576 wide, 30 layers, 9 heads,
# 3 key/value heads). Its tiny stand-in differs from TINY where a config is read: widths, heads.
TINY_256M = ModelSize(32, 2, 2, 64, 48, 3, 3, 1, 96, None)
REAL_256M = ModelSize(768, 12, 12, 3072, 576, 30, 9, 3, 1536, 49280)
# The SmolVLM2 sizes by family name (`app.inference.catalog`): (tiny, real).
SIZES = {"smolvlm2-500m": (TINY, REAL_500M), "smolvlm2-256m": (TINY_256M, REAL_256M)}


@dataclass(frozen=True)
class Geometry:
    """How a model sees pictures: tile size, patch size and the pixel-shuffle scale factor."""

    tile: int  # the vision encoder's image size: one tile's edge in pixels
    patch: int
    scale_factor: int

    def __post_init__(self) -> None:
        """The pixel shuffle needs whole groups of patches on each side."""
        side = self.tile // self.patch
        if side % self.scale_factor:
            raise ValueError(f"{side} patches a side can't be shuffled by {self.scale_factor}")

    @property
    def image_tokens(self) -> int:
        """Image tokens per tile after the pixel shuffle."""
        return (self.tile // self.patch) ** 2 // self.scale_factor**2

    @property
    def longest_edge(self) -> int:
        """The processor's first resize when tiling: four tiles along the longest edge."""
        return 4 * self.tile


# The 500M's (512 px tiles, 16 px patches, scale 4: 64 tokens a tile) and two other layouts the
# engines must read from a model's config: small tiles, and SmolVLM2-2.2B's 384 px / 14 px /
# scale 3 (81 tokens a tile).
GEOMETRIES = {
    "500m": Geometry(512, 16, 4),
    "64px": Geometry(64, 16, 2),
    "2.2b": Geometry(384, 14, 3),
}


# Raised when what the builder writes changes in a way that matters (2: the filler-word vocabulary;
# 3: "\n\n" as one piece), so that a model built earlier into the user cache is built again
# (`smolsight bench`).
BUILDER_VERSION = 3


def built_by_an_older_builder(folder: Path) -> bool:
    """Whether `folder` holds a random model this builder wrote, but an older version of it."""
    try:
        marker = json.loads((folder / "smolsight_random_model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # not one of ours (or not there): never rebuilt over
    return bool(marker.get("built_by") == "smolsight" and marker.get("builder") != BUILDER_VERSION)


def model_tokenizer(vocab_size: int | None) -> PreTrainedTokenizerFast:
    """The offline tokenizer, knowing every id a model with `vocab_size` ids can emit.

    The trained vocabulary is small (1,200 ids); a model with more (the real 500M's 49,280)
    could emit ids it does not know, which decode to nothing: every real-size answer would be
    empty. The ids above the trained ones are filler words (" w1200", " w1201", …) in the BPE
    vocabulary itself (no merge makes them, so text is never encoded into them; added tokens
    would do too, but make loading the tokenizer seconds slower), so a random model's answer
    is text and the whole text path runs at real size.
    """
    return _train_tokenizer(1200, every_id_below=vocab_size)


def train_bpe(
    special_tokens: list[str], corpus: str, vocab_size: int, every_id_below: int | None = None
) -> Tokenizer:
    """A byte-level BPE trained offline on `corpus` (filler words up to `every_id_below`, if more)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([corpus] * 4, trainer=trainer)
    trained = tok.get_vocab_size(with_added_tokens=True)
    if every_id_below is not None and every_id_below > trained:
        data = json.loads(tok.to_str())
        space = "\u0120"  # byte-level BPE spells a space "Ġ"
        fillers = {f"{space}w{i}": i for i in range(trained, every_id_below)}
        if "\u010a\u010a" not in data["model"]["vocab"]:
            # "\n\n" as one piece, as the real SmolLM2 vocabulary has it: llama.cpp's picture
            # layout for SmolVLM looks that piece up and refuses pictures without it.
            del fillers[f"{space}w{trained}"]
            fillers["\u010a\u010a"] = trained
        data["model"]["vocab"].update(fillers)
        tok = Tokenizer.from_str(json.dumps(data))
    return tok


def _train_tokenizer(vocab_size: int, every_id_below: int | None = None) -> PreTrainedTokenizerFast:
    """SmolVLM2's offline tokenizer: its special tokens, chat template and filler words."""
    from transformers import PreTrainedTokenizerFast

    tok = train_bpe(SPECIAL_TOKENS, _CORPUS, vocab_size, every_id_below)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<end_of_utterance>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[3:],
        model_max_length=8192,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _write_real_processor_layout(out_dir: Path, tile: int) -> None:
    """Rewrite the processor files in the layout the real SmolVLM2 repository ships.

    The hub repository keeps the image settings (with `video_sampling`) in
    `preprocessor_config.json`, only `image_seq_len` in `processor_config.json`, and the chat
    template in `chat_template.json`; readers other than the newest transformers (mlx-vlm,
    older transformers) expect that layout.
    """
    combined = json.loads((out_dir / "processor_config.json").read_text())
    image = dict(combined["image_processor"])
    image["processor_class"] = "SmolVLMProcessor"
    image["video_sampling"] = {"fps": 1, "max_frames": 64, "video_size": {"longest_edge": tile}}
    (out_dir / "preprocessor_config.json").write_text(json.dumps(image, indent=2))
    (out_dir / "processor_config.json").write_text(
        json.dumps(
            {"image_seq_len": combined["image_seq_len"], "processor_class": "SmolVLMProcessor"}, indent=2
        )
    )
    (out_dir / "chat_template.json").write_text(json.dumps({"chat_template": CHAT_TEMPLATE}))
    (out_dir / "chat_template.jinja").unlink(missing_ok=True)


def _model_config(
    size: ModelSize,
    vocab_size: int,
    *,
    image_token_id: int,
    eou_id: int,
    pad_id: int,
    bos_id: int,
    geometry: Geometry = GEOMETRIES["500m"],
) -> Any:
    """A SmolVLMConfig with `size`'s dimensions and `geometry`'s way of seeing pictures."""
    from transformers import LlamaConfig, SmolVLMConfig
    from transformers.models.smolvlm.configuration_smolvlm import SmolVLMVisionConfig

    vision = SmolVLMVisionConfig(
        hidden_size=size.vision_hidden,
        intermediate_size=size.vision_mlp,
        num_hidden_layers=size.vision_layers,
        num_attention_heads=size.vision_heads,
        image_size=geometry.tile,
        patch_size=geometry.patch,
    )
    text = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=size.text_hidden,
        intermediate_size=size.text_mlp,
        num_hidden_layers=size.text_layers,
        num_attention_heads=size.text_heads,
        num_key_value_heads=size.text_kv_heads,
        max_position_embeddings=8192,
        rope_theta=100000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        bos_token_id=bos_id,
        eos_token_id=eou_id,
        pad_token_id=pad_id,
    )
    config = SmolVLMConfig(
        vision_config=vision.to_dict(),
        text_config=text.to_dict(),
        scale_factor=geometry.scale_factor,
        image_token_id=image_token_id,
        tie_word_embeddings=False,
        pad_token_id=pad_id,
    )
    return config


def write_config(out_dir: Path, size: ModelSize) -> Path:
    """Write only config.json for `size` (no weights, no tokenizer): for size arithmetic."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = _model_config(size, size.vocab_size or 1200, image_token_id=4, eou_id=6, pad_id=2, bos_id=1)
    config.save_pretrained(out_dir)
    return out_dir


def build_model(
    out_dir: Path,
    *,
    real_size: bool = False,
    seed: int = 0,
    geometry: str = "500m",
    family: str = "smolvlm2-500m",
) -> Path:
    """Write a random SmolVLM2 model folder to `out_dir` and return it.

    `real_size=False` gives a tiny model (a few MB, loads in about a second); `real_size=True`
    the real architecture with random weights, for benchmarks; `family` which SmolVLM2 (`SIZES`:
    the 500M or the 256M). `geometry` names how it
    sees pictures (`GEOMETRIES`): the 500M's by default (512 px tiles, 16 px patches, scale
    factor 4 → 64 image tokens a tile).
    """
    import torch
    from transformers import (
        SmolVLMForConditionalGeneration,
        SmolVLMImageProcessor,
        SmolVLMProcessor,
        SmolVLMVideoProcessor,
    )
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tiny, real = SIZES[family]
    size = real if real_size else tiny
    shape = GEOMETRIES[geometry]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)

    tokenizer = model_tokenizer(size.vocab_size)
    vocab_size = len(tokenizer)
    image_token_id = tokenizer.convert_tokens_to_ids("<image>")  # type: ignore[attr-defined]
    eou_id = tokenizer.convert_tokens_to_ids("<end_of_utterance>")  # type: ignore[attr-defined]
    pad_id = tokenizer.convert_tokens_to_ids("<|im_end|>")  # type: ignore[attr-defined]
    bos_id = tokenizer.convert_tokens_to_ids("<|im_start|>")  # type: ignore[attr-defined]

    config = _model_config(
        size,
        vocab_size,
        image_token_id=image_token_id,
        eou_id=eou_id,
        pad_id=pad_id,
        bos_id=bos_id,
        geometry=shape,
    )
    # Untied output head, as the published checkpoint stores it (mlx-vlm requires
    # `lm_head.weight`; with it the parameter count matches the real ~507 M).
    model = SmolVLMForConditionalGeneration(config)
    model.generation_config.eos_token_id = eou_id
    model.generation_config.pad_token_id = pad_id
    model.generation_config.bos_token_id = bos_id
    model.save_pretrained(out_dir)

    image_processor = SmolVLMImageProcessor(
        do_convert_rgb=True,
        do_image_splitting=True,
        do_normalize=True,
        do_pad=True,
        do_rescale=True,
        do_resize=True,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        max_image_size={"longest_edge": shape.tile},
        resample=1,
        rescale_factor=1 / 255,
        size={"longest_edge": shape.longest_edge},
    )
    video_processor = SmolVLMVideoProcessor(
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        resample=1,
        rescale_factor=1 / 255,
        size={"longest_edge": shape.tile},
        video_sampling={"fps": 1, "max_frames": 64, "video_size": {"longest_edge": shape.tile}},
    )
    processor = SmolVLMProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        image_seq_len=shape.image_tokens,
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(out_dir)
    _write_real_processor_layout(out_dir, shape.tile)
    marker = {
        "built_by": "smolsight",
        "builder": BUILDER_VERSION,
        "real_size": real_size,
        "seed": seed,
        "geometry": geometry,
        "family": family,
    }
    (out_dir / "smolsight_random_model.json").write_text(json.dumps(marker, indent=2))
    return out_dir
