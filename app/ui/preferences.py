"""The user's settings while the app runs: changed from menus, keys and the Settings dialog, and saved.

`Preferences` holds two sets: what the settings file says (`saved`) and what this run uses
(`settings`: the file plus this run's command-line flags). A change the user makes in the
window goes into both and the file is saved; a flag such as `--model` is never written to
the file. It tells its listener what changed; the window decides what each change means.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QDialog, QWidget

from app.config import Settings, save_settings
from app.prompts import Verbosity
from app.ui.settings_dialog import SettingsDialog
from app.ui.theme import next_theme, theme_name

Applied = Callable[[Settings, Settings], None]  # (old, new) → apply the new settings


class Preferences:
    """Current settings, the commands that change them, and saving."""

    def __init__(
        self,
        settings: Settings,
        *,
        saved: Settings | None = None,
        config_path: Path | None,
        apply: Applied,
        say: Callable[[str], None],
        announce: Callable[[str], None],
        show_error: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.saved = saved if saved is not None else settings  # what the file holds
        self.config_path = config_path
        self._apply = apply
        self._say = say  # a short note in the caption's status line
        self._announce = announce  # spoken / sent to the screen reader
        self._show_error = show_error

    def update(self, **changes: object) -> None:
        """Change some settings for this run and in the file; apply them; save the file."""
        if not changes:
            return
        old, self.settings = self.settings, self.settings.model_copy(update=changes)
        self.saved = self.saved.model_copy(update=changes)
        self._apply(old, self.settings)
        try:
            save_settings(self.saved, self.config_path)
        except OSError as exc:
            self._show_error(f"Settings could not be saved: {exc.strerror or exc}")

    def replace(self, new: Settings) -> None:
        """Take what differs in `new` (from the Settings dialog) as the user's changes."""
        changed = {
            key: value for key, value in new.model_dump().items() if getattr(self.settings, key) != value
        }
        self.update(**changed)

    def open_dialog(self, parent: QWidget, *, voices: list[str], engines: list[str]) -> bool:
        """Show the Settings dialog; apply and save what the user confirms. Whether anything was."""
        dialog = SettingsDialog(self.settings, voices=voices, engines=engines, parent=parent)
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
        """Switch theme and say which."""
        self.update(theme=theme)
        self._announce(f"Theme: {theme_name(theme)}")

    def next_theme(self) -> None:
        """The next theme that looks different (system, light, dark, high contrast), said by name."""
        self.set_theme(next_theme(self.settings.theme))

    def set_verbosity(self, verbosity: Verbosity) -> None:
        """Brief, normal or detailed descriptions."""
        self.update(verbosity=verbosity)
