"""Times as people read them: MM:SS for places in a video or camera session."""

from __future__ import annotations


def format_clock(seconds: float) -> str:
    """MM:SS (minutes keep counting past 59), as used before each frame of a clip."""
    s = max(0, int(seconds))
    return f"{s // 60:02d}:{s % 60:02d}"
