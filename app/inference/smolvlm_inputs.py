"""SmolVLM2's inputs without PyTorch: pixel values and token ids, as its processor makes them.

The model folder's processor files specify everything: `preprocessor_config.json` (resize to
a longest edge, then one tile, or tiles plus a global view when splitting; LANCZOS; rescale;
normalize), the image sequence length, and `tokenizer.json`. This module follows
transformers' PIL image processor step for step (it matches it to float rounding; tested), and
expands each `<image>` placeholder the way the SmolVLM processor does. The OpenVINO backend
uses it so its CPU path never imports torch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.capture.frames import Frame
from app.inference.backend import BackendError
from app.inference.chat_format import IMAGE_TOKEN, render_prompt
from app.inference.images import ImageSettings, prepare_image
from app.inference.model_config import read_config
from app.inference.types import GenerationRequest

FAKE_TOKEN = "<fake_token_around_image>"
GLOBAL_TOKEN = "<global-img>"
MAX_IMAGE_SIZE = 4096  # the processor's absolute limit on a resized image's longest edge


def _fit_longest_edge(height: int, width: int, longest: int) -> tuple[int, int]:
    """The processor's first resize: longest edge to `longest`, the other edge even."""
    aspect = width / height
    if width >= height:
        width = longest
        height = int(width / aspect)
        height += height % 2
    else:
        height = longest
        width = int(height * aspect)
        width += width % 2
    height, width = max(height, 1), max(width, 1)
    # ... and never beyond the processor's absolute limit
    aspect = width / height
    if width >= height and width > MAX_IMAGE_SIZE:
        width, height = MAX_IMAGE_SIZE, int(MAX_IMAGE_SIZE / aspect)
    elif height > width and height > MAX_IMAGE_SIZE:
        height, width = MAX_IMAGE_SIZE, int(MAX_IMAGE_SIZE * aspect)
    return max(height, 1), max(width, 1)


def _multiple_of_tile(height: int, width: int, tile: int) -> tuple[int, int]:
    """The processor's resize before splitting: both edges up to whole tiles, keeping the aspect."""
    aspect = width / height
    if width >= height:
        width = math.ceil(width / tile) * tile
        height = math.ceil(int(width / aspect) / tile) * tile
    else:
        height = math.ceil(height / tile) * tile
        width = math.ceil(int(height * aspect) / tile) * tile
    return height, width


@dataclass(frozen=True)
class ImageTiles:
    """One picture as the vision encoder sees it."""

    pixels: np.ndarray  # (tiles, 3, tile, tile) float32
    rows: int  # 0 when not split
    cols: int


def image_tiles(frame: Frame, settings: ImageSettings, *, split: bool) -> ImageTiles:
    """Resize, tile, rescale and normalize one frame exactly as SmolVLM2's PIL processor does."""
    from PIL import Image

    image = prepare_image(frame, settings.limit(split=split))
    h, w = _fit_longest_edge(image.height, image.width, settings.longest_edge)
    image = image.resize((w, h), resample=settings.resample)  # type: ignore[arg-type]
    tile = settings.tile
    tiles: list[Image.Image] = []
    rows = cols = 0
    if split:
        h, w = _multiple_of_tile(image.height, image.width, tile)
        image = image.resize((w, h), resample=settings.resample)  # type: ignore[arg-type]
        if h > tile or w > tile:
            rows, cols = (h - tile) // tile + 1, (w - tile) // tile + 1
            for r in range(rows):
                for c in range(cols):
                    tiles.append(image.crop((c * tile, r * tile, (c + 1) * tile, (r + 1) * tile)))
            tiles.append(image.resize((tile, tile), resample=settings.resample))  # type: ignore[arg-type]
        else:
            tiles.append(image)
    else:
        tiles.append(image.resize((tile, tile), resample=settings.resample))  # type: ignore[arg-type]
    array = np.stack([np.asarray(t, dtype=np.float32).transpose(2, 0, 1) for t in tiles])
    mean = np.asarray(settings.mean, np.float32)[:, None, None]
    std = np.asarray(settings.std, np.float32)[:, None, None]
    return ImageTiles((array * np.float32(settings.rescale) - mean) / std, rows, cols)


def image_prompt(rows: int, cols: int, seq_len: int) -> str:
    """The placeholder text one picture expands to (the SmolVLM processor's wording)."""
    image = IMAGE_TOKEN * seq_len
    if rows == 0 and cols == 0:
        return f"{FAKE_TOKEN}{GLOBAL_TOKEN}{image}{FAKE_TOKEN}"
    text = ""
    for r in range(rows):
        for c in range(cols):
            text += f"{FAKE_TOKEN}<row_{r + 1}_col_{c + 1}>{image}"
        text += "\n"
    return text + f"\n{FAKE_TOKEN}{GLOBAL_TOKEN}{image}{FAKE_TOKEN}"


@dataclass(frozen=True)
class EncodedRequest:
    """Token ids and pixel values for one request."""

    input_ids: np.ndarray  # (1, tokens) int64
    pixel_values: np.ndarray | None  # (tiles, 3, tile, tile) float32, in the order of their placeholders


class SmolVLMInputs:
    """Turns requests into model inputs from a model folder's own processor files."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        config = read_config(folder)
        self.image = ImageSettings.from_folder(folder)
        self.seq_len = _image_seq_len(folder, config)
        try:
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:
            raise BackendError(f"{folder} has no usable tokenizer.json ({exc}).") from exc
        declared = config.get("image_token_id")
        self.image_token_id = declared if isinstance(declared, int) else self.token_id(IMAGE_TOKEN)

    def token_id(self, token: str) -> int:
        """The id of a special token; BackendError when the tokenizer lacks it."""
        found = self.tokenizer.token_to_id(token)
        if found is None:
            raise BackendError(f"The model's tokenizer has no {token} token.")
        return int(found)

    def encode(self, request: GenerationRequest, *, pixels: bool = True) -> EncodedRequest:
        """The request's token ids (images expanded) and, with `pixels`, its pixel values."""
        prompt = render_prompt(request)
        pieces = prompt.split(IMAGE_TOKEN)
        if len(pieces) - 1 != len(request.frames):
            raise BackendError("The prompt's image placeholders do not match the frames.")
        split = request.split_images and not request.is_video
        text = pieces[0]
        arrays: list[np.ndarray] = []
        for frame, after in zip(request.frames, pieces[1:], strict=True):
            if pixels or split:
                tiles = image_tiles(frame, self.image, split=split)
                rows, cols = tiles.rows, tiles.cols
                if pixels:
                    arrays.append(tiles.pixels)
            else:
                rows = cols = 0
            text += image_prompt(rows, cols, self.seq_len) + after
        ids = np.asarray([self.tokenizer.encode(text, add_special_tokens=True).ids], dtype=np.int64)
        values = np.concatenate(arrays) if arrays else None
        return EncodedRequest(ids, values)

    def decode(self, ids: list[int]) -> str:
        """Text for generated ids, special tokens left out."""
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))


def _image_seq_len(folder: Path, config: dict[str, object]) -> int:
    """Image tokens per tile: the processor's `image_seq_len`, or what the model's geometry gives."""
    processor = folder / "processor_config.json"
    if processor.exists():
        value = json.loads(processor.read_text()).get("image_seq_len")
        if value:
            return int(value)
    vision: dict[str, int] = config.get("vision_config", {})  # type: ignore[assignment]
    patches = (vision.get("image_size", 512) // vision.get("patch_size", 16)) ** 2
    return int(patches // int(config.get("scale_factor", 4)) ** 2)  # type: ignore[call-overload]


def reference_request() -> GenerationRequest:
    """A fixed request the exporter runs through transformers' processor, and the runtime checks."""
    y, x = np.mgrid[0:300, 0:400]
    image = np.stack([(x * 255) // 399, (y * 255) // 299, ((x + y) * 255) // 698], axis=2).astype(np.uint8)
    return GenerationRequest("Describe this picture in one short sentence.", frames=(Frame(image),))
