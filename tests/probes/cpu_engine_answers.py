"""Load the CPU engine on model folders and report what it answers (one JSON line per folder).

Run by tests/integration/test_cpu_engine_every_run.py several times in a row, each time a new
process sharing one cache folder: the first run prepares and compiles, the later ones load
OpenVINO's compiled cache. Usage:

    python -m tests.probes.cpu_engine_answers CACHE [--openvino-rotary] FOLDER:DTYPE …

`--openvino-rotary` prepares with OpenVINO's own `RotaryEmbedding` converter (the fault's form).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.capture.frames import Frame
from app.inference.answer import collect
from app.inference.openvino.backend import OpenVINOBackend
from app.inference.openvino.published import export_from_onnx
from app.inference.types import GenerationRequest, LoadProgressCallback
from tests.media import photo

REQUESTS = {
    "picture": GenerationRequest(
        "Describe what is in front of the camera.", frames=(Frame(photo(), 0.0),), max_tokens=8
    ),
    "text": GenerationRequest("No picture at all.", max_tokens=8),
}


def main(argv: list[str]) -> int:
    """Answer each request on each folder; print what came out."""
    cache = Path(argv[0])
    own_rotary = "--openvino-rotary" not in argv
    wanted = [a for a in argv[1:] if a != "--openvino-rotary"]

    def prepare(
        folder: Path, out: Path, weights: str, source: str | None, _progress: LoadProgressCallback | None
    ) -> None:
        assert source is not None
        export_from_onnx(folder, out, weights, source, own_rotary=own_rotary)  # type: ignore[arg-type]

    for item in wanted:
        folder, _, dtype = item.rpartition(":")
        engine = OpenVINOBackend(model=folder, dtype=dtype, cache_dir=cache, converter=prepare)
        engine.load()
        answers = {
            name: {
                "logits": engine.first_token_logits(request).tolist(),
                "text": collect(engine.stream(request)).text,
            }
            for name, request in REQUESTS.items()
        }
        print(json.dumps({"folder": folder, "from_cache": engine.from_cache, "answers": answers}), flush=True)
        engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
