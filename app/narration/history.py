"""The description history the user can review, copy and export (text, Markdown, JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from app.files import write_text_atomic
from app.narration.policy import Mode
from app.plain_text import json_text, markdown_text, one_line
from app.timecode import format_clock

EXPORT_FORMATS = {".txt": "Plain text", ".md": "Markdown", ".json": "JSON"}


@dataclass(frozen=True)
class HistoryEntry:
    """One description or answer as the user saw it."""

    source_time: float  # seconds into the source
    wall_time: str  # ISO 8601, local time
    mode: Mode
    text: str
    question: str = ""
    source: str = ""

    def line(self) -> str:
        """One readable line: '[00:12] text' or '[00:12] Q: … A: …'."""
        stamp = f"[{format_clock(self.source_time)}]"
        if self.question:
            return f"{stamp} Q: {self.question} A: {self.text}"
        return f"{stamp} {self.text}"


def export_text(entries: list[HistoryEntry]) -> str:
    """One line per entry."""
    return "".join(one_line(e.line()) + "\n" for e in entries)


def export_markdown(entries: list[HistoryEntry], title: str = "SmolSight descriptions") -> str:
    """A Markdown list with times, questions in bold."""
    lines = [f"# {markdown_text(title)}", ""]
    for e in entries:
        stamp = format_clock(e.source_time)
        if e.question:
            lines.append(
                f"- **{stamp}** — **Q:** {markdown_text(e.question)}  \n  **A:** {markdown_text(e.text)}"
            )
        else:
            lines.append(f"- **{stamp}** — {markdown_text(e.text)}")
    return "\n".join(lines) + "\n"


def export_json(entries: list[HistoryEntry]) -> str:
    """A JSON document with every field."""
    return json_text({"entries": [asdict(e) for e in entries]})


def write_export(entries: list[HistoryEntry], path: Path) -> Path:
    """Write `entries` in the format named by the file suffix (.txt, .md, .json), atomically."""
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format '{suffix or path.name}': use .txt, .md or .json")
    text = {".txt": export_text, ".md": export_markdown, ".json": export_json}[suffix](entries)
    write_text_atomic(path, text)
    return path


class History:
    """What was described, newest last; kept only while `enabled`. Plain Python, no Qt."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.entries: list[HistoryEntry] = []

    def add(self, entry: HistoryEntry) -> bool:
        """Keep `entry` (when enabled); whether it was kept."""
        if not self.enabled:
            return False
        self.entries.append(entry)
        return True

    def clear(self) -> None:
        """Forget every entry."""
        self.entries.clear()

    def export(self, path: Path) -> Path:
        """Write the entries to `path` (.txt, .md or .json); raises ValueError or OSError."""
        if not self.entries:
            raise ValueError("The history is empty: nothing to export.")
        return write_export(self.entries, path)

    def __len__(self) -> int:
        return len(self.entries)
