"""Starting video summaries from the main window: choose a file, or decide what a dropped video is for."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from PySide6.QtWidgets import QFileDialog, QWidget

from app.capture.media import VIDEO_SUFFIXES, MediaError, probe_video
from app.config import SummarySettings
from app.live.session import LiveSession
from app.ui.announcer import Announcer
from app.ui.dialogs import choice_dialog
from app.ui.feedback import Feedback
from app.ui.narration_view import NarrationView
from app.ui.summary_window import SummaryWindow
from app.ui.ui_state import UiState

DropChoice = Literal["narrate", "summarize"]


class SummaryLauncher:
    """opens summary windows on the live session's model thread; narration pauses while one runs."""

    def __init__(
        self,
        parent: QWidget,
        session: LiveSession,
        *,
        announcer: Announcer,
        feedback: Feedback,
        view: NarrationView,
        ui_state: UiState,
    ) -> None:
        self.parent = parent
        self.ui_state = ui_state
        self.session = session
        self.announcer = announcer
        self.feedback = feedback
        self.view = view
        self.settings = SummarySettings()
        self.windows: list[SummaryWindow] = []

    def apply(self, settings: SummarySettings) -> None:
        """Summaries from now on start with the user's summary settings."""
        self.settings = settings

    def choose_file(self) -> None:
        """Let the user choose a video file to summarize (starting where they last looked)."""
        patterns = " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES))
        folders = self.ui_state
        path, _ = QFileDialog.getOpenFileName(
            self.parent, "Summarize a video", folders.folder("media"), f"Videos ({patterns});;All files (*)"
        )
        if path:
            folders.remember("media", path)
            self.summarize(Path(path))

    def summarize(self, path: Path) -> SummaryWindow | None:
        """Open a summary window for `path` and start it; narration pauses meanwhile."""
        try:
            probe_video(path)
        except MediaError as exc:
            self.feedback.show_error(str(exc))
            return None
        if not self.view.require_ready():
            return None
        session = self.session
        was_on = session.continuous
        session.continuous = False
        window = SummaryWindow(
            path,
            session,
            self.settings,
            announcer=self.announcer,
            ui_state=self.ui_state,
        )
        window.finished.connect(lambda _r: setattr(session, "continuous", was_on))
        self.windows.append(window)
        window.show()
        window.start()
        return window

    def choose_drop_action(self, path: Path) -> DropChoice | None:
        """Ask whether to narrate a dropped video live or summarize it."""
        self.drop_dialog = choice_dialog(
            self.parent,
            "Video dropped",
            f"What should SmolSight do with {path.name}?",
            {"narrate": "&Narrate it live", "summarize": "&Summarize it"},
            default="summarize",
        )
        self.drop_dialog.exec()
        chosen = self.drop_dialog.property("choice")
        return "narrate" if chosen == "narrate" else "summarize" if chosen == "summarize" else None

    def close_all(self) -> None:
        """Close every summary window (each stops its running summary)."""
        for window in self.windows:
            window.close()
