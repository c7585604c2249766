"""The main window's menus: every action has a menu entry and a key; F1 lists them all."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from app.ui.history_view import HistoryView
from app.ui.preferences import Preferences
from app.ui.settings_dialog import VERBOSITY
from app.ui.theme import THEMES


class WindowCommands(Protocol):
    """What the menus call on the window."""

    def open_file_dialog(self) -> None:
        """The window's `open_file_dialog` command."""

    def summarize_dialog(self) -> None:
        """The window's `summarize_dialog` command."""

    def open_source(self, spec: str) -> bool:
        """The window's `open_source` command."""

    def open_camera(self) -> None:
        """The window's `open_camera` command."""

    def camera_entries(self) -> list[str]:
        """The window's `camera_entries` command."""

    def narrate_screen(self) -> None:
        """The window's `narrate_screen` command."""

    def describe_active_window(self) -> None:
        """The window's `describe_active_window` command."""

    def describe_clipboard(self) -> None:
        """The window's `describe_clipboard` command."""

    def open_settings(self) -> None:
        """The window's `open_settings` command."""

    def close(self) -> bool:
        """The window's `close` command."""

    def describe_now(self) -> None:
        """The window's `describe_now` command."""

    def what_just_happened(self) -> None:
        """The window's `what_just_happened` command."""

    def read_text(self) -> None:
        """The window's `read_text` command."""

    def focus_question(self) -> None:
        """The window's `focus_question` command."""

    def toggle_narration(self) -> None:
        """The window's `toggle_narration` command."""

    def cancel_answer(self) -> None:
        """The window's `cancel_answer` command."""

    def stop_speech(self) -> None:
        """The window's `stop_speech` command."""

    def repeat_last(self) -> None:
        """The window's `repeat_last` command."""

    def focus_history(self) -> None:
        """The window's `focus_history` command."""

    def focus_picture(self) -> None:
        """The window's `focus_picture` command."""

    def show_shortcuts(self) -> None:
        """The window's `show_shortcuts` command."""

    def show_about(self) -> None:
        """The window's `show_about` command."""


class Menus:
    """Builds the menu bar of `window` and keeps its actions by name."""

    def __init__(
        self, window: QMainWindow, commands: WindowCommands, prefs: Preferences, history: HistoryView
    ) -> None:
        self.window = window
        self.commands = commands
        self.prefs = prefs
        self.history = history
        self.actions: dict[str, QAction] = {}
        self._build()

    def _action(
        self,
        menu: QMenu,
        text: str,
        shortcut: str | QKeySequence.StandardKey | None,
        slot: Callable[[], object],
        name: str,
    ) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        action.setObjectName(name)
        menu.addAction(action)
        self.window.addAction(action)
        self.actions[name] = action
        return action

    def _build(self) -> None:
        c, p = self.commands, self.prefs
        mb = self.window.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Open video or image…", "Ctrl+O", c.open_file_dialog, "open")
        self._action(f, "S&ummarize a video…", "Ctrl+Shift+O", c.summarize_dialog, "summarize")
        self.camera_menu = f.addMenu("Choose &which camera")
        self.camera_menu.aboutToShow.connect(self._fill_camera_menu)
        self._action(f, "Use the sample &video", "Ctrl+Shift+S", lambda: c.open_source("sample"), "sample")
        self._action(f, "Use the &camera", "Ctrl+K", c.open_camera, "camera")
        f.addSeparator()
        self._action(f, "Narrate the sc&reen", "Ctrl+Shift+N", c.narrate_screen, "narrate_screen")
        self._action(f, "Describe the active win&dow", "Ctrl+Shift+W", c.describe_active_window, "window")
        self._action(f, "Describe the clip&board picture", "Ctrl+Shift+V", c.describe_clipboard, "clipboard")
        f.addSeparator()
        self._action(f, "&Export history…", "Ctrl+E", self.history.export_dialog, "export")
        self._action(f, "&Settings…", "Ctrl+,", c.open_settings, "settings")
        f.addSeparator()
        self._action(f, "&Quit", "Ctrl+Q", c.close, "quit")

        n = mb.addMenu("&Narration")
        self._action(n, "&Describe now (Space)", "Ctrl+D", c.describe_now, "describe")
        self._action(n, "What just &happened?", "Ctrl+H", c.what_just_happened, "what_happened")
        self._action(n, "&Read the text", "Ctrl+Shift+R", c.read_text, "read")
        self._action(n, "&Ask a question", "Ctrl+L", c.focus_question, "ask")
        self._action(n, "&Narration on/off", "Ctrl+N", c.toggle_narration, "toggle_narration")
        self._action(n, "&Stop the answer", "Ctrl+.", c.cancel_answer, "cancel")
        n.addSeparator()
        vmenu = n.addMenu("&Verbosity")
        self._verbosity_group = QActionGroup(self.window)
        for i, (key, label) in enumerate(VERBOSITY.items(), start=1):
            act = self._action(
                vmenu, label, f"Ctrl+{i}", functools.partial(p.set_verbosity, key), f"verbosity_{key}"
            )
            act.setCheckable(True)
            self._verbosity_group.addAction(act)

        s = mb.addMenu("&Speech")
        self._action(s, "&Stop speaking", "Esc", c.stop_speech, "stop_speech")
        self._action(s, "&Repeat the last description", "Ctrl+R", c.repeat_last, "repeat")
        self.mute_action = self._action(s, "&Mute", "Ctrl+M", p.toggle_mute, "mute")
        self.mute_action.setCheckable(True)
        self._action(s, "Speak &faster", "Ctrl+]", lambda: p.change_rate(0.1), "faster")
        self._action(s, "Speak s&lower", "Ctrl+[", lambda: p.change_rate(-0.1), "slower")

        v = mb.addMenu("&View")
        self._action(v, "&Bigger text", QKeySequence.StandardKey.ZoomIn, lambda: p.change_font(4), "bigger")
        self._action(
            v, "&Smaller text", QKeySequence.StandardKey.ZoomOut, lambda: p.change_font(-4), "smaller"
        )
        self._action(v, "Go to &history", "Ctrl+Shift+H", c.focus_history, "focus_history")
        self._action(v, "Go to the &picture", "Ctrl+Shift+P", c.focus_picture, "focus_picture")
        self._action(v, "&Next theme", "Ctrl+T", p.next_theme, "next_theme")
        tmenu = v.addMenu("&Theme")
        self._theme_group = QActionGroup(self.window)
        for theme, label in THEMES.items():
            act = self._action(tmenu, label, None, functools.partial(p.set_theme, theme), f"theme_{theme}")
            act.setCheckable(True)
            self._theme_group.addAction(act)

        h = mb.addMenu("&Help")
        self._action(h, "&Keyboard shortcuts", "F1", c.show_shortcuts, "shortcuts")
        self._action(h, "&About SmolSight", "Shift+F1", c.show_about, "about")

    def _fill_camera_menu(self) -> None:
        self.camera_menu.clear()
        names = self.commands.camera_entries()
        if not names:
            act = self.camera_menu.addAction("No camera found")
            act.setEnabled(False)
            return
        for i, name in enumerate(names):
            act = self.camera_menu.addAction(f"{i}: {name}")
            act.triggered.connect(lambda _c=False, i=i: self.commands.open_source(f"webcam:{i}"))

    def show_checked(self, *, theme: str, verbosity: str, muted: bool) -> None:
        """Tick the current theme, verbosity and mute state."""
        for key, act in self.actions.items():
            if key.startswith("theme_"):
                act.setChecked(key == f"theme_{theme}")
            if key.startswith("verbosity_"):
                act.setChecked(key == f"verbosity_{verbosity}")
        self.mute_action.setChecked(muted)

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(action, keys) for every action that has a key."""
        return [
            (a.text().replace("&", ""), a.shortcut().toString(QKeySequence.SequenceFormat.NativeText))
            for a in self.actions.values()
            if not a.shortcut().isEmpty()
        ]
