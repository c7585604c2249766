"""Small widget helpers shared by the app's windows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QPushButton


def make_button(text: str, description: str, slot: Callable[[], Any]) -> QPushButton:
    """A push button named and described for screen readers, with a tooltip, calling `slot`."""
    button = QPushButton(text)
    button.setAccessibleName(text.replace("&", ""))
    button.setAccessibleDescription(description)
    button.setToolTip(description)
    button.clicked.connect(lambda _checked=False: slot())
    return button
