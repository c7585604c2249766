"""Camera-like pictures of printed English with their true text: the text reader's test set.

Each picture is a sign, a label, a dialog or a card set in a real font, then degraded as a
phone or webcam picture is: tilt, perspective, blur, JPEG, uneven light, a textured surface,
a lower resolution. `character_error_rate` scores a reading against the truth. Used by the
tests (`tests/integration/test_reading.py`) and `benchmarks/reading.py`; seeded, so every run
builds the same pictures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/TTF"))
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf")

# (kind, lines): what a blind person points a camera at and needs read exactly.
TEXTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sign", ("Platform 4", "Trains to Leeds")),
    ("label", ("Ibuprofen 200 mg", "Take 1 tablet every 6 hours")),
    ("dialog", ("Save changes to report.docx?", "Save   Don't Save   Cancel")),
    ("card", ("Wi-Fi: CafeGuest", "Password: blue-river-72")),
    ("bus", ("Route 38 Central Station",)),
    ("door", ("Room 214", "Staff only")),
    ("notice", ("Lift out of order", "Please use the stairs")),
    ("receipt", ("Total 23.40 EUR", "Card payment accepted")),
    ("mail", ("Your appointment is on", "Tuesday 14 March at 9:30")),
)

# How each picture is degraded; every text gets each in turn (name → parameters).
DEGRADATIONS: tuple[tuple[str, dict[str, float]], ...] = (
    ("clean", {}),
    ("tilt", {"angle": 6.0}),
    ("perspective", {"perspective": 0.08}),
    ("blur", {"blur": 1.6}),
    ("jpeg", {"jpeg": 35}),
    ("uneven light", {"light": 0.55}),
    ("texture", {"texture": 28.0}),
    ("small", {"scale": 0.6}),
    ("all at once", {"angle": -4.0, "blur": 1.0, "jpeg": 50, "light": 0.35, "texture": 14.0}),
)


@dataclass(frozen=True)
class TextPicture:
    """One test picture: what it shows, how it was degraded, its true lines."""

    name: str
    image: np.ndarray  # RGB uint8
    lines: tuple[str, ...]

    @property
    def truth(self) -> str:
        """The true text, one line per line."""
        return "\n".join(self.lines)


def fonts() -> list[Path | None]:
    """Font files found on this machine (DejaVu, from Debian's fonts-dejavu-core); None: Pillow's own."""
    found: list[Path | None] = [
        folder / name for folder in FONT_DIRS for name in FONT_FILES if (folder / name).is_file()
    ]
    return found or [None]


def font_of(choice: Path | None, size: int) -> ImageFont.FreeTypeFont:
    """A font file (None: Pillow's own) at `size` pixels."""
    if choice is not None:
        return ImageFont.truetype(str(choice), size)
    return ImageFont.load_default(size=size)  # type: ignore[return-value]


def _render(lines: tuple[str, ...], font: ImageFont.FreeTypeFont, rng: np.random.Generator) -> np.ndarray:
    """Dark text on a light panel, with a margin of background around it."""
    paper = tuple(int(v) for v in rng.integers(205, 250, 3))
    ink = tuple(int(v) for v in rng.integers(0, 60, 3))
    gap = int(font.size * 0.5)
    widths = [int(font.getlength(line)) for line in lines]
    width = max(widths) + 2 * font.size
    height = len(lines) * (font.size + gap) + 2 * font.size
    panel = Image.new("RGB", (width, height), paper)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(panel)
    for i, line in enumerate(lines):
        draw.text((font.size, font.size + i * (font.size + gap)), line, fill=ink, font=font)  # type: ignore[arg-type]
    return np.asarray(panel)


def _degrade(image: np.ndarray, p: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    out = image.astype(np.float32)
    if p.get("texture"):
        grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 3)
        out += (grain / (grain.std() + 1e-6) * p["texture"])[..., None]
    if p.get("light"):
        ramp = np.linspace(1.0 - p["light"], 1.0, w, dtype=np.float32)[None, :, None]
        out *= ramp
    out = np.clip(out, 0, 255).astype(np.uint8)
    border = tuple(int(v) for v in rng.integers(60, 140, 3))
    if p.get("angle"):
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), p["angle"], 1.0)
        out = cv2.warpAffine(out, matrix, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    if p.get("perspective"):
        d = p["perspective"]
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        dst = np.array([[w * d, h * d], [w * (1 - d / 2), 0], [w, h], [0, h * (1 - d)]], np.float32)
        out = cv2.warpPerspective(out, cv2.getPerspectiveTransform(src, dst), (w, h), borderValue=border)
    if p.get("blur"):
        out = cv2.GaussianBlur(out, (0, 0), p["blur"])
    if p.get("scale"):
        out = cv2.resize(out, None, fx=p["scale"], fy=p["scale"], interpolation=cv2.INTER_AREA)
    if p.get("jpeg"):
        ok, data = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(p["jpeg"])])
        assert ok
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
        assert decoded is not None
        out = decoded[..., ::-1]
    return np.ascontiguousarray(out)


def text_pictures(seed: int = 7, size: int = 34) -> list[TextPicture]:
    """Every text under every degradation (81 pictures), fonts taken in turn; the same each run."""
    rng = np.random.default_rng(seed)
    choices = fonts()
    pictures = []
    for i, (kind, lines) in enumerate(TEXTS):
        for j, (how, params) in enumerate(DEGRADATIONS):
            font = font_of(choices[(i + j) % len(choices)], size)
            image = _degrade(_render(lines, font, rng), params, rng)
            pictures.append(TextPicture(f"{kind}, {how}", image, lines))
    return pictures


def normalise(text: str) -> str:
    """Lines joined by one space, runs of white space as one: reading order counts, layout not."""
    return " ".join(text.split())


def character_error_rate(pairs: list[tuple[str, str]]) -> float:
    """Σ edits(read, truth) / Σ len(truth), over (read, truth) pairs, after `normalise`."""
    from rapidfuzz.distance import Levenshtein

    edits = sum(Levenshtein.distance(normalise(read), normalise(truth)) for read, truth in pairs)
    return edits / max(1, sum(len(normalise(truth)) for _, truth in pairs))


def document_screenshot(seed: int = 3) -> TextPicture:
    """A 1920×1080 screenshot of a text-heavy window: title bar, menu, a page of 15 px prose."""
    rng = np.random.default_rng(seed)
    choices = fonts()
    body, heading, title = font_of(choices[0], 15), font_of(choices[0], 22), font_of(choices[0], 16)
    shot = Image.new("RGB", (1920, 1080), (32, 33, 36))
    draw = ImageDraw.Draw(shot)
    lines = ["Quarterly report - Document Editor", "File  Edit  View  Insert  Format  Tools  Help"]
    draw.rectangle((0, 0, 1920, 34), fill=(222, 222, 222))
    draw.text((12, 8), lines[0], fill=(0, 0, 0), font=title)
    draw.rectangle((0, 34, 1920, 64), fill=(245, 245, 245))
    draw.text((12, 41), lines[1], fill=(0, 0, 0), font=body)
    draw.rectangle((260, 80, 1660, 1060), fill=(255, 255, 255))
    words = (
        "the quarterly figures show steady growth in every region while costs stayed within "
        "the budget agreed in March"
    ).split()
    draw.text((320, 110), "Quarterly report", fill=(20, 20, 20), font=heading)
    lines.append("Quarterly report")
    for i in range(32):  # as many lines as the page holds: the truth is what can be seen
        line = " ".join(rng.choice(words, int(rng.integers(10, 16)))).capitalize() + "."
        draw.text((320, 154 + 28 * i), line, fill=(20, 20, 20), font=body)
        lines.append(line)
    return TextPicture("a 1080p document window", np.asarray(shot), tuple(lines))
