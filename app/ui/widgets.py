"""Small widget helpers shared by the app's windows."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QPushButton


def make_button(text: str, description: str, slot: Callable[[], object] | None = None) -> QPushButton:
    """A push button named and described for screen readers, with a tooltip, calling `slot`."""
    button = QPushButton(text)
    button.setAccessibleName(text.replace("&", ""))
    button.setAccessibleDescription(description)
    button.setToolTip(description)
    if slot is not None:
        button.clicked.connect(lambda _checked=False: slot())
    return button


def on_click(button: QPushButton, slot: Callable[[], object]) -> None:
    """Call `slot()` when `button` is clicked (ignoring the checked flag)."""
    button.clicked.connect(lambda _checked=False: slot())


def name_popup(box: QComboBox) -> None:
    """Name a combo box's popup list after the box, for screen readers (Qt leaves it unnamed)."""
    box.view().setAccessibleName(f"{box.accessibleName()} choices")
