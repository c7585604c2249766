"""Live narration benchmark: per-description latency in live mode, and change-gate savings.

    python benchmarks/live_narration.py [--model DIR] [--backend auto] [--runs 3]

Without --model it builds (once, into the user cache, see `smolsight bench`) a random-weight
model with the real SmolVLM2-500M architecture; timings of random weights equal those of the
real model for a fixed number of tokens. Reports, in one run and one process, through the
engine on `--backend` (default auto: the fast CPU engine on a machine without a GPU):
  * live mode (one 512 px tile, brief answer of `--tokens` tokens): time to first token,
    decode rate and total per description;
  * the share of 1 FPS frames the change gate skips on the bundled sample video.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from app.capture.frames import Frame
from app.capture.media import sample_video
from app.capture.sources import SAMPLE_VIDEO
from app.commands.bench_measure import real_size_model
from app.config import EngineSettings
from app.inference.factory import backend_factory
from app.inference.model_thread import ModelThread
from app.inference.types import GenerationRequest
from app.narration.policy import ChangeGate
from app.prompts import describe_prompt


def gate_share(threshold: float) -> dict[str, float]:
    """How many 1 FPS frames of the sample video the change gate lets through."""
    gate = ChangeGate(threshold)
    frames = sample_video(SAMPLE_VIDEO, fps=1.0, max_frames=64)
    for frame in frames:
        if gate.check(frame):
            gate.accept(frame)
    return {
        "frames": len(frames),
        "passed": gate.passed,
        "skipped": gate.skipped,
        "skipped_share": gate.skipped / len(frames),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model folder (default: 500M random)")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=20, help="answer length (brief ≈ 20 tokens)")
    parser.add_argument("--threshold", type=float, default=20.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    model = args.model or real_size_model()
    model_thread = ModelThread(backend_factory(EngineSettings(backend=args.backend, model=str(model))))
    info = model_thread.wait_ready()
    frames = sample_video(SAMPLE_VIDEO, fps=0.2, max_frames=args.runs)
    rows = []
    for frame in frames[: args.runs]:
        request = GenerationRequest(
            describe_prompt("brief"), frames=(Frame(frame.image, frame.timestamp),), max_tokens=args.tokens
        )
        rows.append(model_thread.submit(request).result().stats)
    model_thread.shutdown()
    ttft = statistics.median(s.time_to_first_token_s or 0 for s in rows)
    decode = statistics.median(s.decode_tokens_per_s or 0 for s in rows)
    total = statistics.median(s.total_s for s in rows)
    gate = gate_share(args.threshold)
    result = {
        "backend": info.backend,
        "device": info.device,
        "dtype": info.dtype,
        "model": str(model),
        "prompt_tokens": rows[0].prompt_tokens,
        "generated_tokens": rows[0].generated_tokens,
        "time_to_first_token_s": ttft,
        "decode_tokens_per_s": decode,
        "total_per_description_s": total,
        "peak_rss_gb": (rows[-1].peak_memory_bytes or 0) / 1e9,
        "gate": gate,
    }
    print(f"live mode ({result['backend']}, {result['device']}, {result['dtype']}), median of {len(rows)}:")
    print(f"  prompt {result['prompt_tokens']} tokens, answer {result['generated_tokens']} tokens")
    print(
        f"  time to first token {ttft:.2f} s, decode {decode:.1f} tok/s, total {total:.2f} s per description"
    )
    print(f"  peak resident memory {result['peak_rss_gb']:.2f} GB")
    print(
        f"change gate on the sample video: {gate['skipped']} of {gate['frames']} frames skipped "
        f"({gate['skipped_share']:.0%}), {gate['passed']} described"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
