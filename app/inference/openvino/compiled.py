"""The compiled cache, checked on every load: the tenth start answers as the first one did.

OpenVINO keeps each compiled model in a cache folder (`CACHE_DIR`) and loads it from there on
the next start, seconds faster than compiling. A compiled form that loads back wrong is worse
than no cache: OpenVINO 2026.3.1 and 2026.4.1's CPU plugin computed the RoPE kernel it fuses
from ONNX Runtime's `RotaryEmbedding` exactly when freshly compiled and wrongly (NaN, or
numbers off anywhere) after a reload, so the engine answered nonsense from its second start
(docs/cpu-engine.md, "The compiled cache"). So the cache is never trusted unchecked:

1. The first compile of a prepared model in a given configuration runs in a folder of its own,
   so it is certainly fresh; a probe (`PROBE_IDS`: eight tokens through the embedding table and
   the decoder, the next token's logits) is recorded beside the model, and only then do the
   compiled files join the shared cache.
2. Every later load runs the probe on what the cache gave and compares (one pass over the
   weights: 0.04 s for the 500M on 2 cores, docs/performance.md).
3. On disagreement the fault is logged once, the configuration is marked to compile without the
   cache from then on, the faulty files are removed, and the model is compiled fresh; a fresh
   compile that still disagrees with the record is refused rather than answered from.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.inference.agreement import difference

if TYPE_CHECKING:
    from openvino import CompiledModel

log = logging.getLogger(__name__)

CACHE = "compiled"  # the shared cache folder inside a prepared model's folder
PROBE_IDS = (1, 2, 3, 4, 5, 6, 7, 8)  # a short prompt; its next token's logits are compared
# A load from the cache repeats the first compile's arithmetic: the same graph, kernels and
# threads. Anything beyond rounding noise is a fault (a faulty reload was seen off by 4e-5 of
# the logits' size on its good days, by NaN on the others).
SAME = 1e-6
# A fresh compile checked against the record: only a different order of sums may differ.
FRESH = 1e-3


class CompiledCacheFault(RuntimeError):
    """A fresh compile disagrees with the first compile's probe: the model is not answered from."""


@dataclass(frozen=True)
class Compiled:
    """The three compiled graphs, and how the decoder was obtained."""

    vision: CompiledModel
    embed: CompiledModel
    decoder: CompiledModel  # the compiled decoder (not an infer request)
    cached: bool  # whether the decoder came from the shared cache


# (the vision encoder's and embedding table's configuration, the decoder's) → (vision, embed, decoder)
Compile = Callable[
    [Mapping[str, str], Mapping[str, str]], "tuple[CompiledModel, CompiledModel, CompiledModel]"
]


def configuration_tag(config: Mapping[str, str]) -> str:
    """A short name for a compile configuration (the cache folder left out)."""
    settled = json.dumps({k: v for k, v in sorted(config.items()) if k != "CACHE_DIR"})
    return hashlib.sha256(settled.encode()).hexdigest()[:12]


def probe(embed: CompiledModel, decoder: CompiledModel) -> np.ndarray:
    """The decoder's logits after `PROBE_IDS` (float32, vocabulary-sized): one pass over the weights."""
    request = decoder.create_infer_request()
    request.reset_state()
    embeds = np.asarray(embed(np.array([PROBE_IDS], dtype=np.int64))[0], dtype=np.float32)
    feed = {
        "inputs_embeds": embeds,
        "attention_mask": np.ones((1, len(PROBE_IDS)), dtype=np.int64),
        "position_ids": np.arange(len(PROBE_IDS), dtype=np.int64)[None],
    }
    if any("beam_idx" in port.get_names() for port in decoder.inputs):
        feed["beam_idx"] = np.zeros(1, dtype=np.int32)
    request.infer(feed)
    logits = np.array(request.get_tensor("logits").data[0, -1], dtype=np.float32)
    request.reset_state()
    return logits


class CheckedCache:
    """Compiles a prepared model through the compiled cache, checking each load (module docs)."""

    def __init__(self, ir: Path, config: Mapping[str, str]) -> None:
        self._ir = ir
        self._config = dict(config)
        tag = configuration_tag(config)
        self.record = ir / f"probe-{tag}.npy"
        self.uncached = ir / f"uncached-{tag}.json"  # this configuration compiles without the cache
        self.shared = ir / CACHE

    def compile(self, build: Compile) -> Compiled:
        """Compile with `build(config)`: fresh and recorded the first time, checked every time after."""
        if not self.record.exists():
            return self._first(build)
        want = np.load(self.record)
        if self.uncached.exists():
            return self._fresh(build, want)
        cached = {**self._config, "CACHE_DIR": str(self.shared)}
        vision, embed, decoder = build(cached, cached)
        off = difference(probe(embed, decoder), want)
        if off <= SAME:
            return Compiled(vision, embed, decoder, cached=True)
        log.warning(
            "The compiled cache in %s gave a decoder that disagrees with its first compile (%s); "
            "this model compiles without the cache from now on.",
            self.shared,
            "not a number" if off == float("inf") else f"off by {off:.2g} of the logits' size",
        )
        _write_atomically(self.uncached, json.dumps({"difference": str(off)}).encode())
        shutil.rmtree(self.shared, ignore_errors=True)  # the faulty files; the others compile again
        return self._fresh(build, want)

    def _first(self, build: Compile) -> Compiled:
        """A certainly fresh compile in a folder of its own; its probe recorded; its files shared."""
        self._ir.mkdir(parents=True, exist_ok=True)
        own = Path(tempfile.mkdtemp(prefix=".compiling-", dir=self._ir))
        try:
            fresh = {**self._config, "CACHE_DIR": str(own)}
            vision, embed, decoder = build(fresh, fresh)
            values = probe(embed, decoder)
            if not np.isfinite(values).all():
                raise CompiledCacheFault("the freshly compiled decoder computes no numbers (NaN) on a probe")
            buffer = _npy(values)
            _write_atomically(self.record, buffer)
            self.shared.mkdir(exist_ok=True)
            for path in own.iterdir():
                os.replace(path, self.shared / path.name)
        finally:
            shutil.rmtree(own, ignore_errors=True)
        return Compiled(vision, embed, decoder, cached=False)

    def _fresh(self, build: Compile, want: np.ndarray) -> Compiled:
        """The decoder compiled without the cache; refused when even that disagrees with the record.

        The vision encoder and the embedding table still come from the cache (the probe reads
        the table too: if it disagrees, everything is compiled fresh once more).
        """
        cached = {**self._config, "CACHE_DIR": str(self.shared)}
        vision, embed, decoder = build(cached, self._config)
        off = difference(probe(embed, decoder), want)
        if off > FRESH:
            vision, embed, decoder = build(self._config, self._config)
            off = difference(probe(embed, decoder), want)
        if off > FRESH:
            raise CompiledCacheFault(
                "the freshly compiled decoder disagrees with its first compile on a probe "
                f"({'not a number' if off == float('inf') else f'off by {off:.2g}'})"
            )
        return Compiled(vision, embed, decoder, cached=False)


def _npy(values: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    np.save(out, values)
    return out.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write beside, then rename: a reader sees the whole file or none."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
