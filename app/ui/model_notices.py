"""What the window says while another model downloads or loads beside the one in use."""

from __future__ import annotations

from app.inference.catalog import most_accurate
from app.inference.model_events import ModelState
from app.inference.types import LoadProgress
from app.live.session import LiveSession
from app.ui.announcer import Announcer
from app.ui.feedback import Feedback
from app.ui.main_panel import ModelStatusBar
from app.ui.model_control import ModelControl


class ModelNotices:
    """Connects the model control's and the session's news to the notice line, status bar and speech."""

    def __init__(
        self,
        model: ModelControl,
        session: LiveSession,
        *,
        feedback: Feedback,
        status: ModelStatusBar,
        announcer: Announcer,
    ) -> None:
        self.feedback = feedback
        self.status = status
        self.announcer = announcer
        model.fetching.connect(self._on_fetching)
        model.fetched.connect(self._on_fetched)
        model.fetch_failed.connect(self._on_fetch_failed)
        model.fetch_called_off.connect(self._on_fetch_called_off)
        model.accurate_missing.connect(self._on_accurate_missing)
        session.accurate_changed.connect(self._on_accurate_changed)

    def _on_fetching(self, title: str, progress: LoadProgress) -> None:
        """A chosen model downloads beside the one in use: say so once, then show how far."""
        first = not self.feedback.current_notice.startswith(f"Downloading {title}")
        amount = f": {progress.done / 1e6:.0f} of {progress.total / 1e6:.0f} MB" if progress.total else ""
        self.feedback.notice(f"Downloading {title}{amount}; the model in use answers meanwhile")
        self.status.show_fraction(progress.fraction)
        if first:
            self.announcer.announce(f"Downloading {title}. The model in use answers meanwhile.", urgent=False)

    def _on_fetched(self, title: str) -> None:
        self.feedback.notice("")
        self.feedback.note(f"{title} downloaded; loading it.")
        self.announcer.announce(f"{title} downloaded; loading it.", urgent=False)

    def _on_accurate_missing(self, title: str) -> None:
        """Asked for, not downloaded: a lasting notice (choosing it as the model once downloads it)."""
        self.feedback.notice(f"{title} is not on this computer yet: questions use the model in use")

    def _on_accurate_changed(self, state: ModelState) -> None:
        """The most accurate model beside: say when it answers questions, and when it can't."""
        title = most_accurate().title
        if state.ready:
            self.feedback.notice(f"Questions and detailed descriptions: {title}")
        elif state.status in ("missing", "failed"):
            self.feedback.notice("")
            self.feedback.show_error(f"{title} could not be loaded for questions: {state.not_ready_reason()}")
        elif state.status == "stopped":
            self.feedback.notice("")

    def _on_fetch_called_off(self) -> None:
        self.feedback.notice("")
        self.status.show_fraction(None, visible=False)

    def _on_fetch_failed(self, title: str, why: str) -> None:
        self.feedback.notice("")
        self.status.show_fraction(None, visible=False)
        self.feedback.show_error(
            f"{title} could not be downloaded: {why.rstrip('.')}. The model in use goes on working"
        )
