"""Export a video summary as WebVTT (a description track), SRT, Markdown or JSON."""

from __future__ import annotations

from pathlib import Path

from app.files import write_text_atomic
from app.plain_text import json_text, markdown_text, one_line, subrip_text, webvtt_text
from app.timecode import format_cue_time
from app.video.summarize import NOT_DESCRIBED, SegmentResult, VideoSummary

FORMATS = ("vtt", "srt", "md", "json")


def _cues(summary: VideoSummary) -> list[tuple[float, float, str]]:
    """(start, end, text) per segment with text: ordered, non-overlapping, never empty."""
    cues = []
    segs: list[SegmentResult] = sorted(summary.segments, key=lambda r: r.start)
    for i, seg in enumerate(segs):
        # A scene the model failed on is a plain gap: no engine's error text inside a caption cue.
        text = seg.description.strip() or (NOT_DESCRIBED if seg.error else "")
        if not text:
            continue
        end = seg.end
        if i + 1 < len(segs):
            end = min(end, segs[i + 1].start)
        end = max(end, seg.start + 0.5)
        cues.append((seg.start, end, one_line(text)))
    return cues


def to_vtt(summary: VideoSummary) -> str:
    """A WebVTT file players can load as a descriptions track."""
    out = ["WEBVTT", "", "NOTE", f"Described by SmolSight ({webvtt_text(summary.model)}).", ""]
    if summary.partial:
        out += ["NOTE", "Partial result: summarization was stopped before the end.", ""]
    for n, (start, end, text) in enumerate(_cues(summary), start=1):
        out += [
            f"segment-{n}",
            f"{format_cue_time(start, '.')} --> {format_cue_time(end, '.')}",
            webvtt_text(text),
            "",
        ]
    return "\n".join(out)


def to_srt(summary: VideoSummary) -> str:
    """A SubRip file."""
    out = []
    for n, (start, end, text) in enumerate(_cues(summary), start=1):
        out += [
            str(n),
            f"{format_cue_time(start, ',')} --> {format_cue_time(end, ',')}",
            subrip_text(text),
            "",
        ]
    return "\n".join(out)


def to_markdown(summary: VideoSummary) -> str:
    """A readable document: summary first, then each scene with its time range."""
    name = Path(summary.video).name
    out = [f"# {markdown_text(name)}", ""]
    if summary.partial:
        out += ["> **Partial result:** summarization was stopped before the end of the video.", ""]
    if summary.summary:
        out += ["## Summary", "", markdown_text(summary.summary), ""]
    elif summary.summary_error is not None:
        out += ["## Summary", "", f"*Summary missing: {markdown_text(summary.summary_error)}*", ""]
    out += ["## Scenes", ""]
    for seg in summary.segments:
        span = f"{format_cue_time(seg.start, '.')[:8]}–{format_cue_time(seg.end, '.')[:8]}"
        text = markdown_text(seg.description) or f"*{NOT_DESCRIBED.strip('()').capitalize()}.*"
        out.append(f"- **{span}** {text}")
    made = f"{markdown_text(summary.model)} via {markdown_text(summary.backend)}"
    out += ["", f"*{made}, {summary.seconds:.0f} s.*", ""]
    return "\n".join(out)


def to_json(summary: VideoSummary) -> str:
    """Every field, for programs; the video by its file name (a file shared is no map of its maker's disk)."""
    data = summary.to_dict()
    data["video"] = Path(summary.video).name
    return json_text(data)


WRITERS = {"vtt": to_vtt, "srt": to_srt, "md": to_markdown, "json": to_json}


def export(summary: VideoSummary, out_dir: Path, formats: list[str]) -> list[Path]:
    """Write the chosen formats next to each other as `<video name>.smolsight.<ext>`."""
    unknown = [f for f in formats if f not in WRITERS]
    if unknown:
        raise ValueError(f"unknown export format(s): {', '.join(unknown)} (use {', '.join(FORMATS)})")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(summary.video).stem + (".partial" if summary.partial else "")
    paths = []
    for fmt in formats:
        path = out_dir / f"{stem}.smolsight.{fmt}"
        write_text_atomic(path, WRITERS[fmt](summary))
        paths.append(path)
    return paths
