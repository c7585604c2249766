"""Audio description benchmark: its cost against the plain summary's, and the speech detectors.

    python benchmarks/audio_description.py [--minutes 5] [--model DIR] [--backend auto]

In one process and one run: a `--minutes` video with a line of dialogue every 7 s over a music
bed (`app/devtools/dialogue_video.py`; eSpeak NG speaks it) is summarized by the random-weight
model of the real SmolVLM2-500M architecture (built once into the user cache, see
`smolsight bench`), then its audio description is written, standard and extended, each step
timed: finding the dialogue, the voice saying each description, writing the described video.
The random model's words are noise ("w41296 w41296 …", which a voice reads as numbers), so
before the audio description each scene's text is replaced by one of `LISTENING`, real
descriptions of one to three sentences as the model writes them at the default detail: the
voice, the placement and the mix then work on text like a user's.

Then the speech detectors are measured on the video's own soundtrack against the known times
of its lines (10 ms steps): Silero VAD (what SmolSight uses) and, when `webrtcvad` is installed
(`pip install webrtcvad-wheels`), WebRTC's, with and without the music.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from app.commands.bench_measure import real_size_model
from app.config import EngineSettings, SummarySettings
from app.devtools.dialogue_video import conversation, write_dialogue_video
from app.inference.factory import backend_factory
from app.inference.model_thread import ModelThread
from app.video.audio_description import KINDS, AudioDescription, write_audio_description
from app.video.dialogue import RATE, Span, SpeechDetector, read_soundtrack
from app.video.summarize import VideoSummary, summarize

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
LISTENING = (
    "A woman pours coffee into a white cup on a wooden table.",
    "A grey cat sits on a windowsill and watches the street below.",
    "An astronaut in a white suit stands beside a flag on dusty ground.",
    "A rocket rises from the launch pad in a cloud of smoke.",
    'A printed page fills the screen. The heading reads "Region-based segmentation".',
    "A man in a blue jacket walks his dog along a busy pavement, past a row of shops.",
    "Two children run across a green field toward a red kite.",
    "Steam rises from a pot on a gas stove while a hand stirs it with a wooden spoon.",
    "A bus stops at a shelter and three people step off into the rain.",
    'A sign on a glass door reads "Closed for lunch, back at two".',
)


def timed_description(
    summary: VideoSummary, out: Path, *, extended: bool
) -> tuple[float, dict[str, float], AudioDescription]:
    """Seconds for the whole audio description, per step, and what was made."""
    marks: dict[str, float] = {}
    t0 = time.monotonic()

    def progress(_fraction: float, message: str) -> None:
        marks.setdefault(message, time.monotonic() - t0)

    made = write_audio_description(summary, out, KINDS, extended=extended, progress=progress)
    total = time.monotonic() - t0
    order = [*sorted(marks.items(), key=lambda kv: kv[1]), ("end", total)]
    steps = {name: order[i + 1][1] - at for i, (name, at) in enumerate(order[:-1])}
    return total, steps, made


def spans_mask(spans: Iterable[Span], n: int) -> np.ndarray:
    """Speech (True) or not at each of `n` 10 ms steps."""
    mask = np.zeros(n, bool)
    for span in spans:
        mask[int(span.start * 100) : int(span.end * 100)] = True
    return mask


def score(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(share of silence called speech, share of speech missed) at 10 ms steps."""
    false_speech = (found & ~truth).sum() / max(1, (~truth).sum())
    missed = (~found & truth).sum() / max(1, truth.sum())
    return float(false_speech), float(missed)


def webrtc_mask(samples: np.ndarray, n: int, mode: int = 3) -> np.ndarray | None:
    try:
        import webrtcvad  # type: ignore[import-not-found]
    except ImportError:
        return None
    vad = webrtcvad.Vad(mode)
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
    mask = np.zeros(n, bool)
    step = RATE * 30 // 1000
    for i in range(0, len(pcm) - step + 1, step):
        if vad.is_speech(pcm[i : i + step].tobytes(), RATE):
            mask[i // 160 : i // 160 + 3] = True
    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--backend", default="auto", help="auto (default), openvino or transformers")
    parser.add_argument("--frames-per-segment", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    seconds = args.minutes * 60
    CACHE.mkdir(exist_ok=True)
    video = write_dialogue_video(
        CACHE / f"dialogue-{args.minutes:g}min.mp4", conversation(seconds), seconds=seconds, music=True
    )
    model = args.model or real_size_model()
    model_thread = ModelThread(backend_factory(EngineSettings(backend=args.backend, model=str(model))))
    info = model_thread.wait_ready()
    print(
        f"{video.path.name}: {args.minutes:g} min, {len(video.speech)} lines; "
        f"model {model.name} ({info.backend})"
    )
    settings = SummarySettings(frames_per_segment=args.frames_per_segment)
    t0 = time.monotonic()
    summary = model_thread.run_task(
        lambda backend, cancel: summarize(video.path, backend, settings, cancel=cancel)
    ).result()
    summary_s = time.monotonic() - t0
    model_thread.shutdown()
    print(f"plain summary: {len(summary.segments)} scenes in {summary_s:.1f} s")
    summary.segments = [
        dataclasses.replace(seg, description=LISTENING[i % len(LISTENING)])
        for i, seg in enumerate(summary.segments)
    ]
    results: dict[str, object] = {"minutes": args.minutes, "backend": info.backend, "summary_s": summary_s}
    with tempfile.TemporaryDirectory() as tmp:
        for extended in (False, True):
            name = "extended" if extended else "standard"
            total, steps, made = timed_description(summary, Path(tmp) / name, extended=extended)
            plan = made.plan
            parts = ", ".join(f"{k.rstrip('…').lower()} {v:.1f} s" for k, v in steps.items() if v >= 0.05)
            print(
                f"audio description, {name}: {total:.1f} s ({parts}); {plan.report()} "
                f"summary + description = {(summary_s + total) / summary_s:.2f}× the plain summary"
            )
            results[name] = {"seconds": total, "steps": steps, "cues": len(plan.cues), "held_s": plan.held_s}
    samples = read_soundtrack(video.path)
    assert samples is not None
    n = int(len(samples) / RATE * 100)
    truth = spans_mask(video.speech, n)
    silero = score(spans_mask(SpeechDetector().speech(samples), n), truth)
    print(
        f"Silero VAD under music: {silero[0]:.1%} of the rest called speech, {silero[1]:.1%} of speech missed"
    )
    results["silero"] = silero
    webrtc = webrtc_mask(samples, n)
    if webrtc is None:
        print("WebRTC VAD: not installed (pip install webrtcvad-wheels to compare)")
    else:
        w = score(webrtc, truth)
        print(f"WebRTC VAD (mode 3) under music: {w[0]:.1%} of the rest called speech, {w[1]:.1%} missed")
        results["webrtc"] = w
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
