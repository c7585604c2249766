"""A remote engine, timed as `smolsight bench` times the local ones: live descriptions and one clip.

    python benchmarks/remote_engine.py --base-url http://127.0.0.1:8080/v1 [--runs 3] [--clip 16]

Works against any OpenAI-compatible server (another `smolsight serve`, llama.cpp's
`llama-server`, vLLM, Ollama), through SmolSight's own remote backend, with the same frames,
prompt and 20-token budget as the bench's live rows: the sample video's frames, one 512 px
tile each. Reports the prompt tokens the server counted, time to first token and total per
live description (median), and the same for one clip of `--clip` frames, with the note the
backend gives when the server's context made it send fewer frames.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from app.capture.media import sample_video
from app.capture.sources import SAMPLE_VIDEO
from app.inference.answer import collect
from app.inference.openai_backend import OpenAIBackend
from app.inference.types import GenerationRequest, GenerationStats
from app.prompts import DEFAULT_CLIP_PROMPT, describe_prompt


def row(stats: list[GenerationStats]) -> dict[str, object]:
    """Median figures of some generations."""
    return {
        "prompt_tokens": stats[0].prompt_tokens,
        "time_to_first_token_s": statistics.median(s.time_to_first_token_s or 0 for s in stats),
        "total_s": statistics.median(s.total_s for s in stats),
        "note": next((s.note for s in stats if s.note), ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", help="the model name on the server (default: its first)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--clip", type=int, default=16, help="frames in the clip (0: no clip)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    backend = OpenAIBackend(base_url=args.base_url, model=args.model, timeout_s=600)
    backend.load()
    frames = sample_video(SAMPLE_VIDEO, fps=1.0, max_frames=max(args.clip, args.runs))
    try:
        live = [
            collect(
                backend.stream(GenerationRequest(describe_prompt("brief"), (frame,), max_tokens=args.tokens))
            ).stats
            for frame in frames[: args.runs]
        ]
        result: dict[str, object] = {"server": args.base_url, "model": backend.model, "live": row(live)}
        if args.clip:
            request = GenerationRequest(
                DEFAULT_CLIP_PROMPT, tuple(frames[: args.clip]), max_tokens=args.tokens, as_video=True
            )
            result["clip"] = {"frames": args.clip, **row([collect(backend.stream(request)).stats])}
    finally:
        backend.close()
    for name in ("live", "clip"):
        figures = result.get(name)
        if isinstance(figures, dict):
            label = (
                f"clip of {args.clip} frames"
                if name == "clip"
                else f"live description (median of {args.runs})"
            )
            print(
                f"{label}: prompt {figures['prompt_tokens']} tokens, first token "
                f"{figures['time_to_first_token_s']:.2f} s, total {figures['total_s']:.2f} s"
                + (f"; {figures['note']}" if figures["note"] else "")
            )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
