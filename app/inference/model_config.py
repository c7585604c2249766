"""What SmolSight reads of a model folder's own files: its config, its context, its end tokens.

One reader each, used by every engine, so that engines can't disagree on a model (they did:
four rules for the ids that end an answer, six readers of `config.json`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

Family = Literal["smolvlm2", "qwen3_5"]

DEFAULT_CONTEXT = 8192  # SmolVLM2's positions, when a folder doesn't say
# The tokens that end an answer in each family's chat format, beside what the folder declares.
END_TOKENS: dict[Family, tuple[str, ...]] = {
    "smolvlm2": ("<end_of_utterance>",),
    "qwen3_5": ("<|im_end|>", "<|endoftext|>"),
}


def read_config(folder: Path, name: str = "config.json") -> dict[str, object]:
    """A model folder's JSON file as a dict; empty when it is missing or not JSON (callers default)."""
    try:
        data = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def section(config: dict[str, object], name: str) -> dict[str, object]:
    """`config[name]` (`text_config`, `vision_config`) when it is a dict, else the config itself."""
    part = config.get(name)
    return part if isinstance(part, dict) else config


def family_of_folder(folder: Path) -> Family:
    """Which family the model in `folder` is, from its config's `model_type` (SmolVLM2 if unsure)."""
    kind = str(read_config(folder).get("model_type", ""))
    return "qwen3_5" if kind.startswith("qwen3_5") else "smolvlm2"


def context_limit(folder: Path) -> int:
    """How many tokens the model in `folder` reads at most (its decoder's position count)."""
    text = section(read_config(folder), "text_config")
    value = text.get("max_position_embeddings", DEFAULT_CONTEXT)
    return int(value) if isinstance(value, int | float | str) else DEFAULT_CONTEXT


def _ids(value: object) -> list[int]:
    values = value if isinstance(value, list) else [value]
    return [int(v) for v in values if isinstance(v, int) and not isinstance(v, bool)]


def end_token_ids(
    folder: Path, token_id: Callable[[str], int | None], also: Iterable[object] = ()
) -> frozenset[int]:
    """The ids that end an answer, the same for every engine.

    The folder's `generation_config.json` `eos_token_id` (one or a list), the family's end
    tokens (`END_TOKENS`, looked up with `token_id`: None for a token the vocabulary lacks), and
    `also` (what an engine's own tokenizer or generation settings declare).
    """
    ids = _ids(read_config(folder, "generation_config.json").get("eos_token_id"))
    for token in END_TOKENS[family_of_folder(folder)]:
        found = token_id(token)
        if found is not None:
            ids.append(int(found))
    for value in also:
        ids += _ids(value)
    return frozenset(ids)
