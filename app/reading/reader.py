"""The text reader: printed text read as written, by a dedicated OCR model, not guessed.

A 500M vision-language model reads short text poorly and, worse, invents it with full
confidence (a medicine label, a bus number). A dedicated reader does not: PP-OCRv6 (small),
the detector and recogniser that ship inside the `rapidocr` wheel (Apache-2.0 models, about
31 MB), run here on OpenVINO, the runtime the CPU engine already uses. Nothing is downloaded:
the reader works offline in the default install, without PyTorch and without the
vision-language model. `docs/reading.md` has the measurements behind the choice.

The reader returns lines in reading order (`reading_order`): columns apart, each top to
bottom, each line left to right.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.reading.regions import Box, text_regions

log = logging.getLogger(__name__)

NO_TEXT = "No text found."
# The recogniser's confidence below which a line is left out. Measured on the test set
# (`app/devtools/text_pictures.py`): every true line scored 0.90 or more; on scikit-image's
# photographs without text, shapes read as text ("O" for a disc, "0000", "8") scored 0.66-0.82.
MIN_SCORE = 0.85
MIN_SCORE_SHORT = 0.9  # for a line of at most four characters: a lone shape reads as one

# Pictures up to this size on their longer side are read whole, their shorter side enlarged to
# `ENLARGED_TO` for the detector (PP-OCR's own sizing, what the camera-like figures were
# measured with); larger ones (screens) region by region, each region at its own size, shrunk
# only beyond `REGION_LIMIT` (docs/reading.md has the measurements).
WHOLE = 1280
ENLARGED_TO = 736
REGION_LIMIT = 1920

# Names for the language codes the shipped recogniser (PP-OCRv6 small: one model for all of
# them) lists: Latin-script languages, Chinese and Japanese. `languages()` asks rapidocr.
LANGUAGE_NAMES: dict[str, str] = {
    "af": "Afrikaans", "az": "Azerbaijani", "bs": "Bosnian", "ca": "Catalan",
    "ch": "Chinese (simplified)", "chinese_cht": "Chinese (traditional)", "cs": "Czech",
    "cy": "Welsh", "da": "Danish", "de": "German", "en": "English", "es": "Spanish",
    "et": "Estonian", "eu": "Basque", "fi": "Finnish", "fr": "French", "ga": "Irish",
    "gl": "Galician", "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian", "is": "Icelandic",
    "it": "Italian", "japan": "Japanese", "ku": "Kurdish", "la": "Latin", "lb": "Luxembourgish",
    "lt": "Lithuanian", "lv": "Latvian", "mi": "Maori", "ms": "Malay", "mt": "Maltese",
    "nl": "Dutch", "no": "Norwegian", "oc": "Occitan", "pl": "Polish", "pt": "Portuguese",
    "qu": "Quechua", "rm": "Romansh", "ro": "Romanian", "rs_latin": "Serbian (Latin)",
    "sk": "Slovak", "sl": "Slovenian", "sq": "Albanian", "sv": "Swedish", "sw": "Swahili",
    "tl": "Tagalog", "tr": "Turkish", "uz": "Uzbek", "vi": "Vietnamese",
}  # fmt: skip


def languages() -> dict[str, str]:
    """The languages the shipped reader reads: code → name (rapidocr's own list)."""
    from rapidocr.utils.model_resolver import list_supported_langs
    from rapidocr.utils.typings import ModelType, OCRVersion, TaskType

    codes = list_supported_langs(TaskType.REC, OCRVersion.PPOCRV6, ModelType.SMALL)
    return {code: LANGUAGE_NAMES.get(code, code) for code in codes if code not in ("french", "german")}


class ReaderError(Exception):
    """The reader can't run here, or can't read this language: one plain sentence."""


def language_problem(language: str) -> str | None:
    """Why the shipped reader can't read `language` (a code such as `en` or `ar`), or None."""
    known = languages()
    if language in known:
        return None
    listed = ", ".join(sorted(f"{name} ({code})" for code, name in known.items()))
    return f"The text reader can't read '{language}'. It reads: {listed}."


@dataclass(frozen=True)
class TextLine:
    """One line of text as read, how sure, and where it is.

    `box` is left, top, right, bottom in pixels, measured along the text's lines (a tilted
    picture is turned level first).
    """

    text: str
    box: tuple[float, float, float, float]
    score: float


@dataclass(frozen=True)
class ReadText:
    """What the reader found in one picture, in reading order."""

    lines: tuple[TextLine, ...]
    seconds: float = 0.0

    @property
    def text(self) -> str:
        """One line per line, as written; empty when there is none."""
        return "\n".join(line.text for line in self.lines)

    def __bool__(self) -> bool:
        return bool(self.lines)


def what_it_says(read: ReadText, picture: np.ndarray) -> str:
    """The text as read; when there is none, "No text found.", and why for a picture with nothing in it.

    The reader reads first: text it finds always overrides "black" or "blank".
    """
    if read:
        return read.text
    from app.reading.blank import nothing_to_see

    blank = nothing_to_see(picture)
    return f"{NO_TEXT} {blank}" if blank else NO_TEXT


def reading_order(lines: Sequence[TextLine]) -> tuple[TextLine, ...]:
    """Columns apart (left to right), each read top to bottom, each line left to right.

    Columns are the runs of text between vertical gutters: x-ranges that no line covers. A
    heading that spans the columns joins them into one (read as rows, top to bottom).
    """
    if not lines:
        return ()
    columns: list[list[TextLine]] = []
    spans: list[list[float]] = []
    for line in sorted(lines, key=lambda item: item.box[0]):
        left, _, right, _ = line.box
        if spans and left <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], right)
            columns[-1].append(line)
        else:
            spans.append([left, right])
            columns.append([line])
    ordered: list[TextLine] = []
    for column in columns:
        ordered.extend(_rows(column))
    return tuple(ordered)


def _rows(column: list[TextLine]) -> list[TextLine]:
    """Top to bottom; pieces whose middles share a row's height go left to right."""
    rows: list[list[TextLine]] = []
    for line in sorted(column, key=lambda item: (item.box[1] + item.box[3]) / 2):
        middle = (line.box[1] + line.box[3]) / 2
        if rows:
            last = rows[-1][0]
            if last.box[1] <= middle <= last.box[3]:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [piece for row in rows for piece in sorted(row, key=lambda item: item.box[0])]


class TextReader:
    """PP-OCRv6 on OpenVINO; `read` may be called from any thread (one reading at a time)."""

    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads or min(4, os.cpu_count() or 1)
        self._engine: object | None = None
        self._lock = threading.Lock()
        self._warming: threading.Thread | None = None

    def warm_up_in_background(self) -> None:
        """Start `warm_up` on a thread of its own and return at once (once; a reading waits for it).

        The engines call this as they start loading the vision-language model: the reader's
        start (about 2 s on 2 cores: importing rapidocr, compiling, a first reading) then runs
        beside the model's instead of after it (docs/performance.md).
        """
        with self._lock:
            if self._engine is not None or self._warming is not None:
                return
            self._warming = threading.Thread(
                target=self._warm_quietly, name="smolsight-reader-start", daemon=True
            )
            self._warming.start()
            # A process that ends while OpenVINO compiles on this thread would abort ("terminate
            # called without an active exception"): it waits for the start to end first.
            atexit.register(self.wait_started)

    def wait_started(self) -> None:
        """Wait for `warm_up_in_background` to finish (at once when it was never started)."""
        warming = self._warming
        if warming is not None:
            warming.join()

    def _warm_quietly(self) -> None:
        try:
            self.warm_up()
        except ReaderError as exc:  # said again, in its place, by the first reading that needs it
            log.warning("The text reader could not start: %s", exc)

    def _load(self) -> object:
        try:
            from rapidocr import EngineType, RapidOCR
        except ImportError as exc:  # a broken install: say what is missing
            raise ReaderError(f"The text reader is not installed ({exc}); reinstall SmolSight.") from exc
        for name in ("RapidOCR", "rapidocr"):
            logging.getLogger(name).setLevel(logging.ERROR)
        params = {
            "Global.log_level": "error",
            "Global.use_cls": False,  # upright text (camera, screen): the angle model costs time
            "Det.engine_type": EngineType.OPENVINO,
            "Global.max_side_len": 4096,  # no shrinking before the detector: `_size_detector` decides
            "Rec.engine_type": EngineType.OPENVINO,
            "Cls.engine_type": EngineType.OPENVINO,
            "EngineConfig.openvino.inference_num_threads": self._threads,
        }
        try:
            _compile_settings_for_rapidocr()
            engine = RapidOCR(params=params)
        except Exception as exc:
            raise ReaderError(f"The text reader could not start ({type(exc).__name__}: {exc}).") from exc
        return engine

    def warm_up(self) -> None:
        """Load the models now and read a camera-sized picture once, so the first reading is not slow."""
        frame = np.full((480, 640, 3), 255, np.uint8)
        frame[236:244, 40:600] = 0  # something to detect: the recogniser runs too
        self.read(frame)

    def read(self, rgb: np.ndarray) -> ReadText:
        """The text in an RGB picture, in reading order (`ReadText.text`; empty when none).

        A picture up to `WHOLE` pixels on its longer side (a camera frame, a label, a window) is
        read whole, the detector enlarging it as PP-OCR does; a larger one (a screen) region by
        region, each region at its own resolution (`app.reading.regions`).
        """
        start = time.perf_counter()
        height, width = rgb.shape[:2]
        rgb = rgb if rgb.ndim == 3 else np.repeat(rgb[..., None], 3, axis=2)
        screen = max(height, width) > WHOLE
        regions = text_regions(rgb) if screen else [Box(0, 0, width, height)]
        pieces: list[tuple[np.ndarray, str, float]] = []
        with self._lock:
            if self._engine is None:
                self._engine = self._load()
            _size_detector(self._engine, screen=screen)
            for box in regions:
                crop = np.ascontiguousarray(rgb[box.top : box.bottom, box.left : box.right, ::-1])
                result = self._engine(crop)  # type: ignore[operator]
                found = getattr(result, "boxes", None)
                texts = getattr(result, "txts", None) or ()
                scores = getattr(result, "scores", None) or ()
                for points, text, score in zip(
                    found if found is not None else (), texts, scores, strict=False
                ):
                    where = np.asarray(points, dtype=np.float64) + np.array([box.left, box.top])
                    pieces.append((where, " ".join(str(text).split()), float(score)))
        kept = [
            (points, text, score)
            for points, text, score in pieces
            if text and score >= (MIN_SCORE_SHORT if len(text) <= 4 else MIN_SCORE)
        ]
        turn = _untilt([points for points, _, _ in kept])
        lines = []
        for points, text, score in kept:
            upright = points @ turn.T
            xs, ys = upright[:, 0], upright[:, 1]
            lines.append(TextLine(text, (xs.min(), ys.min(), xs.max(), ys.max()), score))
        return ReadText(reading_order(lines), time.perf_counter() - start)


# How the reader's two networks are compiled, on top of rapidocr's own settings (threads).
# float32 arithmetic on every CPU: OpenVINO picks bfloat16 where the CPU has it, and measured
# here (AVX512-BF16, 2 cores) float32 was faster for both (recogniser, 6 lines × 1200 px: 0.21 s
# against 0.36 s; detector, a 1920×1088 screen: 0.30 s against 0.39 s), and it reads the same on
# every CPU, so readings don't depend on the machine. Kernels are kept for at most 50 input
# sizes: regions come in many sizes, and the default (5000) let a reader of screens grow by
# 0.15 GB over 40 screens; 50 costs no time here.
COMPILE_SETTINGS = {"INFERENCE_PRECISION_HINT": "f32", "CPU_RUNTIME_CACHE_CAPACITY": "50"}


def _compile_settings_for_rapidocr() -> None:
    """Make rapidocr's OpenVINO sessions compile with `COMPILE_SETTINGS` (once per process).

    rapidocr has no setting for these: its sessions take their OpenVINO configuration from
    `CPUConfig.get_config`, which is given a subclass adding ours (compiling twice instead
    cost 0.4 s of every start).
    """
    from rapidocr.inference_engine.openvino import main as sessions

    base = getattr(sessions, "CPUConfig")  # noqa: B009 - not in the module's exports (mypy)
    if getattr(base, "smolsight", False):
        return

    class WithOurSettings(base):  # type: ignore[misc,valid-type]
        smolsight = True

        def get_config(self) -> dict[str, object]:
            return {**super().get_config(), **COMPILE_SETTINGS}

    setattr(sessions, "CPUConfig", WithOurSettings)  # noqa: B010 - as above


def _size_detector(engine: object, *, screen: bool) -> None:
    """How the detector sizes what it is given: PP-OCR's enlargement, or each region as it is.

    rapidocr's detector reads `limit_type` and `limit_side_len` on every call
    (`TextDetector.get_preprocess`); a release without them keeps its own sizing.
    """
    load = getattr(engine, "_load_det_model", None)
    detector = load() if callable(load) else None
    if detector is None or not hasattr(detector, "limit_type"):
        return
    detector.limit_type, detector.limit_side_len = ("max", REGION_LIMIT) if screen else ("min", ENLARGED_TO)


def _untilt(quads: list[np.ndarray]) -> np.ndarray:
    """The rotation that makes the text's lines level: the median slope of the boxes' top edges.

    A picture taken at a tilt puts the pieces of one line at different heights; read level,
    they share a row again. The detector gives each piece's corners clockwise from top left.
    """
    angles = [
        np.arctan2(q[1, 1] - q[0, 1], q[1, 0] - q[0, 0])
        for q in quads
        if len(q) == 4 and q[1, 0] - q[0, 0] > abs(q[3, 1] - q[0, 1])  # wider than tall
    ]
    angle = float(np.median(angles)) if angles else 0.0
    cos, sin = np.cos(-angle), np.sin(-angle)
    return np.array([[cos, -sin], [sin, cos]])


_shared: TextReader | None = None
_shared_lock = threading.Lock()


def shared_reader() -> TextReader:
    """The process's one reader (its models are loaded on first use and kept)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TextReader()
        return _shared
