"""Light, dark and high-contrast themes that meet WCAG 2.2, and following the system's choice.

Every colour the app paints with is in a `Palette`, and the palette and style sheet are made
from it, so `tests/test_themes.py` can check the contrast of what is really applied: text and
placeholders at least 4.5:1 against their background (1.4.3), input borders, button edges and
focus indicators at least 3:1 against what is next to them (1.4.11).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

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
    border_px: int = 2
    focus_px: int = 3


PALETTES: dict[str, Palette] = {
    "light": Palette(
        window="#f4f4f4", text="#111111", base="#ffffff", placeholder="#595959", border="#6b6b6b",
        button="#e4e4e4", focus="#0b57d0", highlight="#0b57d0", highlight_text="#ffffff",
        caption_bg="#ffffff", caption_text="#111111",
    ),
    "dark": Palette(
        window="#1e1e1e", text="#f0f0f0", base="#121212", placeholder="#b0b0b0", border="#9a9a9a",
        button="#2d2d2d", focus="#8ab4f8", highlight="#8ab4f8", highlight_text="#000000",
        caption_bg="#000000", caption_text="#ffffff",
    ),
    "high_contrast": Palette(
        window="#000000", text="#ffffff", base="#000000", placeholder="#d0d0d0", border="#ffffff",
        button="#000000", focus="#ffff00", highlight="#ffff00", highlight_text="#000000",
        caption_bg="#000000", caption_text="#ffff00", border_px=2, focus_px=3,
    ),
}  # fmt: skip


def resolve_theme(theme: str) -> str:
    """`system` becomes light or dark as the platform says (light when it says nothing)."""
    if theme != "system":
        return theme
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def next_theme(current: str) -> str:
    """The next theme that looks different from the current one (system counts as what it shows)."""
    names = list(THEMES)
    shown = resolve_theme(current)
    index = names.index(current)
    for step in range(1, len(names)):
        candidate = names[(index + step) % len(names)]
        if resolve_theme(candidate) != shown:
            return candidate
    return current


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


def history_font_pt(caption_pt: int) -> int:
    """The history's text size for a caption size: grows with it, but six lines must still fit."""
    return min(24, max(12, caption_pt * 3 // 5))


def style_sheet(p: Palette, caption_pt: int) -> str:
    """The style sheet for `p`: borders on every input and button, a thick focus ring, text sizes."""
    inputs = ", ".join(INPUTS)
    focused = ", ".join(f"{name}:focus" for name in INPUTS)
    history_pt = history_font_pt(caption_pt)
    return f"""
        QLabel#caption {{ background: {p.caption_bg}; color: {p.caption_text}; font-size: {caption_pt}pt;
                          font-weight: 600; padding: 12px; }}
        QScrollArea#captionArea {{ background: {p.caption_bg}; border: {p.border_px}px solid {p.border};
                                   border-radius: 6px; }}
        QLabel#captionStatus {{ font-size: {max(11, min(caption_pt // 2, 24))}pt; }}
        QListWidget#history {{ font-size: {history_pt}pt; }}
        {inputs} {{ background: {p.base}; color: {p.text}; border: {p.border_px}px solid {p.border};
                    border-radius: 4px; padding: 4px; selection-background-color: {p.highlight};
                    selection-color: {p.highlight_text}; }}
        QLineEdit {{ font-size: 14pt; padding: 6px; }}
        QPushButton, QToolButton {{ background: {p.button}; color: {p.text};
                                    border: {p.border_px}px solid {p.border}; border-radius: 4px;
                                    font-size: 13pt; padding: 8px 14px; }}
        QPushButton:checked {{ background: {p.highlight}; color: {p.highlight_text}; }}
        QPushButton:disabled {{ color: {p.placeholder}; }}
        {focused}, QPushButton:focus, QToolButton:focus, QCheckBox:focus, QSlider:focus,
        QLabel#caption:focus {{ outline: none; border: {p.focus_px}px solid {p.focus}; }}
        QLabel#sourceLabel {{ font-size: 13pt; font-weight: 600; }}
        QLabel#modelMessage {{ font-size: {max(12, min(caption_pt // 2, 24))}pt; }}
        """


def apply_theme(app: QApplication, theme: str, caption_pt: int) -> str:
    """Set the palette and style sheet for `theme`; return the theme applied."""
    name = resolve_theme(theme)
    colours = PALETTES[name]
    app.setPalette(qt_palette(colours))
    app.setStyleSheet(style_sheet(colours, caption_pt))
    return name
