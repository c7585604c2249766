"""How a preparation reports its progress, and what it leaves: the IR files and their manifest.

A preparation runs in its own process (`python -m app.inference.openvino`) and prints one
JSON object per line on stdout: `{"step", "steps", "message"}` while it works, then
`{"done": folder}`; on failure the last line is `{"error": message}` and the exit code is 1.
The manifest is written last, so a folder with one is a complete preparation.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from app.inference.openvino.graph import fuse_projections

if TYPE_CHECKING:
    from openvino import Model

Weights = Literal["int8", "fp32"]


EXPORT_VERSION = 5  # bump when the exported graphs change; old caches are then rebuilt


MANIFEST = "smolsight_openvino.json"


STEPS = ("load", "vision", "embed", "decoder", "compress", "save", "reference")


ONNX_STEPS = ("vision", "embed", "decoder", "check", "compress", "save")


def say(**fields: object) -> None:
    """One JSON line of progress (or the outcome) for the parent process."""
    print(json.dumps(fields), flush=True)


def report_step(name: str, message: str, steps: tuple[str, ...] = STEPS) -> None:
    """Say which step of `steps` the preparation is at."""
    say(step=steps.index(name), steps=len(steps), message=message)


def save_graphs(ov: ModuleType, work: Path, vision: Model, embed: Model, decoder: Model) -> None:
    """Save the three prepared graphs into `work` (the decoder's products joined first)."""
    fuse_projections(decoder)  # the vision encoder computes, it does not stream: nothing to gain there
    for name, graph in (("vision", vision), ("embed", embed), ("decoder", decoder)):
        ov.save_model(graph, work / f"{name}.xml", compress_to_fp16=False)


def finish_export(
    ov: ModuleType,
    work: Path,
    out: Path,
    weights: Weights,
    *,
    source: str,
    started: float,
    checked: float | None = None,
) -> None:
    """Write the manifest last (it marks a complete preparation), then move `work` to `out`."""
    manifest: dict[str, object] = {
        "export_version": EXPORT_VERSION,
        "weights": weights,
        "openvino": ov.get_version(),
        "source": source,
        "seconds": round(time.monotonic() - started, 1),
    }
    if checked is not None:  # the prepared decoder's agreement with the published one (logits cosine)
        manifest["checked_against_published"] = round(checked, 7)
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2))  # last: marks a complete export
    if out.exists():
        shutil.rmtree(out)
    work.rename(out)
