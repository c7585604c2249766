"""Which model the window's model thread loads, and the user's ways to change it: download, a folder, retry.

The window never downloads the model on its own: the first start shows that it is missing
and offers "Download the model" (once: about 520 MB for the CPU engine, up to 2 GB for the
others), so nothing leaves the computer unasked.

Choosing another of the models on offer in Settings while one is working is asking for it:
its files download beside the model in use, which keeps answering (progress in the status
line), and only once they are here does the new model load. A download that fails leaves the
model in use as it was, and says why.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from app.background import BackgroundJob
from app.config import EngineSettings, Settings
from app.inference.backend import BackendError
from app.inference.catalog import find, most_accurate, public_name
from app.inference.factory import MakeBackend, backend_factory, fetch_model
from app.inference.model_files import looks_like_path
from app.inference.model_thread import BackendFactory
from app.inference.types import LoadProgress, LoadProgressCallback
from app.live.session import LiveSession
from app.ui.ui_state import UiState


def engine_factory(make_backend: MakeBackend, settings: EngineSettings, *, download: bool) -> BackendFactory:
    """A factory for the backend `settings` name, downloading the model only if the user asked."""
    return backend_factory(settings.model_copy(update={"allow_download": download}), make_backend)


# Fetches the files an engine needs for `settings.model` (downloading if allowed): `fetch_model`.
Fetch = Callable[[EngineSettings, LoadProgressCallback | None], Path]


def _fetch(settings: EngineSettings, progress: LoadProgressCallback | None) -> Path:
    return fetch_model(settings, progress)


def _downloaded(settings: EngineSettings) -> bool:
    """Whether the files the engine needs for `settings.model` are on this computer (never downloads)."""
    try:
        fetch_model(settings, download=False)
    except Exception:  # missing, incomplete, or an engine that can't be used here
        return False
    return True


def only_the_model_changed(old: EngineSettings, new: EngineSettings) -> bool:
    """Whether `new` differs from `old` in the model alone (the engine and its options the same)."""
    return old.model != new.model and old.model_copy(update={"model": new.model}) == new


class ModelControl(QObject):
    """Reloads the session's model when the engine settings change, and runs the model panel's commands."""

    model_chosen = Signal(object)  # str | None: the model the user chose (a folder, or the usual one)
    fetching = Signal(str, object)  # (model's name, LoadProgress): downloading beside the model in use
    fetched = Signal(str)  # its name: downloaded; it loads now
    fetch_failed = Signal(str, str)  # (its name, why): the model in use stays
    fetch_called_off = Signal()  # the user went back to the model in use while it downloaded
    accurate_missing = Signal(str)  # the most accurate model's title: asked for, not downloaded

    def __init__(
        self,
        make_backend: MakeBackend,
        session: LiveSession,
        settings: EngineSettings,
        ui_state: UiState,
        fetch: Fetch | None = None,
        downloaded: Callable[[EngineSettings], bool] | None = None,
    ) -> None:
        super().__init__()
        self.make_backend = make_backend
        self.session = session
        self.settings = settings
        self._in_use = settings  # what the model thread was last asked to load
        self.ui_state = ui_state
        self.download = False  # set by the user's "Download the model"
        self._fetch = fetch or _fetch  # injected in tests
        self._downloaded = downloaded or _downloaded
        self._accurate_in_use: EngineSettings | None = None  # what the session's accurate thread runs
        self._fetches = itertools.count(1)
        self._latest_fetch = 0  # a newer choice supersedes a download under way
        self._progress.connect(self._on_progress)
        self._done.connect(self._on_done)
        self._failed.connect(self._on_failed)

    # from the download's thread to this object's (queued: Qt delivers them on the window's thread)
    _progress = Signal(int, str, object)
    _done = Signal(int, str)
    _failed = Signal(int, str, str)

    def apply(self, settings: EngineSettings) -> None:
        """Use the user's engine settings from now on: another model or engine loads at once.

        Another model chosen while one is working downloads beside it first (module docs).
        """
        old, self.settings = self.settings, settings
        if settings == old:
            return
        working = self.session.model_state.status == "ready"
        if working and settings == self._in_use:  # back to the model in use: a download is called off
            self._call_off_fetch()
        elif working and settings.allow_download and only_the_model_changed(self._in_use, settings):
            self.fetch_beside(settings)
        else:
            self._call_off_fetch()
            self.reload()

    def _call_off_fetch(self) -> None:
        """Forget a download under way (it may finish; nothing follows from it)."""
        if self._latest_fetch:
            self._latest_fetch = 0
            self.fetch_called_off.emit()
        next(self._fetches)

    # --- the most accurate model for questions ------------------------------------------------
    @staticmethod
    def accurate_engine(settings: Settings) -> EngineSettings | None:
        """The engine settings of the most accurate model beside the main one, if the user wants it."""
        best = most_accurate()
        if not settings.describe.accurate_answers or settings.engine.backend == "openai":
            return None
        if public_name(settings.engine.model) == best.name:
            return None  # the main model is the most accurate already
        return settings.engine.model_copy(update={"model": best.name, "allow_download": False})

    def accurate_downloaded(self, settings: Settings) -> bool:
        """Whether the most accurate model is on this computer for the engine `settings` use."""
        return self._downloaded(settings.engine.model_copy(update={"model": most_accurate().name}))

    def apply_accurate(self, settings: Settings) -> None:
        """Answer questions and detailed descriptions with the most accurate model, or stop doing so."""
        wanted = self.accurate_engine(settings)
        if wanted == self._accurate_in_use:
            return
        self._accurate_in_use = wanted
        if wanted is None:
            self.session.use_accurate(None)
            return
        if not self._downloaded(wanted):
            self._accurate_in_use = None
            self.session.use_accurate(None)
            self.accurate_missing.emit(most_accurate().title)
            return
        self.session.use_accurate(engine_factory(self.make_backend, wanted, download=False))

    def fetch_beside(self, settings: EngineSettings) -> None:
        """Download `settings.model`'s files on a thread of their own, then load it (module docs)."""
        ticket = self._latest_fetch = next(self._fetches)
        entry = find(public_name(settings.model))
        title = entry.title if entry is not None else public_name(settings.model)

        BackgroundJob[object]("smolsight-model-fetch").start(
            lambda: self._fetch(settings, lambda progress: self._progress.emit(ticket, title, progress)),
            done=lambda _folder: self._done.emit(ticket, title),
            failed=lambda why: self._failed.emit(ticket, title, why),
            explain=lambda exc: str(exc) if isinstance(exc, BackendError) else None,
        )

    def _on_progress(self, ticket: int, title: str, progress: object) -> None:
        if ticket == self._latest_fetch:
            self.fetching.emit(title, progress)

    def _on_done(self, ticket: int, title: str) -> None:
        if ticket != self._latest_fetch:
            return  # the user chose again meanwhile
        self._latest_fetch = 0
        self.fetched.emit(title)
        self.reload()

    def _on_failed(self, ticket: int, title: str, why: str) -> None:
        if ticket != self._latest_fetch:
            return
        self._latest_fetch = 0
        self.fetch_failed.emit(title, why)

    def reload(self) -> None:
        """Load the model anew with the current settings."""
        self._in_use = self.settings
        message = "Downloading the model…" if self.download else "Loading the model…"
        factory = engine_factory(self.make_backend, self.settings, download=self.download)
        self.session.reload(factory, progress=LoadProgress("download" if self.download else "load", message))

    def download_model(self) -> None:
        """Download the model (the user asked; once), then load it."""
        self.download = True
        model = self.settings.model
        if model and looks_like_path(model) and find(model) is None:  # a folder: fetch the usual model
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
