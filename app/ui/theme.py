"""Light, dark and high-contrast themes, and following the system's choice."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = {"system": "Follow the system", "light": "Light", "dark": "Dark", "high_contrast": "High contrast"}

# (window, text, base, button, highlight, highlighted text, caption background, caption text)
_COLOURS = {
    "light": ("#f4f4f4", "#111111", "#ffffff", "#e6e6e6", "#0b57d0", "#ffffff", "#ffffff", "#111111"),
    "dark": ("#1e1e1e", "#f0f0f0", "#121212", "#2d2d2d", "#8ab4f8", "#000000", "#000000", "#ffffff"),
    "high_contrast": ("#000000", "#ffffff", "#000000", "#000000", "#ffff00", "#000000", "#000000", "#ffff00"),
}


def resolve_theme(theme: str) -> str:
    """`system` becomes light, dark or high contrast as the platform says."""
    if theme != "system":
        return theme
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return "dark"
    if scheme == Qt.ColorScheme.Light:
        return "light"
    return "light"


def apply_theme(app: QApplication, theme: str, caption_pt: int) -> str:
    """Set the palette and style sheet for `theme`; return the theme applied."""
    name = resolve_theme(theme)
    window, text, base, button, highlight, hl_text, cap_bg, cap_text = _COLOURS[name]
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, button),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, button),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.Highlight, highlight),
        (QPalette.ColorRole.HighlightedText, hl_text),
        (QPalette.ColorRole.ToolTipBase, base),
        (QPalette.ColorRole.ToolTipText, text),
    ):
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)
    border = "3px solid #ffff00" if name == "high_contrast" else f"2px solid {highlight}"
    app.setStyleSheet(
        f"""
        QLabel#caption {{ background: {cap_bg}; color: {cap_text}; font-size: {caption_pt}pt;
                          font-weight: 600; padding: 12px; border-radius: 6px; }}
        QLabel#captionStatus {{ font-size: {max(11, caption_pt // 2)}pt; }}
        QListWidget#history {{ font-size: {max(12, caption_pt * 3 // 5)}pt; }}
        QPushButton {{ font-size: 13pt; padding: 8px 14px; }}
        QLineEdit {{ font-size: 14pt; padding: 6px; }}
        *:focus {{ outline: none; border: {border}; }}
        QLabel#sourceLabel {{ font-size: 13pt; font-weight: 600; }}
        """
    )
    return name
