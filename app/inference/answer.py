"""An answer's text, assembled in one place: clean, without leading white space, trimmed at the end.

A model (or a remote engine) can emit raw control characters (U+0005, U+0014), escape
sequences, bidi overrides or U+FFFD, the mark for bytes that were not valid UTF-8. Random test
weights make them common, real models rare, but one is enough to garble speech, a terminal or
a caption file (`app.plain_text.shown` says what is taken out). `AnswerText` takes streamed
chunks and passes on each one cleaned (the first words without the white space a model often
starts with), so every caller (the caption, speech, history, exports, `describe`, the server)
gets the same text, streamed or whole. Newlines and tabs stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from app.inference.types import GenerationChunk, GenerationResult, GenerationStats
from app.plain_text import shown


class AnswerText:
    """Collects streamed chunks into an answer; see the module docs."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._started = False
        self.stats = GenerationStats()

    def add(self, chunk: GenerationChunk) -> GenerationChunk:
        """Take one chunk; return it as it should be shown (cleaned, never starting with a space)."""
        text = shown(chunk.text)
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        self.stats = chunk.stats
        if text:
            self._parts.append(text)
        return chunk if text == chunk.text else replace(chunk, text=text)

    @property
    def so_far(self) -> str:
        """The answer as it stands (for live captions)."""
        return "".join(self._parts)

    @property
    def text(self) -> str:
        """The finished answer, trimmed."""
        return self.so_far.rstrip()


def collect(chunks: Iterator[GenerationChunk]) -> GenerationResult:
    """Drain a stream into its answer and final statistics."""
    answer = AnswerText()
    for chunk in chunks:
        answer.add(chunk)
    return GenerationResult(answer.text, answer.stats)
