"""ONNX Runtime running a model folder's published ONNX files: the CPU engine's independent reference.

ONNX Runtime defines the contrib operators the published decoders hold (`MultiHeadAttention`,
`GroupQueryAttention`, `RotaryEmbedding`, …), so what it computes from the files is what they
mean. Only the preprocessing (token ids and pixel values) is shared with the engine; it is
checked against transformers' processor on its own (`app.inference.openvino.backend`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.inference.published_onnx import Variant, file_names
from app.inference.smolvlm_inputs import SmolVLMInputs
from app.inference.types import GenerationRequest


@dataclass(frozen=True)
class Reference:
    """What ONNX Runtime computes for one request: the first token's logits and the greedy answer."""

    logits: np.ndarray
    text: str


class OnnxRuntimeModel:
    """The three published graphs of one precision in ONNX Runtime sessions (2 threads)."""

    def __init__(self, folder: Path, variant: Variant) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        # The half-precision conversion of an exported decoder leaves shape annotations that ONNX
        # Runtime's buffer reuse takes at their word ("Shape mismatch attempting to re-use buffer").
        options.enable_mem_reuse = False
        paths = {part: folder / name for part, name in file_names(variant).items()}
        self.sessions = {
            part: ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            for part, path in paths.items()
        }
        self.inputs = SmolVLMInputs(folder)
        self._eos = {self.inputs.token_id("<end_of_utterance>")}
        decoder = self.sessions["decoder"]
        self._cache = {
            port.name: _TYPES[port.type]
            for port in decoder.get_inputs()
            if port.name.startswith("past_key_values.")
        }
        text = json.loads((folder / "config.json").read_text())["text_config"]
        self._kv_heads = int(text["num_key_value_heads"])  # the builder leaves the cache's head size free
        self._head_size = int(text.get("head_dim") or text["hidden_size"] // text["num_attention_heads"])

    def _embeddings(self, request: GenerationRequest) -> np.ndarray:
        encoded = self.inputs.encode(request)
        embeds = _run(self.sessions["embed"], {"input_ids": encoded.input_ids})[0].astype(np.float32)
        if encoded.pixel_values is not None:
            pixels = encoded.pixel_values[None]
            mask = np.ones((1, pixels.shape[1], pixels.shape[3], pixels.shape[4]), dtype=bool)
            features = _run(self.sessions["vision"], {"pixel_values": pixels, "pixel_attention_mask": mask})[
                0
            ]
            slots = encoded.input_ids[0] == self.inputs.image_token_id
            embeds[0, slots] = features.reshape(-1, features.shape[-1])
        return embeds

    def answer(self, request: GenerationRequest) -> Reference:
        """The first token's logits and the greedy answer of `request.max_tokens` tokens at most."""
        decoder = self.sessions["decoder"]
        past = {
            name: np.zeros((1, self._kv_heads, 0, self._head_size), dtype=kind)
            for name, kind in self._cache.items()
        }
        embeds = self._embeddings(request)
        total, first, ids = 0, None, []
        for _ in range(request.max_tokens):
            length = embeds.shape[1]
            feeds = {
                "inputs_embeds": embeds,
                "attention_mask": np.ones((1, total + length), dtype=np.int64),
                "position_ids": np.arange(total, total + length, dtype=np.int64)[None],
                **past,
            }
            outputs = _run(decoder, feeds)
            names = [port.name for port in decoder.get_outputs()]
            logits = np.asarray(outputs[names.index("logits")][0, -1], dtype=np.float32)
            first = logits if first is None else first
            past = {
                name: outputs[names.index(name.replace("past_key_values.", "present."))]
                for name in self._cache
            }
            total += length
            token = int(np.argmax(logits))
            if token in self._eos:
                break
            ids.append(token)
            embeds = _run(self.sessions["embed"], {"input_ids": np.array([[token]], dtype=np.int64)})[0]
        assert first is not None
        # The engines join text as it streams and leave out bytes that never complete a
        # character (a random model's tokens often are such bytes); the decoder marks them U+FFFD.
        return Reference(first, self.inputs.decode(ids).replace("\ufffd", ""))


_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
}


def _run(session: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Run with each input in the type the graph declares (the fp16 files take float16)."""
    declared = {port.name: _TYPES[port.type] for port in session.get_inputs()}  # type: ignore[attr-defined]
    typed = {name: np.asarray(value).astype(declared[name]) for name, value in feeds.items()}
    return [np.asarray(out) for out in session.run(None, typed)]  # type: ignore[attr-defined]
