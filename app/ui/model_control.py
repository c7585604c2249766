"""Which model the window's engine loads, and the user's ways to change it: download, a folder, retry.

The window never downloads the model on its own: the first start shows that it is missing
and offers "Download the model" (about 2 GB, once), so nothing leaves the computer unasked.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFileDialog, QWidget

from app.config import Settings
from app.inference.backend import VisionBackend
from app.inference.engine import BackendFactory
from app.inference.model_files import looks_like_path
from app.live.session import LiveSession
from app.ui.narration_view import NarrationView
from app.ui.preferences import Preferences
from app.ui.ui_state import UiState

MakeBackend = Callable[[Settings], VisionBackend]
ENGINE_KEYS = ("model", "backend", "device", "dtype", "base_url", "api_key", "remote_model", "timeout_s")


class ModelControl:
    """Builds the engine's backend from the current settings and reloads it when they change."""

    def __init__(self, make_backend: MakeBackend, prefs: Preferences, ui_state: UiState) -> None:
        self.make_backend = make_backend
        self.prefs = prefs
        self.ui_state = ui_state
        self.download = False  # set by the user's "Download the model"
        self.session: LiveSession | None = None
        self.view: NarrationView | None = None

    def factory(self) -> BackendFactory:
        """A factory for the backend the current settings ask for (downloading only if asked)."""
        settings = self.prefs.settings.model_copy(update={"allow_download": self.download})
        make = self.make_backend
        return lambda: make(settings)

    def needs_reload(self, old: Settings, new: Settings) -> bool:
        """Whether a settings change means another model or engine."""
        return any(getattr(new, k) != getattr(old, k) for k in ENGINE_KEYS)

    def reload(self) -> None:
        """Load the model anew with the current settings."""
        assert self.session is not None and self.view is not None
        self.view.loading("Downloading the model…" if self.download else "Loading the model…")
        self.session.reload(self.factory())

    def download_model(self) -> None:
        """Download the model (the user asked: about 2 GB, once), then load it."""
        self.download = True
        model = self.prefs.settings.model
        if model and looks_like_path(model):  # a folder can't be downloaded: fetch the usual model
            self.prefs.update(model=None)  # the settings change reloads
        else:
            self.reload()

    def use_folder(self, parent: QWidget) -> None:
        """Choose a folder that holds a copy of the model, and load it."""
        folder = QFileDialog.getExistingDirectory(
            parent, "Choose the model folder", self.ui_state.folder("model")
        )
        if folder:
            self.ui_state.remember("model", folder)
            if folder == self.prefs.settings.model:
                self.reload()
            else:
                self.prefs.update(model=folder)  # the settings change reloads
