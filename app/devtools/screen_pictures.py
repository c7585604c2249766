"""Screens as people have them, with their true text: the text reader's screen test set.

Each screen is a page of HTML written here (a lock screen, a notification in a corner, an error
dialog, a terminal, subtitles on black, a settings page, a slide, a form error, one message on
black or on white), drawn by a real browser (headless Chromium, Debian's `chromium`) at a real
screen's size and scaling: 1920×1080 and 2560×1440 pixels, at 100 %, 125 % and 150 %, in a
light and a dark theme. Text sizes are what interfaces use (12–16 CSS px for most of it), so a
150 % screen shows 14 px text 21 pixels tall. The true text is the screen's lines in reading
order (columns apart, each top to bottom), as `app.reading.reader.reading_order` reads.

Used by the tests (`tests/integration/test_screen_reading.py`) and `benchmarks/reading.py`.
Chromium must be installed (`.ci/run` installs it); rendering takes about a second per screen.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SIZES = ((1920, 1080), (2560, 1440))
SCALES = (1.0, 1.25, 1.5)
THEMES = ("light", "dark")

_THEME_COLOURS = {
    "light": {"page": "#f3f3f3", "panel": "#ffffff", "ink": "#1b1b1b", "soft": "#5f6368", "line": "#d0d0d0"},
    "dark": {"page": "#1e1f22", "panel": "#2b2d31", "ink": "#e8e8e8", "soft": "#a9acb2", "line": "#3c3f45"},
}


@dataclass(frozen=True)
class Screen:
    """One screen picture: its name, the RGB pixels, and its true lines in reading order."""

    name: str
    image: np.ndarray
    lines: tuple[str, ...]

    @property
    def truth(self) -> str:
        """The true text, one line per line."""
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Layout:
    """A screen's HTML body (positioned in CSS pixels) and its lines in reading order."""

    kind: str
    body: str
    lines: tuple[str, ...]
    background: str = ""  # CSS for the page; the theme's page colour when empty


def _t(text: str, css: str) -> str:
    """A positioned line of text."""
    return f'<div style="position:absolute;white-space:nowrap;{css}">{html.escape(text)}</div>'


def layouts(theme: str, width: int, height: int) -> list[Layout]:
    """Every kind of screen for a theme, at a viewport of `width`×`height` CSS pixels."""
    return [*_alerts(theme, width, height), *_pages(theme, width, height)]


def _colours(theme: str) -> tuple[str, str, str, str, str, str]:
    """Ink, soft ink, panel, line, error and accent colours of a theme."""
    c = _THEME_COLOURS[theme]
    error = "#c5221f" if theme == "light" else "#ff6b6b"
    accent = "#1a73e8" if theme == "light" else "#8ab4f8"
    return c["ink"], c["soft"], c["panel"], c["line"], error, accent


def _alerts(theme: str, width: int, height: int) -> list[Layout]:
    """A lock screen, a notification, an error dialog, a terminal, subtitles."""
    ink, soft, panel, line, error, accent = _colours(theme)
    mid_x, mid_y = width // 2, height // 2
    out = []

    lock_bg = (
        "linear-gradient(160deg,#2a4b6b,#0f2233)"
        if theme == "dark"
        else "linear-gradient(160deg,#cfe3f5,#eef4fa)"
    )
    lock_ink = "#ffffff" if theme == "dark" else "#102030"
    out.append(
        Layout(
            "lock screen",
            _t(
                "10:42",
                f"left:0;right:0;text-align:center;top:{mid_y - 170}px;font-size:96px;font-weight:300;"
                f"color:{lock_ink}",
            )
            + _t(
                "Monday, 7 December",
                f"left:0;right:0;text-align:center;top:{mid_y - 40}px;font-size:22px;color:{lock_ink}",
            )
            + _t(
                "Press Enter to unlock",
                f"left:0;right:0;text-align:center;top:{height - 110}px;font-size:14px;color:{lock_ink}",
            ),
            ("10:42", "Monday, 7 December", "Press Enter to unlock"),
            background=lock_bg,
        )
    )
    desktop = "#20232a" if theme == "dark" else "#3a6ea5"
    toast = (
        f'<div style="position:absolute;right:16px;bottom:56px;width:340px;height:76px;background:{panel};'
        f'border:1px solid {line};border-radius:8px"></div>'
        + _t(
            "Battery low — 5% remaining",
            f"right:110px;bottom:100px;width:230px;font-size:14px;font-weight:bold;color:{ink}",
        )
        + _t(
            "Plug in your charger",
            f"right:110px;bottom:74px;width:230px;font-size:13px;color:{soft}",
        )
    )
    out.append(
        Layout(
            "notification", toast, ("Battery low — 5% remaining", "Plug in your charger"), background=desktop
        )
    )
    out.append(
        Layout(
            "error dialog",
            f'<div style="position:absolute;left:{mid_x - 190}px;top:{mid_y - 80}px;width:380px;height:150px;'
            f'background:{panel};border:1px solid {line};border-radius:6px"></div>'
            + _t(
                "Sign in",
                f"left:{mid_x - 170}px;top:{mid_y - 64}px;font-size:16px;font-weight:bold;color:{ink}",
            )
            + _t(
                "Password incorrect. 2 attempts left.",
                f"left:{mid_x - 170}px;top:{mid_y - 26}px;font-size:14px;color:{error}",
            )
            + f'<div style="position:absolute;left:{mid_x + 90}px;top:{mid_y + 22}px;width:80px;height:30px;'
            f'background:{accent};border-radius:4px"></div>'
            + _t("OK", f"left:{mid_x + 120}px;top:{mid_y + 29}px;font-size:14px;color:#ffffff"),
            ("Sign in", "Password incorrect. 2 attempts left.", "OK"),
        )
    )
    term_bg, term_ink = ("#0c0c0c", "#d0d0d0") if theme == "dark" else ("#ffffff", "#202020")
    term_lines = (
        "anna@laptop:~/project$ make test",
        "python -m pytest tests",
        "FAILED tests/test_config.py::test_load - FileNotFoundError: config.yaml",
        "1 failed, 41 passed in 3.20s",
        "make: *** [Makefile:12: test] Error 1",
    )
    out.append(
        Layout(
            "terminal",
            "".join(
                _t(
                    text,
                    f"left:12px;top:{10 + 20 * i}px;font-family:'DejaVu Sans Mono',monospace;font-size:14px;"
                    f"color:{term_ink}",
                )
                for i, text in enumerate(term_lines)
            ),
            term_lines,
            background=term_bg,
        )
    )
    subtitle_ink = "#ffffff" if theme == "dark" else "#ffff66"
    out.append(
        Layout(
            "subtitles",
            _t(
                "I told you we would be late.",
                f"left:0;right:0;text-align:center;bottom:70px;font-size:28px;color:{subtitle_ink}",
            ),
            ("I told you we would be late.",),
            background="#000000",
        )
    )
    return out


def _pages(theme: str, width: int, height: int) -> list[Layout]:
    """A settings page, a slide, a form error, one message on black or white, a toast."""
    ink, _soft, panel, line, error, accent = _colours(theme)
    mid_x, mid_y = width // 2, height // 2
    out = []
    sidebar = ("Wi-Fi", "Bluetooth", "Display", "Sound", "Notifications", "Privacy")
    settings = "".join(
        _t(text, f"left:32px;top:{90 + 40 * i}px;font-size:14px;color:{accent if text == 'Display' else ink}")
        for i, text in enumerate(sidebar)
    )
    settings += f'<div style="position:absolute;left:240px;top:0;bottom:0;width:1px;background:{line}"></div>'
    main = ("Display", "Scale 125%", "Resolution 1920 x 1080", "Night light: Off")
    settings += _t(main[0], f"left:300px;top:80px;font-size:24px;color:{ink}")
    settings += "".join(
        _t(text, f"left:300px;top:{140 + 44 * i}px;font-size:14px;color:{ink}")
        for i, text in enumerate(main[1:])
    )
    out.append(Layout("settings page", settings, (*sidebar, *main)))
    slide_lines = (
        "Quarterly results",
        "Revenue up 12% on last year",
        "Two new offices opened",
        "Hiring 40 people in spring",
    )
    slide = _t(slide_lines[0], f"left:120px;top:110px;font-size:44px;font-weight:bold;color:{ink}")
    slide += "".join(
        _t("• " + text, f"left:140px;top:{230 + 56 * i}px;font-size:26px;color:{ink}")
        for i, text in enumerate(slide_lines[1:])
    )
    out.append(Layout("slide", slide, (slide_lines[0], *("• " + t for t in slide_lines[1:]))))
    form = (
        _t("Email address", f"left:{mid_x - 160}px;top:{mid_y - 60}px;font-size:13px;color:{ink}")
        + f'<div style="position:absolute;left:{mid_x - 160}px;top:{mid_y - 38}px;width:320px;height:32px;'
        f'border:1px solid {error};border-radius:4px;background:{panel}"></div>'
        + _t("anna@example", f"left:{mid_x - 150}px;top:{mid_y - 31}px;font-size:14px;color:{ink}")
        + _t(
            "Enter a valid email address.",
            f"left:{mid_x - 160}px;top:{mid_y + 2}px;font-size:12px;color:{error}",
        )
    )
    out.append(Layout("form error", form, ("Email address", "anna@example", "Enter a valid email address.")))
    out.append(
        Layout(
            "message on black",
            _t(
                "No signal",
                f"left:0;right:0;text-align:center;top:{mid_y - 22}px;font-size:36px;color:#ffffff",
            ),
            ("No signal",),
            background="#000000",
        )
    )
    out.append(
        Layout(
            "message on white",
            _t("Meeting at 3 pm", f"left:{mid_x - 70}px;top:{mid_y - 10}px;font-size:18px;color:#202020"),
            ("Meeting at 3 pm",),
            background="#ffffff",
        )
    )
    toast_ink = "#ffffff" if theme == "light" else "#202020"
    saved = (
        f'<div style="position:absolute;left:{mid_x - 130}px;bottom:40px;width:260px;height:40px;'
        f'background:{"#323232" if theme == "light" else "#e8e8e8"};border-radius:4px"></div>'
        + _t(
            "File saved to Documents",
            f"left:{mid_x - 110}px;bottom:51px;font-size:14px;color:{toast_ink}",
        )
    )
    out.append(Layout("saved toast", saved, ("File saved to Documents",)))
    return out


def page(layout: Layout, theme: str) -> str:
    """The HTML of one screen."""
    background = layout.background or _THEME_COLOURS[theme]["page"]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        f"html,body{{margin:0;height:100%;overflow:hidden;background:{background};"
        "font-family:'DejaVu Sans',sans-serif}</style></head><body>"
        f"{layout.body}</body></html>"
    )


def chromium() -> str | None:
    """Debian's Chromium, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def render(html_text: str, size: tuple[int, int], scale: float, folder: Path) -> np.ndarray:
    """The page as headless Chromium draws it on a `size` screen at `scale` (RGB)."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("Chromium is not installed (Debian: chromium)")
    source, shot = folder / "screen.html", folder / "screen.png"
    source.write_text(html_text, encoding="utf-8")
    width, height = round(size[0] / scale), round(size[1] / scale)
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", f"--user-data-dir={folder / 'profile'}", f"--window-size={width},{height}",
         f"--force-device-scale-factor={scale}", f"--screenshot={shot}", source.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    picture = cv2.imread(str(shot), cv2.IMREAD_COLOR)
    if picture is None:
        raise RuntimeError("Chromium wrote no screenshot")
    if picture.shape[:2] != (size[1], size[0]):  # rounding of the CSS viewport: fit the screen exactly
        picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(picture[..., ::-1])


def screens(
    sizes: tuple[tuple[int, int], ...] = SIZES,
    scales: tuple[float, ...] = SCALES,
    themes: tuple[str, ...] = THEMES,
    kinds: tuple[str, ...] | None = None,
) -> Iterator[Screen]:
    """Every screen of the set (or the kinds asked for), drawn one after another."""
    with tempfile.TemporaryDirectory(prefix="smolsight-screens-") as name:
        folder = Path(name)
        for size in sizes:
            for scale in scales:
                for theme in themes:
                    viewport = (round(size[0] / scale), round(size[1] / scale))
                    for layout in layouts(theme, *viewport):
                        if kinds is not None and layout.kind not in kinds:
                            continue
                        image = render(page(layout, theme), size, scale, folder)
                        label = f"{layout.kind}, {theme}, {size[0]}x{size[1]} at {round(scale * 100)} %"
                        yield Screen(label, image, layout.lines)
