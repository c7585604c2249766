"""Video summarization benchmark: our pipeline against the naive way, and memory on long videos.

    python benchmarks/summarize_video.py [--minutes 5] [--model DIR] [--naive-frames 2]

In one process and one run, with the random-weight model of the real SmolVLM2-500M
architecture (built once into the user cache, see `smolsight bench`), through the engine, on
the backend `--backend` names (default: auto, the fast CPU engine on a machine without a GPU):

* ours: scene segments, each described as one clip of `--frames-per-segment` 512 px frames
  (64 image tokens each) with a one-sentence answer, then a text-only summary;
* naive: every frame at 1 FPS described on its own with image splitting on and the first prototype's
  150-token answers. Its per-frame cost does not depend on the frame, so it is measured on
  `--naive-frames` frames and multiplied by the number of frames (printed as such).

Then the peak resident memory of segmenting (decoding and cutting, no model) a short and a
6× longer video, each in a fresh process: bounded memory means the two peaks match.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from app.commands.bench_measure import real_size_model
from app.config import EngineSettings, SummarySettings
from app.inference.factory import backend_factory
from app.inference.model_thread import ModelThread
from app.inference.types import GenerationRequest
from app.video.segments import SegmentSettings, iter_segments
from app.video.summarize import summarize

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"  # generated test videos


def long_video(minutes: float, scene_s: float, size: tuple[int, int] = (640, 360), fps: float = 10.0) -> Path:
    """A video of real photographs (scikit-image's), panning, with a cut every `scene_s`."""
    import cv2

    from app.devtools.sample_video import SCENES, _photo, _view

    out = CACHE / f"bench-{minutes:g}min-{scene_s:g}s-{size[0]}.mp4"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    photos = [_photo(n) for n in SCENES]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    per_scene = int(scene_s * fps)
    scenes = int(minutes * 60 / scene_s)
    for i in range(scenes):
        photo = photos[i % len(photos)]
        if (i // len(photos)) % 2:
            photo = np.ascontiguousarray(photo[:, ::-1])  # mirrored on the second pass: a new shot
        for k in range(per_scene):
            frame = cv2.resize(_view(photo, k / per_scene), size, interpolation=cv2.INTER_AREA)
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return out


def segmenting_peak_mb(video: Path) -> float:
    """Peak resident memory (MB) of a fresh process that segments `video` (no model)."""
    # VmHWM is the peak of this process's own memory; ru_maxrss would also count the parent's
    # peak (Linux keeps it across fork and exec), and the parent holds a 2 GB model.
    code = (
        "import sys\n"
        "from app.video.segments import iter_segments\n"
        "n = sum(1 for _ in iter_segments(sys.argv[1]))\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(int(hwm) / 1024, n)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(video)], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--scene-seconds", type=float, default=30.0, help="shot length of the test video")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--backend", default="auto", help="auto (default), openvino or transformers")
    parser.add_argument("--frames-per-segment", type=int, default=4)
    parser.add_argument("--naive-frames", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    video = long_video(args.minutes, args.scene_seconds)
    model = args.model or real_size_model()
    model_thread = ModelThread(backend_factory(EngineSettings(backend=args.backend, model=str(model))))
    info = model_thread.wait_ready()
    print(
        f"{video.name}: {args.minutes:g} min; model {model.name} ({info.backend}, {info.dtype})", flush=True
    )

    t0 = time.monotonic()
    settings = SummarySettings(frames_per_segment=args.frames_per_segment)
    ours = model_thread.run_task(
        lambda backend, cancel: summarize(video, backend, settings, cancel=cancel)
    ).result()
    ours_s = time.monotonic() - t0
    print(f"ours: {len(ours.segments)} scenes described and summarized in {ours_s:.0f} s", flush=True)

    frames = [f for seg in iter_segments(video, SegmentSettings.of(SummarySettings())) for f in seg.frames]
    per_frame = []
    for frame in frames[: args.naive_frames]:
        t = time.monotonic()
        request = GenerationRequest(
            "Describe this image in detail", frames=(frame,), max_tokens=150, split_images=True
        )
        model_thread.submit(request).result()
        per_frame.append(time.monotonic() - t)
    model_thread.shutdown()
    naive_s = float(np.mean(per_frame)) * len(frames)
    print(
        f"naive: {np.mean(per_frame):.1f} s per frame (splitting on, 150 tokens) × {len(frames)} frames "
        f"= {naive_s:.0f} s (measured on {len(per_frame)} frames)",
        flush=True,
    )
    print(f"ratio naive / ours: {naive_s / ours_s:.1f}×")

    short = long_video(args.minutes, args.scene_seconds)
    longer = long_video(args.minutes * 6, args.scene_seconds)
    peak_short, peak_long = segmenting_peak_mb(short), segmenting_peak_mb(longer)
    print(
        f"segmenting peak memory: {peak_short:.0f} MB for {args.minutes:g} min, "
        f"{peak_long:.0f} MB for {args.minutes * 6:g} min ({peak_long / peak_short:.2f}×)"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "minutes": args.minutes,
                    "backend": info.backend,
                    "dtype": info.dtype,
                    "scenes": len(ours.segments),
                    "ours_s": ours_s,
                    "naive_per_frame_s": float(np.mean(per_frame)),
                    "naive_frames": len(frames),
                    "naive_s": naive_s,
                    "ratio": naive_s / ours_s,
                    "segmenting_peak_mb": {"short": peak_short, "long": peak_long},
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
