"""What every backend is wrapped in: say only what was seen.

`SeeingBackend` stands in front of any backend (local or remote) that `backend_factory`
builds, so the app, `describe`, `narrate`, summaries and the HTTP server all get it:

- a request whose pictures are all black, nearly black or one even colour is answered at once
  with a plain sentence (`app/reading/blank.py`) and never reaches the model;
- a request that asks for it (`GenerationRequest.read_text`) has its picture's text (a clip's
  middle frame's) read by the text reader (`app/reading/reader.py`): the model is told not to
  read it, and the answer ends with the reader's words, verbatim, instead of the model's guess.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

from app.capture.frames import to_rgb_array
from app.inference.backend import VisionBackend
from app.inference.types import (
    BackendInfo,
    CancelToken,
    GenerationChunk,
    GenerationRequest,
    GenerationStats,
    LoadProgressCallback,
)
from app.reading.blank import nothing_to_see
from app.reading.reader import NO_TEXT, ReaderError, ReadText, TextReader, shared_reader, what_it_says

DONT_READ = (
    "The text in this picture is read out separately, word for word: do not read or quote it; "
    "say what kind of thing carries it (a sign, a label, a screen)."
)


def quoted(read: ReadText) -> str:
    """The reader's text as the answer's last sentence: each line in quotes, in reading order."""
    lines = [f"\u201c{line.text}\u201d" for line in read.lines]
    return "The text reads: " + ", ".join(lines) + "."


class SeeingBackend:
    """Answers pictures with nothing in them itself; quotes the text reader when asked."""

    def __init__(self, inner: VisionBackend, reader: TextReader | None = None) -> None:
        self.inner = inner
        self._reader = reader

    @property
    def info(self) -> BackendInfo:
        """The wrapped backend's."""
        return self.inner.info

    @property
    def note(self) -> str:
        """The wrapped backend's note (the fallback's reason), if it has one."""
        return str(getattr(self.inner, "note", ""))

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        """Load the wrapped backend; the text reader starts beside it, on a thread of its own."""
        (self._reader or shared_reader()).warm_up_in_background()
        self.inner.load(progress)

    def warm_up(self) -> None:
        """Warm the wrapped backend up, then wait for the text reader, which started beside it (`load`).

        The first description reads its picture first: ready means both are.
        """
        self.inner.warm_up()
        (self._reader or shared_reader()).wait_started()

    def close(self) -> None:
        """Close the wrapped backend."""
        self.inner.close()

    def __getattr__(self, name: str) -> object:
        """Anything else (a backend's `source`, `recompile`) is the wrapped backend's."""
        if name == "inner":  # not set yet (a copy being made): no endless lookup
            raise AttributeError(name)
        return getattr(self.inner, name)

    def stream(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[GenerationChunk]:
        """The model's answer, or the sentence for a picture with nothing in it."""
        start = time.perf_counter()
        said = [nothing_to_see(to_rgb_array(frame.image)) for frame in request.frames]
        read = self._read(request)
        if said and all(said) and not read:  # text the reader finds overrides "black" or "blank"
            stats = GenerationStats(total_s=time.perf_counter() - start, finish_reason="stop")
            yield GenerationChunk(str(said[-1]), stats)
            return
        if not read:
            yield from self.inner.stream(request, cancel)
            return
        system = f"{request.system}\n{DONT_READ}" if request.system else DONT_READ
        asked = dataclasses.replace(request, system=system, read_text=False)
        last: GenerationStats | None = None
        ending = ""  # the end of the model's words so far: it decides the space before the quote
        for chunk in self.inner.stream(asked, cancel):
            last = chunk.stats
            ending = (ending + chunk.text)[-2:]
            if chunk.stats.finish_reason is None:
                yield chunk
                continue
            if chunk.text:
                yield GenerationChunk(chunk.text, dataclasses.replace(chunk.stats, finish_reason=None))
            break
        if last is None or last.finish_reason == "cancelled":
            if last is not None:
                yield GenerationChunk("", last)
            return
        space = "" if not ending or ending[-1].isspace() else " "
        yield GenerationChunk(space + quoted(read), last)

    def _read(self, request: GenerationRequest) -> ReadText | None:
        """The text of the picture, or of a clip's middle frame; None when there is none."""
        if not request.read_text or not request.frames:
            return None
        reader = self._reader or shared_reader()
        middle = request.frames[len(request.frames) // 2]
        try:
            return reader.read(to_rgb_array(middle.image)) or None
        except ReaderError:
            return None  # the description still comes; the reader's trouble is said by `read`


class ReaderOnlyBackend:
    """No vision-language model at all: every picture's text, read as written.

    For `smolsight narrate --read`: reading needs no model download, so none is loaded.
    """

    def __init__(self, reader: TextReader | None = None) -> None:
        self._reader = reader

    @property
    def info(self) -> BackendInfo:
        """The text reader, on the CPU."""
        return BackendInfo("text reader", "PP-OCRv6 (small)", "cpu", "fp32")

    def load(self, progress: LoadProgressCallback | None = None) -> None:
        """Nothing to load before the first picture."""

    def warm_up(self) -> None:
        """Load the reader's models now, so the first reading is not slow."""
        (self._reader or shared_reader()).warm_up()

    def close(self) -> None:
        """Nothing to release."""

    def stream(
        self, request: GenerationRequest, cancel: CancelToken | None = None
    ) -> Iterator[GenerationChunk]:
        """The last picture's text, or "No text found."."""
        start = time.perf_counter()
        text = ""
        if request.frames:
            picture = to_rgb_array(request.frames[-1].image)
            text = what_it_says((self._reader or shared_reader()).read(picture), picture)
        stats = GenerationStats(total_s=time.perf_counter() - start, finish_reason="stop")
        yield GenerationChunk(text or NO_TEXT, stats)
