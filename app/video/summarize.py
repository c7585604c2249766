"""Summarize a video: describe each scene as a timestamped clip, then write an overall summary.

Runs on the model thread, as a task handed to it (the summary window and `smolsight summarize`
alike): `summarize()` takes a loaded backend, reports progress through a callback, checks a cancel
token between and during model calls, and always returns a result. A cancelled run returns
the segments finished so far, marked partial; a segment the model fails on is recorded with
its error and the rest continue; a summary the model fails on is recorded as missing, with
its reason (`summary_error`). `VideoSummary.gaps` says in words what is missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.capture.frames import spread
from app.capture.media import probe_video
from app.config import SummarySettings
from app.inference.answer import collect
from app.inference.backend import BackendError, VisionBackend
from app.inference.types import CancelToken, GenerationRequest
from app.prompts import Detail, segment_prompt, summary_prompt
from app.timecode import format_clock, now_iso
from app.video.segments import SegmentSettings, iter_segments


@dataclass(frozen=True)
class SegmentResult:
    """One scene: when, what the model said (or why it could not), what it cost."""

    index: int
    start: float
    end: float
    description: str
    frame_times: tuple[float, ...]
    error: str | None = None
    seconds: float = 0.0
    prompt_tokens: int = 0


NOT_DESCRIBED = "(not described)"  # a scene the model failed on, in exports: the reason is in the JSON


@dataclass
class VideoSummary:
    """Everything a summarization produced; exported and saved as is."""

    video: str
    duration: float
    segments: list[SegmentResult]
    summary: str
    model: str
    backend: str
    settings: dict[str, object]
    partial: bool = False
    seconds: float = 0.0
    created: str = ""
    notes: list[str] = field(default_factory=list)  # what the engine said once (e.g. clips cut down)
    summary_error: str | None = None  # why there is no summary, when the model failed to write it

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping."""
        return asdict(self)

    @property
    def failed(self) -> list[SegmentResult]:
        """The scenes the model could not describe."""
        return [seg for seg in self.segments if seg.error]

    @property
    def gaps(self) -> list[str]:
        """What is missing from a run that finished, in words ("summary missing: …"); [] when whole."""
        missing = []
        if self.summary_error is not None:
            missing.append(f"summary missing: {self.summary_error}")
        if self.failed:
            reasons = "; ".join(sorted({seg.error or "" for seg in self.failed}))
            missing.append(f"{len(self.failed)} of {len(self.segments)} scenes not described: {reasons}")
        return missing

    @property
    def described_nothing(self) -> bool:
        """Whether every scene failed (there is nothing worth writing)."""
        return bool(self.segments) and len(self.failed) == len(self.segments)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> VideoSummary:
        """The inverse of `to_dict` (for JSON read back from disk)."""
        raw: Any = data  # JSON: shapes are checked by the dataclass constructors below
        segs = [SegmentResult(**{**s, "frame_times": tuple(s["frame_times"])}) for s in raw["segments"]]
        return cls(**{**raw, "segments": segs})


@dataclass(frozen=True)
class Progress:
    """How far a summarization is, for progress bars."""

    fraction: float  # 0..1 of the video's duration covered
    eta_s: float | None
    message: str
    segment: SegmentResult | None = None  # the segment just finished, if any


def summarize(
    path: Path,
    backend: VisionBackend,
    settings: SummarySettings | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
    read_text: bool = False,
) -> VideoSummary:
    """Describe every segment of the video at `path`, then summarize; see the module docs.

    `read_text`: a scene's text is quoted from the text reader (`app/inference/seeing.py`).
    """
    s = settings or SummarySettings()
    cutting = SegmentSettings.of(s)
    info = probe_video(path)  # MediaError for bad files, before any model work
    started = time.monotonic()
    results: list[SegmentResult] = []
    notes: list[str] = []
    prompt, max_tokens = segment_prompt(s.detail)
    partial = False
    report = progress or (lambda _p: None)
    report(Progress(0.0, None, "Reading the video…"))
    for raw in iter_segments(path, cutting):
        if cancel is not None and cancel.cancelled:
            partial = True
            break
        frames = spread(raw.frames, s.frames_per_segment)
        request = GenerationRequest(
            prompt=prompt, frames=frames, max_tokens=max_tokens, as_video=True, read_text=read_text
        )
        t0 = time.monotonic()
        try:
            out = collect(backend.stream(request, cancel))
            error = None
            text = out.text
            tokens = out.stats.prompt_tokens
            if out.stats.note and out.stats.note not in notes:
                notes.append(out.stats.note)
            if out.stats.finish_reason == "cancelled":
                partial = True
                break
        except BackendError as exc:
            text, error, tokens = "", str(exc), 0
        except Exception as exc:  # one bad segment must not lose the others
            text, error, tokens = "", f"{type(exc).__name__}: {exc}", 0
        result = SegmentResult(
            index=raw.index,
            start=raw.start,
            end=raw.end,
            description=text,
            frame_times=tuple(f.timestamp for f in frames),
            error=error,
            seconds=time.monotonic() - t0,
            prompt_tokens=tokens,
        )
        results.append(result)
        done = min(1.0, raw.end / info.duration) if info.duration > 0 else 0.0
        elapsed = time.monotonic() - started
        eta = elapsed / done * (1 - done) if done > 0 else None
        span = f"{format_clock(raw.start)}–{format_clock(raw.end)}"
        said = f"Could not describe {span}" if error else f"Described {span}"
        report(Progress(done, eta, said, result))
    summary, summary_error = "", None
    if not partial and results:
        report(Progress(1.0, 0.0, "Writing the summary…"))
        summary, summary_error = _summary(backend, results, s.detail, cancel)
        partial = cancel is not None and cancel.cancelled
    info_b = backend.info
    return VideoSummary(
        video=str(path),
        duration=info.duration,
        segments=results,
        summary=summary,
        model=info_b.model_name,  # a summary is shared: no home folder or server address in it
        backend=info_b.engine_name,
        settings={**s.model_dump(), **asdict(cutting)},
        partial=partial,
        seconds=time.monotonic() - started,
        created=now_iso(),
        notes=notes,
        summary_error=summary_error,
    )


def _summary(
    backend: VisionBackend, results: list[SegmentResult], detail: Detail, cancel: CancelToken | None
) -> tuple[str, str | None]:
    """A text-only pass over the segment descriptions: (the summary, why it is missing or None)."""
    lines = [
        f"[{format_clock(r.start)}-{format_clock(r.end)}] {r.description}" for r in results if r.description
    ]
    if not lines:
        return "", None  # no scene was described: said as such, not as a summary missing
    text, max_tokens = summary_prompt(lines, detail)
    try:
        out = collect(backend.stream(GenerationRequest(prompt=text, max_tokens=max_tokens), cancel))
    except BackendError as exc:
        return "", str(exc)
    except Exception as exc:  # the scenes are kept whatever the summary does
        return "", f"{type(exc).__name__}: {exc}"
    if out.stats.finish_reason == "cancelled":
        return "", None  # stopped: the run is marked partial
    if not out.text.strip():
        return "", "the model wrote nothing"
    return out.text, None
