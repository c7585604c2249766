"""Every theme meets WCAG 2.2 contrast, measured on the palette and style sheet the app really applies."""

from __future__ import annotations

import re

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui.theme import INPUTS, PALETTES, apply_theme

TEXT = 4.5  # 1.4.3: text and images of text
NON_TEXT = 3.0  # 1.4.11: borders of inputs and buttons, focus indicators


def luminance(colour: str) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    q = QColor(colour)
    return 0.2126 * channel(q.red()) + 0.7152 * channel(q.green()) + 0.0722 * channel(q.blue())


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def rules(sheet: str) -> dict[str, dict[str, str]]:
    """Each selector's declarations in a (flat) Qt style sheet."""
    found: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", sheet):
        parts = (d.partition(":") for d in body.split(";"))
        declarations = {name.strip(): value.strip() for name, _, value in parts if value}
        for selector in selectors.split(","):
            found.setdefault(selector.strip(), {}).update(declarations)
    return found


def colour_of(declaration: str) -> str:
    match = re.search(r"#[0-9a-fA-F]{6}", declaration)
    assert match, declaration
    return match.group(0)


@pytest.mark.parametrize("theme", list(PALETTES))
def test_every_input_type_meets_the_contrast_rules(qtbot: QtBot, theme: str) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, theme, 28)
    palette, sheet = app.palette(), rules(app.styleSheet())
    window = palette.color(QPalette.ColorRole.Window).name()
    placeholder = palette.color(QPalette.ColorRole.PlaceholderText).name()
    for name in INPUTS:
        style = sheet[name]
        base, text, border = (
            colour_of(style["background"]),
            colour_of(style["color"]),
            colour_of(style["border"]),
        )
        assert contrast(text, base) >= TEXT, (theme, name, "text")
        assert contrast(placeholder, base) >= TEXT, (theme, name, "placeholder")
        assert contrast(border, base) >= NON_TEXT, (theme, name, "border against the field")
        assert contrast(border, window) >= NON_TEXT, (theme, name, "border against the window")
        focus = colour_of(sheet[f"{name}:focus"]["border"])
        assert contrast(focus, base) >= NON_TEXT and contrast(focus, window) >= NON_TEXT, (
            theme,
            name,
            "focus",
        )
        assert int(re.search(r"(\d+)px", sheet[f"{name}:focus"]["border"]).group(1)) >= 2  # type: ignore[union-attr]
    button = sheet["QPushButton"]
    button_bg, button_text = colour_of(button["background"]), colour_of(button["color"])
    assert contrast(button_text, button_bg) >= TEXT, (theme, "button text")
    assert contrast(colour_of(button["border"]), window) >= NON_TEXT, (theme, "button edge")
    assert contrast(colour_of(sheet["QPushButton:focus"]["border"]), window) >= NON_TEXT
    checked = sheet["QPushButton:checked"]
    assert contrast(colour_of(checked["color"]), colour_of(checked["background"])) >= TEXT
    assert contrast(colour_of(sheet["QPushButton:disabled"]["color"]), button_bg) >= TEXT, (theme, "disabled")
    caption = sheet["QLabel#caption"]
    assert contrast(colour_of(caption["color"]), colour_of(caption["background"])) >= TEXT
    for role_text, role_bg in (
        (QPalette.ColorRole.WindowText, QPalette.ColorRole.Window),
        (QPalette.ColorRole.Text, QPalette.ColorRole.Base),
        (QPalette.ColorRole.HighlightedText, QPalette.ColorRole.Highlight),
        (QPalette.ColorRole.ButtonText, QPalette.ColorRole.Button),
        (QPalette.ColorRole.ToolTipText, QPalette.ColorRole.ToolTipBase),
    ):
        assert contrast(palette.color(role_text).name(), palette.color(role_bg).name()) >= TEXT, (
            theme,
            role_text,
        )


def test_high_contrast_is_the_strongest(qtbot: QtBot) -> None:
    p = PALETTES["high_contrast"]
    assert contrast(p.text, p.base) == pytest.approx(21.0)
    assert contrast(p.border, p.base) == pytest.approx(21.0)


@pytest.mark.parametrize("theme", list(PALETTES))
def test_disabled_controls_are_readable_and_look_disabled(qtbot: QtBot, theme: str) -> None:
    """Disabled controls: 3:1 against what is next to them (WCAG 2.2 1.4.11), and unlike enabled ones."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, theme, 28)
    sheet = rules(app.styleSheet())
    window = app.palette().color(QPalette.ColorRole.Window).name()
    for name in (*INPUTS, "QPushButton"):
        enabled, disabled = sheet[name], sheet[f"{name}:disabled"]
        background, text = colour_of(disabled["background"]), colour_of(disabled["color"])
        edge = colour_of(disabled["border"])
        assert contrast(text, background) >= NON_TEXT, (theme, name, "disabled text")
        assert contrast(edge, background) >= NON_TEXT and contrast(edge, window) >= NON_TEXT, (theme, name)
        # Different from the enabled control in its text colour and in its edge (dashed, not solid).
        assert text != colour_of(enabled["color"]), (theme, name, "same text colour as enabled")
        assert "dashed" in disabled["border"] and "solid" in enabled["border"], (theme, name)


def test_the_theme_key_reaches_every_theme_and_each_press_changes_what_is_seen(qtbot: QtBot) -> None:
    from app.ui.theme import THEMES, next_theme, resolve_theme

    for start in THEMES:
        seen, theme = [start], start
        for _ in range(len(THEMES) - 1):
            after = next_theme(theme)
            assert resolve_theme(after) != resolve_theme(theme), (theme, after)
            seen.append(after)
            theme = after
        assert sorted(seen) == sorted(THEMES), f"from {start}: {seen}"
        assert next_theme(theme) == start  # and round again
