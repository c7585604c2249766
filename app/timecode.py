"""Times as people read them: MM:SS for places in a video or camera session; cue times for tracks."""

from __future__ import annotations

from datetime import datetime


def now_iso() -> str:
    """The local time now, to the second (ISO 8601, with the time zone)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def format_clock(seconds: float) -> str:
    """MM:SS (minutes keep counting past 59), as used before each frame of a clip."""
    s = max(0, int(seconds))
    return f"{s // 60:02d}:{s % 60:02d}"


def format_cue_time(seconds: float, sep: str = ".") -> str:
    """HH:MM:SS.mmm for WebVTT (`sep` "," for SubRip)."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"
