"""Which model the window's model thread loads, and the user's ways to change it: download, a folder, retry.

The window never downloads the model on its own: the first start shows that it is missing
and offers "Download the model" (once: about 520 MB for the CPU engine, up to 2 GB for the
others), so nothing leaves the computer unasked.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from app.config import EngineSettings
from app.inference.factory import MakeBackend, backend_factory
from app.inference.model_files import looks_like_path
from app.inference.model_thread import BackendFactory
from app.inference.types import LoadProgress
from app.live.session import LiveSession
from app.ui.ui_state import UiState


def engine_factory(make_backend: MakeBackend, settings: EngineSettings, *, download: bool) -> BackendFactory:
    """A factory for the backend `settings` name, downloading the model only if the user asked."""
    return backend_factory(settings.model_copy(update={"allow_download": download}), make_backend)


class ModelControl(QObject):
    """Reloads the session's model when the engine settings change, and runs the model panel's commands."""

    model_chosen = Signal(object)  # str | None: the model the user chose (a folder, or the usual one)

    def __init__(
        self, make_backend: MakeBackend, session: LiveSession, settings: EngineSettings, ui_state: UiState
    ) -> None:
        super().__init__()
        self.make_backend = make_backend
        self.session = session
        self.settings = settings
        self.ui_state = ui_state
        self.download = False  # set by the user's "Download the model"

    def apply(self, settings: EngineSettings) -> None:
        """Use the user's engine settings from now on: another model or engine loads at once."""
        changed, self.settings = settings != self.settings, settings
        if changed:
            self.reload()

    def reload(self) -> None:
        """Load the model anew with the current settings."""
        message = "Downloading the model…" if self.download else "Loading the model…"
        factory = engine_factory(self.make_backend, self.settings, download=self.download)
        self.session.reload(factory, progress=LoadProgress("download" if self.download else "load", message))

    def download_model(self) -> None:
        """Download the model (the user asked; once), then load it."""
        self.download = True
        model = self.settings.model
        if model and looks_like_path(model):  # a folder can't be downloaded: fetch the usual model
            self.model_chosen.emit(None)  # the settings change reloads
        else:
            self.reload()

    def use_folder(self, parent: QWidget) -> None:
        """Choose a folder that holds a copy of the model, and load it."""
        folder = QFileDialog.getExistingDirectory(
            parent, "Choose the model folder", self.ui_state.folder("model")
        )
        if folder:
            self.ui_state.remember("model", folder)
            if folder == self.settings.model:
                self.reload()
            else:
                self.model_chosen.emit(folder)  # the settings change reloads
