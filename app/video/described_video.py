"""Write a described video: the original picture and sound, plus an "Audio description" track.

PyAV (FFmpeg, bundled in its wheels) does the work in one pass over the file, so memory stays
small however long the video is. Standard mode copies the picture and the original sound as
they are (no re-encoding: nothing is lost and the length is kept) and adds a second audio track:
the original sound, ducked under each description while it is said, with the narration mixed
in. The track is titled "Audio description", has a language, and is marked for the visually
impaired, so players list it by name.

Extended mode holds the picture while a description that didn't fit its pause is said
(`Cue.hold`): the picture is re-encoded (H.264) with the held frame repeated, and both audio
tracks get that much silence from the film at that point. The video is longer by the holds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from app.inference.types import CancelToken
from app.video.describer import DescriptionPlan
from app.video.voice import Speech

AUDIO_RATE = 48_000
DUCK_GAIN = 0.3  # the film's sound under a description: about -10 dB
RAMP_S = 0.25  # fade down before a description and back up after it
NARRATION_PEAK = 0.8
TITLE = "Audio description"
# Codecs an MP4 file carries as they are; anything else is re-encoded.
COPY_VIDEO = {"h264", "hevc", "mpeg4", "av1", "vp9", "mjpeg"}
COPY_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}


class DescribeCancelled(Exception):
    """The user stopped writing the described video (nothing was left behind)."""


class DescribedVideoError(Exception):
    """The described video could not be written (the message says why)."""


@dataclass(frozen=True)
class Narration:
    """One description's speech, at its place in the output's own time."""

    start: float
    samples: np.ndarray  # mono float32 at AUDIO_RATE

    @property
    def end(self) -> float:
        """When it has been said."""
        return self.start + len(self.samples) / AUDIO_RATE


def for_the_mix(speech: Speech) -> np.ndarray:
    """Speech at AUDIO_RATE, its peak at NARRATION_PEAK."""
    x = speech.samples.astype(np.float32)
    if speech.rate != AUDIO_RATE and len(x):
        n = round(len(x) * AUDIO_RATE / speech.rate)
        x = np.interp(np.arange(n) * speech.rate / AUDIO_RATE, np.arange(len(x)), x).astype(np.float32)
    peak = float(np.abs(x).max()) if len(x) else 0.0
    return x * (NARRATION_PEAK / peak) if peak > 0 else x


def narrations(plan: DescriptionPlan) -> list[Narration]:
    """Each cue's speech placed in the output's time (later by the holds before it)."""
    out, held = [], 0.0
    for cue in plan.cues:
        if cue.speech is not None:
            out.append(Narration(cue.start + held, for_the_mix(cue.speech)))
        held += cue.hold
    return out


class Mixer:
    """The description track, chunk by chunk: the film's sound ducked under narration, plus it."""

    def __init__(self, parts: list[Narration]) -> None:
        self.parts = parts

    def gain(self, pos: int, n: int) -> np.ndarray:
        """The film's gain for output samples pos..pos+n."""
        t = (pos + np.arange(n)) / AUDIO_RATE
        g = np.ones(n, np.float32)
        for part in self.parts:
            if part.end + RAMP_S < t[0] or part.start - RAMP_S > t[-1]:
                continue
            outside = np.maximum(part.start - t, t - part.end)  # > 0 before or after it
            g = np.minimum(g, DUCK_GAIN + (1 - DUCK_GAIN) * np.clip(outside / RAMP_S, 0, 1))
        return g

    def mix(self, pos: int, chunk: np.ndarray) -> np.ndarray:
        """Stereo `chunk` (2, n) at output sample `pos`, ducked and with narration added."""
        n = chunk.shape[1]
        out = chunk * self.gain(pos, n)
        for part in self.parts:
            a = round(part.start * AUDIO_RATE)
            lo, hi = max(pos, a), min(pos + n, a + len(part.samples))
            if lo < hi:
                out[:, lo - pos : hi - pos] += part.samples[lo - a : hi - a]
        return np.asarray(np.clip(out, -1.0, 1.0), np.float32)


class Timeline:
    """The film's sound in the output's time: silence inserted where the picture is held."""

    def __init__(self, holds: list[tuple[float, float]]) -> None:
        self.holds = [(round(t * AUDIO_RATE), round(h * AUDIO_RATE)) for t, h in holds if h > 0]
        self.inserted = 0  # samples of silence inserted so far

    def place(self, pos: int, chunk: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """(output position, samples) for the film's stereo `chunk` at its own sample `pos`."""
        while self.holds and self.holds[0][0] < pos + chunk.shape[1]:
            at, length = self.holds.pop(0)
            cut = max(0, at - pos)
            if cut:
                yield pos + self.inserted, chunk[:, :cut]
            yield pos + cut + self.inserted, np.zeros((2, length), np.float32)
            self.inserted += length
            chunk, pos = chunk[:, cut:], pos + cut
        if chunk.shape[1]:
            yield pos + self.inserted, chunk

    def finish(self, pos: int) -> Iterator[tuple[int, np.ndarray]]:
        """Holds after the film's sound ended (at its sample `pos`): silence for each."""
        for _at, length in self.holds:
            yield pos + self.inserted, np.zeros((2, length), np.float32)
            self.inserted += length
        self.holds = []


def _audio_frame(samples: np.ndarray, pos: int) -> Any:
    import av

    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples, np.float32), format="fltp", layout="stereo"
    )
    frame.sample_rate = AUDIO_RATE
    frame.pts = pos
    frame.time_base = Fraction(1, AUDIO_RATE)
    return frame


def write_described_video(
    source: Path,
    plan: DescriptionPlan,
    out: Path,
    *,
    language: str = "eng",
    progress: Callable[[float], None] | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write `out` (MP4) from `source` and the plan (see the module docs); returns `out`.

    Written to a temporary file beside `out` and renamed when whole: a stopped or failed
    run leaves nothing behind. Raises DescribeCancelled or DescribedVideoError.
    """
    import av

    tmp = out.with_name(f".{out.stem}.part.mp4")
    try:
        with (
            av.open(str(source)) as src,
            av.open(str(tmp), "w", format="mp4", options={"movflags": "faststart"}) as dst,
        ):
            _write(src, dst, plan, language, progress or (lambda _f: None), cancel)
        os.replace(tmp, out)
    except DescribeCancelled:
        tmp.unlink(missing_ok=True)
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise DescribedVideoError(f"could not write {out.name}: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


@dataclass
class _Outputs:
    """The described video's streams: the picture, the film's own sound, the descriptions' track."""

    video: Any
    pictures: _Pictures | None  # the picture re-encoded (extended cues hold it; a codec that can't be copied)
    original: Any | None  # the film's sound, copied or re-encoded; None when it has none
    copy_original: bool
    descriptions: Any


def _add_streams(src: Any, dst: Any, plan: DescriptionPlan, language: str) -> tuple[Any, Any, _Outputs]:
    """The input's picture and sound streams, and the output streams made for them."""
    import av

    extended = any(c.extended for c in plan.cues)
    if not src.streams.video:
        raise DescribedVideoError("the file has no picture")
    in_v = src.streams.video[0]
    in_a = src.streams.audio[0] if src.streams.audio else None
    pictures = None
    if extended or in_v.codec_context.name not in COPY_VIDEO:
        fps = in_v.average_rate or in_v.guessed_rate or Fraction(25)
        out_v = dst.add_stream("libx264", rate=fps)
        out_v.width, out_v.height = in_v.width // 2 * 2, in_v.height // 2 * 2
        out_v.pix_fmt = "yuv420p"
        out_v.time_base = out_v.codec_context.time_base = Fraction(1, 90_000)  # holds fall between frames
        # No B-frames: with the uneven timestamps a hold makes, x264's reordering can repeat a DTS.
        out_v.options = {"preset": "veryfast", "crf": "20", "bf": "0"}
        pictures = _Pictures(out_v, [(c.start, c.hold) for c in plan.cues if c.hold > 0], in_v)
    else:
        out_v = dst.add_stream_from_template(in_v)
    out_orig = None
    copy_orig = in_a is not None and not extended and in_a.codec_context.name in COPY_AUDIO
    if in_a is not None:
        if copy_orig:
            out_orig = dst.add_stream_from_template(in_a)
        else:
            out_orig = dst.add_stream("aac", rate=AUDIO_RATE)
            out_orig.layout = "stereo"
            out_orig.metadata.update(in_a.metadata)
    out_d = dst.add_stream("aac", rate=AUDIO_RATE)
    out_d.layout = "stereo"
    out_d.bit_rate = 128_000
    out_d.metadata.update({"title": TITLE, "handler_name": TITLE, "language": language})
    out_d.disposition = av.stream.Disposition.descriptions | av.stream.Disposition.visual_impaired
    return in_v, in_a, _Outputs(out_v, pictures, out_orig, copy_orig, out_d)


class _Soundtrack:
    """The film's sound and the descriptions' track, written in step, holds lengthening both."""

    def __init__(self, dst: Any, out: _Outputs, plan: DescriptionPlan) -> None:
        import av

        self.dst = dst
        self.out = out
        self.timeline = Timeline([(c.start, c.hold) for c in plan.cues if c.hold > 0])
        self.mixer = Mixer(narrations(plan))
        self.resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        self.read = 0  # samples of the film's sound read so far (its own time)
        self.written = 0  # output samples written to the description track

    def _encode(self, pairs: Iterator[tuple[int, np.ndarray]]) -> None:
        """Write (output time, samples) pairs: the film's sound (when re-encoded) and the mix."""
        for at, samples in pairs:
            if self.out.original is not None and not self.out.copy_original:
                for p in self.out.original.encode(_audio_frame(samples, at)):
                    self.dst.mux(p)
            for p in self.out.descriptions.encode(_audio_frame(self.mixer.mix(at, samples), at)):
                self.dst.mux(p)
            self.written = at + samples.shape[1]

    def add(self, frames: Any) -> None:
        """The film's decoded sound frames (None flushes); sound that starts late gets silence first."""
        for frame in frames:
            if frame is not None and self.read == 0 and frame.time:
                lead = round(max(0.0, float(frame.time)) * AUDIO_RATE)
                self._encode(self.timeline.place(0, np.zeros((2, lead), np.float32)))
                self.read = lead
            for r in self.resampler.resample(frame):
                chunk = r.to_ndarray().reshape(2, -1)
                self._encode(self.timeline.place(self.read, chunk))
                self.read += chunk.shape[1]

    def silence(self, seconds: float) -> None:
        """No sound in the film: the descriptions are said over silence as long as the video."""
        end = round(seconds * AUDIO_RATE)
        for at in range(0, end, AUDIO_RATE):
            self._encode(self.timeline.place(at, np.zeros((2, min(AUDIO_RATE, end - at)), np.float32)))
        self.read = end

    def finish(self) -> None:
        """The last holds, and a description still being said when the film's sound ended."""
        self._encode(self.timeline.finish(self.read))
        spoken_to = max((round(p.end * AUDIO_RATE) for p in self.mixer.parts), default=0)
        if spoken_to > self.written:
            self._encode(iter([(self.written, np.zeros((2, spoken_to - self.written), np.float32))]))

    def flush(self) -> None:
        """The encoders' last packets."""
        for stream in (self.out.original, self.out.descriptions):
            if stream is not None and not (stream is self.out.original and self.out.copy_original):
                for p in stream.encode():
                    self.dst.mux(p)


def _write(
    src: Any,
    dst: Any,
    plan: DescriptionPlan,
    language: str,
    progress: Callable[[float], None],
    cancel: CancelToken | None,
) -> None:
    """Copy (or re-encode) the picture and the film's sound into `dst`, with the descriptions' track."""
    in_v, in_a, out = _add_streams(src, dst, plan, language)
    sound = _Soundtrack(dst, out, plan)
    duration = plan.dialogue.duration
    for n, packet in enumerate(src.demux(*[s for s in (in_v, in_a) if s is not None])):
        if n % 64 == 0:
            if cancel is not None and cancel.cancelled:
                raise DescribeCancelled
            if packet.pts is not None and duration > 0:
                progress(min(1.0, float(packet.pts * packet.time_base) / duration))
        if packet.stream is in_a:
            sound.add(packet.decode())
            if out.copy_original and packet.dts is not None:
                packet.stream = out.original
                dst.mux(packet)
        elif out.pictures is not None:
            for frame in packet.decode():
                out.pictures.add(frame, dst)
        elif packet.dts is not None:
            packet.stream = out.video
            dst.mux(packet)
    if in_a is not None:
        sound.add([None])  # flushes the resampler
    else:
        sound.silence(duration)
    sound.finish()
    if out.pictures is not None:
        out.pictures.finish(dst)
    sound.flush()
    progress(1.0)


class _Pictures:
    """Re-encodes the picture, repeating the held frame through each hold."""

    def __init__(self, out: Any, holds: list[tuple[float, float]], source: Any) -> None:
        self.out = out
        self.holds = list(holds)
        self.step = 1 / float(source.average_rate or source.guessed_rate or 25)
        self.shift = 0.0
        self.last: Any = None
        self.pts = -1

    def _encode(self, frame: Any, t: float, dst: Any) -> None:
        frame = frame.reformat(width=self.out.width, height=self.out.height, format="yuv420p")
        self.pts = max(round(t * 90_000), self.pts + 1)  # strictly increasing, whatever the rounding
        frame.pts = self.pts
        frame.time_base = Fraction(1, 90_000)
        for p in self.out.encode(frame):
            dst.mux(p)

    def _hold(self, upto: float | None, current: Any, dst: Any) -> None:
        # A frame within a millisecond of a hold's time is the one held (timestamps are rounded).
        while self.holds and (upto is None or self.holds[0][0] < upto - 0.001):
            at, length = self.holds.pop(0)
            held = self.last if self.last is not None else current
            if held is None:
                continue
            t = at + self.shift
            steps = max(1, round(length / self.step))
            for k in range(1, steps + 1):  # after the held frame's own time, up to the hold's end
                self._encode(held, t + k * length / steps, dst)
            self.shift += length

    def add(self, frame: Any, dst: Any) -> None:
        """Encode a decoded frame at its place in the output's time (after any hold before it)."""
        t = float(frame.time or 0.0)
        self._hold(t, frame, dst)
        self._encode(frame, t + self.shift, dst)
        self.last = frame

    def finish(self, dst: Any) -> None:
        """Holds at the very end, then flush the encoder."""
        self._hold(None, None, dst)
        for p in self.out.encode():
            dst.mux(p)
