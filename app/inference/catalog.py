"""The models SmolSight offers by name, what each is for, and where each engine gets it.

Three models, side by side (`smolsight models`, Settings, `--model NAME`, the server's
`active_model`):

- `smolvlm2-256m`: the fastest, for slow or old computers (same picture layout as the 500M,
  a smaller language model);
- `smolvlm2-500m`: balanced, the default and the one live narration is tuned for;
- `qwen3.5-0.8b`: the most accurate (Qwen3.5-0.8B; MMMU 47.4 and OCRBench 74.5 published against
  SmolVLM2-500M's 34.1 and 60.9, from different sources), slower.

A name stands for a different download per engine: the CPU engine reads SmolVLM2's published
ONNX export and Qwen's OpenVINO int4 export; MLX reads MLX weights; transformers the PyTorch
weights. `--model` still takes any hub id or folder too; which family a model belongs to is read
from its config (`family_of_folder`) or, for a hub id, from its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.inference.backend import BackendError
from app.inference.model_config import Family, family_of_folder
from app.inference.model_files import DEFAULT_MODELS, looks_like_path

Role = Literal["fastest", "balanced", "most accurate"]


@dataclass(frozen=True)
class CatalogModel:
    """One model offered by name: what it is for, and each engine's download of it."""

    name: str  # what users type: `--model qwen3.5-0.8b`
    title: str  # what the window shows
    role: Role
    family: Family
    purpose: str  # one line: when to choose it
    repos: dict[str, str]  # engine → hub id
    sizes: dict[str, str]  # engine → download size, in words

    def repo(self, engine: str) -> str:
        """The hub id this engine downloads (transformers' for an engine not listed)."""
        return self.repos.get(engine, self.repos["transformers"])

    def size(self, engine: str) -> str:
        """What that download comes to, in words."""
        return self.sizes.get(engine, self.sizes["transformers"])

    @property
    def label(self) -> str:
        """Title and role, for a list a person chooses from."""
        default = ", the default" if self.name == DEFAULT_NAME else ""
        return f"{self.title} ({self.role}{default})"


# Sizes: the CPU engine's files for SmolVLM2 are one precision of the ONNX export (8-bit, about
# one byte per weight: 520 MB measured for the 500M; the 256M's vision encoder is the same 93 M
# weights, its decoder 135 M); Qwen's is OpenVINO's own int4 export. PyTorch and MLX weights
# are bf16, two bytes per weight.
CATALOG: tuple[CatalogModel, ...] = (
    CatalogModel(
        name="smolvlm2-256m",
        title="SmolVLM2-256M",
        role="fastest",
        family="smolvlm2",
        purpose="the fastest: for slow or old computers; shorter, plainer descriptions",
        repos={
            "openvino": "HuggingFaceTB/SmolVLM2-256M-Video-Instruct",
            "transformers": "HuggingFaceTB/SmolVLM2-256M-Video-Instruct",
            "mlx": "mlx-community/SmolVLM2-256M-Video-Instruct-mlx",
        },
        sizes={"openvino": "about 280 MB", "transformers": "about 510 MB", "mlx": "about 510 MB"},
    ),
    CatalogModel(
        name="smolvlm2-500m",
        title="SmolVLM2-500M",
        role="balanced",
        family="smolvlm2",
        purpose="balanced: fast enough for live narration on most computers",
        repos={
            "openvino": DEFAULT_MODELS["transformers"],
            "transformers": DEFAULT_MODELS["transformers"],
            "mlx": DEFAULT_MODELS["mlx"],
        },
        sizes={"openvino": "about 520 MB", "transformers": "about 1.0 GB", "mlx": "about 1.0 GB"},
    ),
    CatalogModel(
        name="qwen3.5-0.8b",
        title="Qwen3.5-0.8B",
        role="most accurate",
        family="qwen3_5",
        purpose="the most accurate: reads text and answers questions better; slower",
        repos={
            "openvino": "OpenVINO/Qwen3.5-0.8B-int4-ov",
            "transformers": "Qwen/Qwen3.5-0.8B",
            "mlx": "Qwen/Qwen3.5-0.8B",
        },
        sizes={"openvino": "about 0.9 GB", "transformers": "about 1.8 GB", "mlx": "about 1.8 GB"},
    ),
)

DEFAULT_NAME = "smolvlm2-500m"
NAMES = tuple(model.name for model in CATALOG)


def find(name: str | None) -> CatalogModel | None:
    """The catalog model called `name` (any case; the title works too), or None."""
    if not name:
        return None
    wanted = name.strip().lower()
    for model in CATALOG:
        if wanted in (model.name, model.title.lower()):
            return model
    return None


def default() -> CatalogModel:
    """The model used when none is named."""
    model = find(DEFAULT_NAME)
    assert model is not None
    return model


def most_accurate() -> CatalogModel:
    """The model to use for questions and detailed descriptions when the user asks for the best."""
    return next(model for model in CATALOG if model.role == "most accurate")


def source_for(model: str | None, engine: str) -> str:
    """The hub id or folder `engine` loads for `model` (a name, a hub id, a folder, or None)."""
    entry = find(model) if model else default()
    if entry is not None:
        return entry.repo(engine)
    assert model is not None
    return model


def family_of(model: str | None) -> Family:
    """The family of a name, a folder or a hub id (by its name: no download to find out)."""
    entry = find(model) if model else default()
    if entry is not None:
        return entry.family
    assert model is not None
    if looks_like_path(model):
        return family_of_folder(Path(model).expanduser())
    return "qwen3_5" if "qwen3.5" in model.lower() or "qwen3_5" in model.lower() else "smolvlm2"


def public_name(model: str | None) -> str:
    """A model as people read it: its catalog name when it is one of ours, else as given."""
    if not model:
        return DEFAULT_NAME
    for entry in CATALOG:
        if model.lower() == entry.name or model in entry.repos.values():
            return entry.name
    return model


def unknown_name(model: str) -> BackendError:
    """A word that is neither a name, a hub id nor a folder: say the names there are."""
    return BackendError(f"No model called '{model}': use one of {', '.join(NAMES)}, a hub id or a folder.")
