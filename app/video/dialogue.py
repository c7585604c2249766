"""Where people speak in a video's soundtrack, and the pauses between, for audio descriptions.

The soundtrack is read with PyAV (FFmpeg bundled in its wheels) at 16 kHz mono and passed
through Silero VAD (MIT; `resources/vad/`, the ONNX export its authors publish for OpenVINO),
32 ms at a time. Silero tells speech from music: WebRTC's detector, measured on the same
dialogue over a music bed, called 100 % of the music speech and would leave no pause to
describe in (docs/audio-description.md). Probabilities become spans the way Silero's own
`get_speech_timestamps` does it: a start above 0.5, an end after 100 ms below 0.35, spans
shorter than 250 ms dropped, 30 ms of padding either side.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.paths import resource_file

RATE = 16_000  # what the detector reads
WINDOW = 512  # samples per step at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous step the model sees with each one
START_AT = 0.5
END_BELOW = 0.35
MIN_SPEECH_S = 0.25
MIN_SILENCE_S = 0.10
PAD_S = 0.03
USABLE_PAUSE_S = 2.0  # WCAG F113: pauses under 2 s may not be usable for description


class SoundtrackError(Exception):
    """The soundtrack could not be read (the message says why, for the user)."""


@dataclass(frozen=True)
class Span:
    """A stretch of time in seconds."""

    start: float
    end: float

    @property
    def length(self) -> float:
        """Its length in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class Dialogue:
    """Where speech is in a soundtrack of `duration` seconds (empty when there is no soundtrack)."""

    duration: float
    speech: tuple[Span, ...]
    has_audio: bool = True

    def pauses(self, shortest: float = USABLE_PAUSE_S) -> list[Span]:
        """The stretches without speech of at least `shortest` seconds, in order."""
        out = []
        at = 0.0
        for span in (*self.speech, Span(self.duration, self.duration)):
            if span.start - at >= shortest:
                out.append(Span(at, span.start))
            at = max(at, span.end)
        return out

    def speaking_at(self, t: float) -> Span | None:
        """The speech span around time `t`, if someone is speaking then."""
        return next((s for s in self.speech if s.start <= t < s.end), None)


def soundtrack_chunks(path: Path, rate: int = RATE) -> Iterator[np.ndarray] | None:
    """The video's first audio stream as mono float32 chunks at `rate`, read as they are needed.

    None when the video has no sound. Raises SoundtrackError (while reading) when it can't be read.
    """
    import av

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise SoundtrackError(f"could not read the soundtrack of {Path(path).name}: {exc}") from exc
    if not container.streams.audio:
        container.close()
        return None

    def chunks() -> Iterator[np.ndarray]:
        with container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            try:
                for frame in container.decode(stream):
                    for out in resampler.resample(frame):
                        yield out.to_ndarray().reshape(-1)
                for out in resampler.resample(None):
                    yield out.to_ndarray().reshape(-1)
            except (av.FFmpegError, OSError) as exc:
                raise SoundtrackError(f"could not read the soundtrack of {Path(path).name}: {exc}") from exc

    return chunks()


def read_soundtrack(path: Path, rate: int = RATE) -> np.ndarray | None:
    """The whole first audio stream as mono float32 at `rate` (None when the video has no sound)."""
    chunks = soundtrack_chunks(path, rate)
    if chunks is None:
        return None
    parts = list(chunks)
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


class SpeechDetector:
    """Silero VAD on OpenVINO: a speech probability per 32 ms of 16 kHz audio."""

    def __init__(self) -> None:
        import openvino as ov

        model = resource_file("vad", "silero_vad_16k.onnx")
        self._compiled: Any = ov.Core().compile_model(str(model), "CPU")

    def probabilities(self, chunks: Iterable[np.ndarray]) -> tuple[np.ndarray, int]:
        """One probability per whole 512-sample window of mono 16 kHz audio, and how many samples it had.

        `chunks` may be one array or any number in order (a long film is never held whole).
        """
        request = self._compiled.create_infer_request()
        out_p, out_state = self._compiled.output("output"), self._compiled.output("stateN")
        state = np.zeros((2, 1, 128), np.float32)
        context = np.zeros(CONTEXT, np.float32)
        probs: list[float] = []
        pending = np.zeros(0, np.float32)
        total = 0
        for chunk in chunks:
            total += len(chunk)
            pending = np.concatenate([pending, np.asarray(chunk, np.float32)])
            whole = len(pending) // WINDOW * WINDOW
            for i in range(0, whole, WINDOW):
                window = pending[i : i + WINDOW]
                result = request.infer({"input": np.concatenate([context, window])[None], "state": state})
                probs.append(float(result[out_p][0, 0]))
                state = result[out_state]
                context = window[-CONTEXT:]
            pending = pending[whole:]
        return np.asarray(probs, np.float32), total

    def speech(self, chunks: np.ndarray | Iterable[np.ndarray]) -> list[Span]:
        """Speech spans, in seconds, in mono 16 kHz audio (one array, or chunks in order)."""
        probs, total = self.probabilities([chunks] if isinstance(chunks, np.ndarray) else chunks)
        return spans_from(probs, total / RATE)


def spans_from(probs: np.ndarray, duration: float) -> list[Span]:
    """Speech spans from per-window probabilities (Silero's hysteresis, minimum lengths and padding)."""
    step = WINDOW / RATE
    raw: list[list[float]] = []
    speaking = False
    quiet_since: float | None = None
    for i, p in enumerate(probs):
        t = i * step
        if p >= START_AT:
            quiet_since = None
            if not speaking:
                speaking = True
                raw.append([t, t + step])
            raw[-1][1] = t + step
        elif speaking and p < END_BELOW:
            quiet_since = t if quiet_since is None else quiet_since
            if t + step - quiet_since >= MIN_SILENCE_S:
                speaking = False
                quiet_since = None
        elif speaking:
            raw[-1][1] = t + step
    spans: list[Span] = []
    for start, end in raw:
        if end - start < MIN_SPEECH_S:
            continue
        start, end = max(0.0, start - PAD_S), min(duration, end + PAD_S)
        if spans and start <= spans[-1].end:
            spans[-1] = Span(spans[-1].start, end)
        else:
            spans.append(Span(start, end))
    return spans


def find_dialogue(path: Path, duration: float, detector: SpeechDetector | None = None) -> Dialogue:
    """Where people speak in the video at `path` (no soundtrack: no speech, every moment free)."""
    chunks = soundtrack_chunks(path)
    if chunks is None:
        return Dialogue(duration, (), has_audio=False)
    heard = 0

    def counted() -> Iterator[np.ndarray]:
        nonlocal heard
        for chunk in chunks:
            heard += len(chunk)
            yield chunk

    spans = (detector or SpeechDetector()).speech(counted())
    return Dialogue(max(duration, heard / RATE), tuple(spans))
