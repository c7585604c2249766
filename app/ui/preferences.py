"""The user's settings while the app runs: changed from menus, keys and the Settings dialog, and saved.

`Preferences` holds the current settings, saves them atomically, and tells its listener what
changed; the window decides what each change means (a theme, a voice, a model reload).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QDialog, QWidget

from app.config import Settings, save_settings
from app.prompts import Verbosity
from app.ui.settings_dialog import SettingsDialog
from app.ui.theme import THEMES

Applied = Callable[[Settings, Settings], None]  # (old, new) → apply the new settings


class Preferences:
    """Current settings, the commands that change them, and saving."""

    def __init__(
        self,
        settings: Settings,
        *,
        config_path: Path | None,
        apply: Applied,
        say: Callable[[str], None],
        announce: Callable[[str], None],
        show_error: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.config_path = config_path
        self._apply = apply
        self._say = say  # a short note in the caption's status line
        self._announce = announce  # spoken / sent to the screen reader
        self._show_error = show_error

    def update(self, **changes: object) -> None:
        """Change some settings, apply them, and save."""
        self.replace(self.settings.model_copy(update=changes))

    def replace(self, new: Settings) -> None:
        """Use `new` from now on, apply it, and save."""
        old, self.settings = self.settings, new
        self._apply(old, new)
        try:
            save_settings(new, self.config_path)
        except OSError as exc:
            self._show_error(f"Settings could not be saved: {exc.strerror or exc}")

    def open_dialog(self, parent: QWidget, voices: list[str]) -> bool:
        """Show the Settings dialog; apply and save what the user confirms. Whether anything was."""
        dialog = SettingsDialog(self.settings, voices=voices, parent=parent)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.result_settings is None:
            return False
        self.replace(dialog.result_settings)
        self._say("Settings saved.")
        return True

    # --- commands from menus and keys ----------------------------------------------------------
    def toggle_mute(self) -> None:
        """Mute or unmute speech."""
        self.update(muted=not self.settings.muted)
        self._say("Speech muted." if self.settings.muted else "Speech on.")

    def change_rate(self, delta: float) -> None:
        """Speak faster or slower."""
        rate = max(-1.0, min(1.0, round(self.settings.speech_rate + delta, 2)))
        self.update(speech_rate=rate)
        self._say(f"Speech rate {rate:+.1f}")

    def change_font(self, delta: int) -> None:
        """Make the caption text bigger or smaller."""
        self.update(caption_font_pt=max(10, min(96, self.settings.caption_font_pt + delta)))

    def set_theme(self, theme: str) -> None:
        """Switch theme."""
        self.update(theme=theme)

    def next_theme(self) -> None:
        """Cycle system → light → dark → high contrast, and say which."""
        names = list(THEMES)
        theme = names[(names.index(self.settings.theme) + 1) % len(names)]
        self.set_theme(theme)
        self._announce(f"Theme: {THEMES[theme]}")

    def set_verbosity(self, verbosity: Verbosity) -> None:
        """Brief, normal or detailed descriptions."""
        self.update(verbosity=verbosity)
