"""The user's settings while the app runs: changed from menus, keys and the Settings dialog, and saved.

`Preferences` holds two sets: what the settings file says (`saved`) and what this run uses
(`settings`: the file plus this run's command-line flags). A change the user makes in the
window goes into both and the file is saved; a flag such as `--model` is never written to
the file. It tells its listener what changed; the window hands the new settings to each
piece (`apply`), and each decides what a change means for it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QDialog, QWidget

from app.config import DisplaySettings, GroupName, Settings, SpeechSettings, bounds, save_settings
from app.prompts import Verbosity
from app.ui.announcer import Announcer
from app.ui.feedback import Feedback
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
        feedback: Feedback,
        announcer: Announcer,
    ) -> None:
        self.settings = settings
        self.saved = saved if saved is not None else settings  # what the file holds
        self.config_path = config_path
        self._apply = apply
        self.feedback = feedback
        self.announcer = announcer

    def update(self, group: GroupName, **changes: object) -> None:
        """Change some settings of one group for this run and in the file; apply them; save the file."""
        self.update_many({(group, key): value for key, value in changes.items()})

    def update_many(self, changes: dict[tuple[str, str], object]) -> None:
        """Change settings (group, key → value) for this run and in the file; apply them; save."""
        if not changes:
            return
        old, self.settings = self.settings, self.settings.with_values(changes)
        self.saved = self.saved.with_values(changes)
        self._apply(old, self.settings)
        try:
            save_settings(self.saved, self.config_path)
        except OSError as exc:
            self.feedback.show_error(f"Settings could not be saved: {exc.strerror or exc}")

    def replace(self, new: Settings) -> None:
        """Take what differs in `new` (from the Settings dialog) as the user's changes."""
        self.update_many(new.changes_from(self.settings))

    def open_dialog(
        self, parent: QWidget, *, voices: list[str], engines: list[str], accurate_downloaded: bool = False
    ) -> bool:
        """Show the Settings dialog; apply and save what the user confirms. Whether anything was."""
        dialog = SettingsDialog(
            self.settings,
            voices=voices,
            engines=engines,
            accurate_downloaded=accurate_downloaded,
            parent=parent,
        )
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.result_settings is None:
            return False
        self.replace(dialog.result_settings)
        self.feedback.note("Settings saved.")
        return True

    # --- commands from menus and keys ----------------------------------------------------------
    def toggle_mute(self) -> None:
        """Mute or unmute speech."""
        self.update("speech", muted=not self.settings.speech.muted)
        self.feedback.note("Speech muted." if self.settings.speech.muted else "Speech on.")

    def change_rate(self, delta: float) -> None:
        """Speak faster or slower."""
        low, high = bounds(SpeechSettings, "rate")
        rate = max(low, min(high, round(self.settings.speech.rate + delta, 2)))
        self.update("speech", rate=rate)
        self.feedback.note(f"Speech rate {rate:+.1f}")

    def change_font(self, delta: int) -> None:
        """Make the caption text bigger or smaller."""
        low, high = bounds(DisplaySettings, "caption_font_pt")
        size = self.settings.display.caption_font_pt + delta
        self.update("display", caption_font_pt=int(max(low, min(high, size))))

    def set_theme(self, theme: str) -> None:
        """Switch theme and say which."""
        self.update("display", theme=theme)
        self.announcer.announce(f"Theme: {theme_name(theme)}", urgent=True)

    def next_theme(self) -> None:
        """The next theme that looks different (system, light, dark, high contrast), said by name."""
        self.set_theme(next_theme(self.settings.display.theme))

    def set_verbosity(self, verbosity: Verbosity) -> None:
        """Brief, normal or detailed descriptions."""
        self.update("narration", verbosity=verbosity)

    def keep_history(self, keep: bool) -> None:
        """Keep a history of descriptions, or not."""
        self.update("narration", keep_history=keep)
