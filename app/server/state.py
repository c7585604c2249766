"""What a running server holds: the model it serves and how it behaves (read by the routes)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Literal

from app.inference.factory import why_not_loadable
from app.inference.leaving import LeavingThreads
from app.inference.model_files import DEFAULT_MODELS
from app.inference.model_thread import (
    Answer,
    BackendFactory,
    JobHandle,
    ModelChanged,
    ModelEvent,
    ModelThread,
    NotReady,
)
from app.inference.types import GenerationChunk, GenerationRequest
from app.server.errors import ApiError
from app.server.images import ImageLimits

log = logging.getLogger(__name__)
ChunkSink = Callable[[GenerationChunk], None]


def name_without_path(model: str) -> str:
    """How a model is named to clients: a hub id as it is, a folder by its own name, never its path.

    The server's file layout (user names, mount points) is nobody's business but its operator's.
    """
    if "\\" in model or model.startswith(("/", ".", "~")) or Path(model).expanduser().exists():
        return PureWindowsPath(model).name if "\\" in model else Path(model).name
    return model


@dataclass(frozen=True)
class ModelSwitch:
    """A switch of models under way or failed: the model asked for, where it is, why it failed."""

    model: str  # its public name
    status: Literal["loading", "error"]
    detail: str | None = None  # loading progress, or why the load failed


@dataclass
class ServedModel:
    """The model thread the server answers with, the model name it reports, and how to switch models.

    A switch loads the new model on a model thread of its own beside the one in use, which goes
    on answering; when the new one is ready it takes the new requests and the old one finishes
    what it was given, then closes. A load that fails leaves the old one serving and is reported
    (`switch`) until the next switch.
    """

    model_thread: ModelThread
    name: str | None = None  # what is loaded: a folder or a hub id (None: the default model)
    factory_for: Callable[[str | None], BackendFactory] | None = None  # model name → backend factory
    started_at: float = field(default_factory=time.time)
    served_name: str | None = None  # `--served-model-name`: what clients see instead
    _next: tuple[str, ModelThread] | None = field(default=None, init=False, repr=False)
    _failed: ModelSwitch | None = field(default=None, init=False, repr=False)
    _leaving: LeavingThreads = field(
        default_factory=LeavingThreads, init=False, repr=False
    )  # retired, dropped
    # Models switched away from, by their public name: the model thread finishing their requests
    # (None once gone) and the model that replaced them (for telling a client why).
    _previous: dict[str, tuple[ModelThread | None, str]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def start(self) -> None:
        """Start the model thread: the model loads in the background."""
        self.model_thread.start()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Stop the model in use and any model still loading; False when one did not stop in time."""
        with self._lock:
            threads = [self.model_thread, *([self._next[1]] if self._next else [])]
            self._next = None
        stopped = [thread.shutdown(timeout) for thread in threads]  # every one, even after a failure
        return all(stopped) and self._leaving.shutdown(timeout)

    def serving(self, model: str | None, aliases: Callable[[str], set[str]]) -> ModelThread | None:
        """The model thread that answers a request naming `model` (None: whichever is in use).

        A request that names the model in use (`aliases` of its id or of its own name;
        `--served-model-name` stays across switches) is answered by it; one that names a model
        switched away from, by that model while it finishes its queue; after that it is told why
        (404, `model_not_found`).
        """
        with self._lock:
            if model is None or model in aliases(self.model_id) | aliases(self.own_name):
                return None
            thread, successor = self._previous.get(model, (None, ""))
        if thread is not None and thread.running:
            return thread
        if successor:
            raise ApiError(
                404,
                f"The model '{model}' is no longer served here: this server switched to '{self.model_id}'",
                code="model_not_found",
                param="model",
            )
        raise ApiError(
            404,
            f"The model '{model}' does not exist; this server serves '{self.model_id}'",
            code="model_not_found",
            param="model",
        )

    def submit(
        self,
        request: GenerationRequest,
        *,
        on_chunk: ChunkSink | None,
        client: str,
        model_thread: ModelThread | None = None,
    ) -> JobHandle[Answer]:
        """Queue a generation with `model_thread` (from `serving`), else the model in use.

        Without one, a switch that ends meanwhile hands the request to the new model; with one,
        the model the request named answers it (or it is told why: `serving`).
        """
        if model_thread is not None:
            return model_thread.submit(request, on_chunk=on_chunk, client=client)
        while True:
            model_thread = self.model_thread
            try:
                return model_thread.submit(request, on_chunk=on_chunk, client=client)
            except NotReady:
                if self.model_thread is model_thread:
                    raise  # not a switch in between: the model is really not ready

    def offers(self, model: str, offered: tuple[str, ...]) -> bool:
        """Whether a switch to `model` is one the operator allowed: listed, or the model in use."""
        return model in offered or model in (self.name, self.model_id, self.own_name)

    def switch(self, model: str) -> None:
        """Load `model` beside the one in use, which answers until it is ready; 400 if it can't load."""
        with self._lock:
            if self._next is not None and self._next[0] == model:
                return  # already loading: asking again doesn't start over
            if model in (self.name, self.model_id, self.own_name):  # the model in use: a load is called off
                called_off, self._next, self._failed = self._next, None, None
                if called_off is not None:
                    self._leave(called_off[1])
                return
        if self.factory_for is None:
            raise ApiError(
                400, "This server can't switch models", code="invalid_request", param="active_model"
            )
        why = why_not_loadable(model)
        if why:  # refused before anything changes: the model in use goes on answering
            raise ApiError(
                400, f"Can't switch to {model}: {why}", code="model_not_loadable", param="active_model"
            )
        loading = ModelThread(self.factory_for(model), policy=self.model_thread.policy)
        loading.add_listener(lambda event: self._on_next(model, loading, event))
        with self._lock:
            superseded, self._next, self._failed = self._next, (model, loading), None
            if superseded is not None:
                self._leave(superseded[1])
        loading.start()

    def _on_next(self, model: str, loading: ModelThread, event: ModelEvent) -> None:
        """The loading model's news (on its thread): ready → it serves; failed → the old one stays."""
        if not isinstance(event, ModelChanged) or event.state.status not in ("ready", "missing", "failed"):
            return
        with self._lock:
            if self._next is None or self._next[1] is not loading:
                return  # superseded by a later switch, or shut down
            self._next = None
            if not event.state.ready:
                reason = self._public(event.state.not_ready_reason(), model)
                self._failed = ModelSwitch(name_without_path(model), "error", reason)
                log.warning("the switch to %s failed: %s", name_without_path(model), reason)
                self._leave(loading)
            else:
                old_id = self.own_name
                retired, self.model_thread = self.model_thread, loading
                self.name = model  # `--served-model-name` names the service: it stays
                self._previous[old_id] = (retired, name_without_path(model))
                self._previous.pop(name_without_path(model), None)
                log.info("now serving %s", name_without_path(model))
                retired.retire()  # it answers what it was given, then closes
                self._leaving.keep(retired)

    def _leave(self, model_thread: ModelThread) -> None:
        """Stop a model thread nobody will use, not waiting here (the lock is held); `shutdown` joins it."""
        self._leaving.stop(model_thread)

    @property
    def switching(self) -> ModelSwitch | None:
        """The switch under way (loading) or the last one that failed; None when neither."""
        with self._lock:
            pending, failed = self._next, self._failed
        if pending is None:
            return failed
        state = pending[1].model_state
        detail = state.progress.message if state.progress else None
        return ModelSwitch(name_without_path(pending[0]), "loading", detail)

    @property
    def model_id(self) -> str:
        """The name clients see: the alias (`--served-model-name`), else `own_name`."""
        return self.served_name or self.own_name

    @property
    def own_name(self) -> str:
        """The model in use's own public name (no path; the default model's when none was named)."""
        info = self.model_thread.info
        loaded = self.name or (info.model if info else None)
        return name_without_path(loaded or DEFAULT_MODELS["transformers"])

    def public(self, text: str) -> str:
        """`text` (a reason a load failed, …) with the model's folder path replaced by its public name."""
        return self._public(text, self.name or "", self.model_id)

    @staticmethod
    def _public(text: str, model: str, public: str | None = None) -> str:
        if model and name_without_path(model) != model:
            for form in sorted(
                {model, str(Path(model).expanduser()), str(Path(model).expanduser().resolve())},
                key=len,
                reverse=True,
            ):
                text = text.replace(form, public or name_without_path(model))
        return text


@dataclass
class ApiPolicy:
    """How the server behaves; `smolsight serve` fills this from flags."""

    # The keys clients may send (a remote server's is `EngineSettings.api_key`); with several,
    # clients take turns by key (one per desk or person), else by address.
    client_keys: tuple[str, ...] = ()
    admin_key: str | None = None  # with client keys, only this key may switch the model
    offered_models: tuple[str, ...] = ()  # with client keys, the only models a switch may load
    allowed_hosts: tuple[str, ...] = ()  # Host header names answered besides addresses and localhost
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 50 * 1024 * 1024
    # A body over the limit is still read (and thrown away) up to this much, so the client,
    # which sends it all before reading, gets the 413 rather than a reset connection.
    max_drain_bytes: int = 512 * 1024 * 1024
    max_context_tokens: int | None = None  # a lower limit than the model's context, if any
    images: ImageLimits = field(default_factory=ImageLimits)
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    retry_after_s: int = 2
    read_text: bool = True  # a picture's text quoted from the text reader (app/inference/seeing.py)
