"""Videos with spoken dialogue at known times, for testing and measuring audio description.

    python -m app.devtools.dialogue_video OUT.mp4 [--minutes M] [--music]

The picture is the bundled sample video's (five real scenes with hard cuts), looped to the
length asked for; the soundtrack is lines of dialogue spoken by eSpeak NG (or whichever
offline voice `app.video.voice` finds) at known times, optionally over a music bed (chords and
a beat, which a speech detector must not take for speech). `DialogueVideo.speech` is the truth
a test measures description cues against.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from app.capture.sources import SAMPLE_VIDEO
from app.video.dialogue import Dialogue, Span
from app.video.voice import Voice, find_voice

RATE = 48_000
LINES = (
    "Where did you put the keys?",
    "On the table by the door, next to the blue bowl.",
    "I looked there twice and they were gone.",
    "Then check your coat pockets before we are late again.",
    "Found them. Let's go.",
    "Did you remember the tickets for tonight?",
    "They are on my phone. Both of them.",
)


@dataclass(frozen=True)
class DialogueVideo:
    """A written test video and where its dialogue is."""

    path: Path
    duration: float
    speech: tuple[Span, ...]  # when each line is spoken, from the voice's own samples

    def pauses(self, shortest: float = 2.0) -> list[Span]:
        """The true pauses between lines of at least `shortest` seconds."""
        return Dialogue(self.duration, self.speech).pauses(shortest)


def _music(n: int) -> np.ndarray:
    """A quiet bed of changing chords with a beat: music, not speech."""
    t = np.arange(n) / RATE
    notes = np.array([220.0, 277.2, 329.6, 440.0, 392.0, 349.2])
    out = np.zeros(n, np.float32)
    for k in range(3):
        freq = notes[(t.astype(int) + 2 * k) % len(notes)]
        out += (0.04 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    beat = 0.6 + 0.4 * (np.sin(2 * np.pi * 2 * t) > 0)
    return (out * beat).astype(np.float32)


def write_dialogue_video(
    out: Path,
    schedule: list[tuple[float, str]],
    *,
    seconds: float | None = None,
    music: bool = False,
    voice: Voice | None = None,
    picture: Path = SAMPLE_VIDEO,
) -> DialogueVideo:
    """Write `out` (MP4: H.264 picture, AAC sound) with each (time, line) of `schedule` spoken.

    The picture is `picture`'s, looped to `seconds` (default: its own length).
    """
    import av

    from app.video.described_video import for_the_mix  # the same resampling as the mix

    speaker = voice or find_voice()
    if speaker is None:
        raise RuntimeError("no offline voice to speak the dialogue (install espeak-ng)")
    with av.open(str(picture)) as src:
        stream = src.streams.video[0]
        fps = stream.average_rate or Fraction(10)
        frames = [f.to_ndarray(format="rgb24") for f in src.decode(stream)]
    length = seconds if seconds is not None else len(frames) / float(fps)
    sound = np.zeros(round(length * RATE), np.float32)
    spans = []
    for at, line in sorted(schedule):
        samples = for_the_mix(speaker.speak(line)) * 0.6
        a = round(at * RATE)
        b = min(len(sound), a + len(samples))
        sound[a:b] += samples[: b - a]
        spans.append(Span(at, b / RATE))
    if music:
        sound += _music(len(sound))
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), "w") as dst:
        v = dst.add_stream("libx264", rate=fps)
        v.height, v.width = frames[0].shape[:2]
        v.pix_fmt = "yuv420p"
        v.options = {"preset": "ultrafast", "crf": "28"}
        a_out = dst.add_stream("aac", rate=RATE)
        a_out.layout = "mono"
        total = round(length * float(fps))
        for i in range(total):
            frame = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")
            frame.pts = i
            frame.time_base = 1 / Fraction(fps)
            for p in v.encode(frame):
                dst.mux(p)
        step = RATE // 10
        for pos in range(0, len(sound), step):
            chunk = np.clip(sound[pos : pos + step], -1, 1)[None]
            sound_frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="flt", layout="mono")
            sound_frame.sample_rate, sound_frame.pts, sound_frame.time_base = RATE, pos, Fraction(1, RATE)
            for p in a_out.encode(sound_frame):
                dst.mux(p)
        for stream_out in (v, a_out):
            for p in stream_out.encode():
                dst.mux(p)
    return DialogueVideo(out, length, tuple(spans))


def conversation(seconds: float, *, every: float = 7.0, first: float = 1.0) -> list[tuple[float, str]]:
    """Lines every `every` seconds from `first` on, cycling through LINES, to fill `seconds`."""
    times = np.arange(first, max(first, seconds - 4.0), every)
    return [(float(t), LINES[i % len(LINES)]) for i, t in enumerate(times)]


def main(argv: list[str] | None = None) -> int:
    """Write a dialogue video from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--minutes", type=float, default=0.5)
    parser.add_argument("--music", action="store_true", help="a music bed under the dialogue")
    args = parser.parse_args(argv)
    seconds = args.minutes * 60
    made = write_dialogue_video(args.out, conversation(seconds), seconds=seconds, music=args.music)
    print(f"{made.path}: {made.duration:.0f} s, {len(made.speech)} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
