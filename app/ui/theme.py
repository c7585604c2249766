"""Light, dark and high-contrast themes that meet WCAG 2.2, and following the system's choice.

Every colour the app paints with is in a `Palette`, and the palette and style sheet are made
from it, so `tests/unit/test_themes.py` can check the contrast of what is really applied: text and
placeholders at least 4.5:1 against their background (1.4.3), input borders, button edges and
focus indicators at least 3:1 against what is next to them (1.4.11). Disabled controls, which
WCAG exempts, are held to the same: their text and their dashed edges stay readable, and
differ from enabled ones in colour and edge.

Text sizes: the one text-size setting (the caption's size, Ctrl++ / Ctrl+-) sizes all text:
menus, labels, buttons, fields and dialogs through the application font, the history and
summaries a little larger, the caption largest. The desktop's own font size is the floor,
and the platform's scaling (e.g. 200 %) applies on top, as Qt's points always do.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.config import DisplaySettings, bounds

THEMES = {"system": "Follow the system", "light": "Light", "dark": "Dark", "high_contrast": "High contrast"}

# Every widget a person types into or chooses from: each gets a visible border and focus ring.
INPUTS = ("QLineEdit", "QComboBox", "QSpinBox", "QDoubleSpinBox", "QListWidget", "QTableWidget", "QTextEdit")


@dataclass(frozen=True)
class Palette:
    """The colours of one theme."""

    window: str  # window background
    text: str  # text on the window and in inputs
    base: str  # input background
    placeholder: str  # hint text inside empty inputs
    border: str  # input and button edges
    button: str  # button background
    focus: str  # focus indicator
    highlight: str  # selection background
    highlight_text: str
    caption_bg: str
    caption_text: str
    disabled: str  # text and (dashed) edge of a control that can't be used now
    border_px: int = 2
    focus_px: int = 3


PALETTES: dict[str, Palette] = {
    "light": Palette(
        window="#f4f4f4", text="#111111", base="#ffffff", placeholder="#595959", border="#6b6b6b",
        button="#e4e4e4", focus="#0b57d0", highlight="#0b57d0", highlight_text="#ffffff",
        caption_bg="#ffffff", caption_text="#111111", disabled="#5c5c5c",
    ),
    "dark": Palette(
        window="#1e1e1e", text="#f0f0f0", base="#121212", placeholder="#b0b0b0", border="#9a9a9a",
        button="#2d2d2d", focus="#8ab4f8", highlight="#8ab4f8", highlight_text="#000000",
        caption_bg="#000000", caption_text="#ffffff", disabled="#a6a6a6",
    ),
    "high_contrast": Palette(
        window="#000000", text="#ffffff", base="#000000", placeholder="#d0d0d0", border="#ffffff",
        button="#000000", focus="#ffff00", highlight="#ffff00", highlight_text="#000000",
        caption_bg="#000000", caption_text="#ffff00", disabled="#a6a6a6", border_px=2, focus_px=3,
    ),
}  # fmt: skip


def resolve_theme(theme: str) -> str:
    """`system` becomes light or dark as the platform says (light when it says nothing)."""
    if theme != "system":
        return theme
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def theme_cycle() -> list[str]:
    """The order the theme key goes through: every theme once, each step changing what is seen.

    "Follow the system" looks like light or dark, so that one comes two steps after it:
    system (light) → dark → light → high contrast → system, or system (dark) → light → dark →
    high contrast → system.
    """
    shown = resolve_theme("system")
    other = "dark" if shown == "light" else "light"
    return ["system", other, shown, "high_contrast"]


def next_theme(current: str) -> str:
    """The theme after `current` in `theme_cycle()`."""
    cycle = theme_cycle()
    return cycle[(cycle.index(current) + 1) % len(cycle)]


def theme_name(theme: str) -> str:
    """What to say when a theme is chosen: 'Dark', or 'Follow the system (light)'."""
    label = THEMES[theme]
    return f"{label} ({THEMES[resolve_theme(theme)].lower()})" if theme == "system" else label


def qt_palette(p: Palette) -> QPalette:
    """The QPalette for `p` (every role the app's widgets use, placeholders included)."""
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, p.window),
        (QPalette.ColorRole.WindowText, p.text),
        (QPalette.ColorRole.Base, p.base),
        (QPalette.ColorRole.AlternateBase, p.button),
        (QPalette.ColorRole.Text, p.text),
        (QPalette.ColorRole.PlaceholderText, p.placeholder),
        (QPalette.ColorRole.Button, p.button),
        (QPalette.ColorRole.ButtonText, p.text),
        (QPalette.ColorRole.Highlight, p.highlight),
        (QPalette.ColorRole.HighlightedText, p.highlight_text),
        (QPalette.ColorRole.ToolTipBase, p.base),
        (QPalette.ColorRole.ToolTipText, p.text),
        (QPalette.ColorRole.Link, p.focus),
    ):
        palette.setColor(role, QColor(colour))
    return palette


@dataclass(frozen=True)
class TextSizes:
    """The app's text sizes, in points, for one text-size setting (the caption's size)."""

    caption: int  # the live description
    ui: int  # menus, labels, buttons, fields, dialogs
    long_text: int  # the history, summaries and scene lists: read at length, a little larger

    @classmethod
    def for_caption(cls, caption_pt: int, system_pt: float = 0.0) -> TextSizes:
        """Sizes for `caption_pt` (the caption setting's whole range): the interface grows from 11 to 28 pt.

        Never below the desktop's own font size (`system_pt`).
        """
        low, high = bounds(DisplaySettings, "caption_font_pt")
        ui = round(11 + (caption_pt - low) * (28 - 11) / (high - low))
        ui = max(ui, round(system_pt))
        long_text = max(ui, min(32, round(caption_pt * 0.6)))
        return cls(caption=max(caption_pt, ui), ui=ui, long_text=long_text)


def style_sheet(p: Palette, sizes: TextSizes) -> str:
    """The style sheet for `p`: borders on every input and button, a thick focus ring, text sizes."""
    inputs = ", ".join(INPUTS)
    focused = ", ".join(f"{name}:focus" for name in INPUTS)
    disabled = ", ".join(f"{name}:disabled" for name in (*INPUTS, "QPushButton", "QToolButton"))
    return f"""
        QWidget {{ font-size: {sizes.ui}pt; }}
        QLabel#caption {{ background: {p.caption_bg}; color: {p.caption_text}; font-size: {sizes.caption}pt;
                          font-weight: 600; }}
        QScrollArea#captionArea {{ background: {p.caption_bg}; border: {p.border_px}px solid {p.border};
                                   border-radius: 6px; }}
        QLabel#summaryText {{ background: {p.caption_bg}; color: {p.caption_text};
                              font-size: {sizes.long_text}pt; }}
        QLabel#captionStatus {{ font-size: {sizes.long_text}pt; }}
        QListWidget#history {{ font-size: {sizes.long_text}pt; }}
        {inputs} {{ background: {p.base}; color: {p.text}; border: {p.border_px}px solid {p.border};
                    border-radius: 4px; padding: 4px; selection-background-color: {p.highlight};
                    selection-color: {p.highlight_text}; }}
        QLineEdit {{ padding: 6px; min-width: 6em; }}
        QComboBox {{ min-width: 5em; }}
        QPushButton, QToolButton {{ background: {p.button}; color: {p.text};
                                    border: {p.border_px}px solid {p.border}; border-radius: 4px;
                                    padding: 8px 14px; }}
        QPushButton:checked {{ background: {p.highlight}; color: {p.highlight_text}; }}
        {disabled} {{ background: {p.window}; color: {p.disabled};
                      border: {p.border_px}px dashed {p.disabled}; }}
        {focused}, QPushButton:focus, QToolButton:focus, QCheckBox:focus, QSlider:focus,
        QLabel#caption:focus {{ outline: none; border: {p.focus_px}px solid {p.focus}; }}
        QLabel#sourceLabel {{ font-weight: 600; }}
        QLabel#modelMessage {{ font-size: {sizes.long_text}pt; }}
        """


def apply_theme(app: QApplication, theme: str, caption_pt: int) -> str:
    """Set the palette, the application font and the style sheet for `theme`; the theme applied."""
    name = resolve_theme(theme)
    colours = PALETTES[name]
    sizes = TextSizes.for_caption(caption_pt, system_font_pt(app))
    font = QFont(app.font())
    font.setPointSize(sizes.ui)
    app.setFont(font)
    app.setPalette(qt_palette(colours))
    app.setStyleSheet(style_sheet(colours, sizes))
    return name


def system_font_pt(app: QApplication) -> float:
    """The desktop's own font size, as it was before SmolSight set its own."""
    saved = app.property("smolsight-system-font-pt")
    if saved is None:
        saved = app.font().pointSizeF()
        app.setProperty("smolsight-system-font-pt", saved)
    return float(saved)
