"""Choosing what to look at: the sample video, a camera, the screen, or a video or image file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

from app.capture.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES, MediaError
from app.capture.screen import ScreenSource
from app.capture.source_spec import parse_source
from app.capture.sources import SAMPLE_VIDEO
from app.live.session import LiveSession
from app.ui.feedback import Feedback
from app.ui.own_windows import OwnWindows
from app.ui.ui_state import UiState
from app.ui.video_view import VideoView

log = logging.getLogger(__name__)

SAMPLE_LABEL = "Sample video (no camera needed)"


class SourceChooser:
    """Opens sources on the live session and labels them for the user."""

    def __init__(
        self,
        parent: QWidget,
        session: LiveSession,
        *,
        label: QLabel,
        video: VideoView,
        feedback: Feedback,
        changed: Callable[[str], None],
        own_windows: OwnWindows | None = None,
    ) -> None:
        self.parent = parent
        self.own_windows = own_windows
        self.session = session
        self.label = label
        self.video = video
        self.feedback = feedback
        self._changed = changed
        self.spec = ""
        self.name = ""  # what the source is called in captions and history

    def current_name(self) -> str:
        """What the source is called in captions and history."""
        return self.name

    @property
    def is_screen(self) -> bool:
        """Whether the screen (or a window on it) is the source now."""
        return is_screen_spec(self.spec)

    def open(self, spec: str) -> bool:
        """Switch to `sample`, `webcam:N`, `screen[:N]`, `window` or a file; False (said why) if it can't."""
        try:
            source = parse_source(spec, loop=True)
        except MediaError as exc:
            self.feedback.show_error(str(exc))
            return False
        if isinstance(source, ScreenSource) and self.own_windows is not None:
            source.exclude = self.own_windows  # SmolSight never narrates its own windows
        if self.own_windows is not None:
            self.own_windows.watch(isinstance(source, ScreenSource))
        self.session.set_source(source)
        self.spec = spec
        self.name = SAMPLE_LABEL if spec == "sample" else source.name
        if spec == "sample":
            text = f"{SAMPLE_LABEL}: {SAMPLE_VIDEO.name}"
        elif spec.startswith("webcam"):
            text = source.name
        elif is_screen_spec(spec):
            text = f"{source.name} (SmolSight's own window left out; the pictures stay on this computer)"
        else:
            text = f"File: {source.name}"
        log.info("source: %s", text)
        self.label.setText(text)
        self.video.set_placeholder(f"Opening {source.name}…")
        self._changed(text)
        return True

    def choose_file(self, folders: UiState) -> None:
        """Let the user choose a video or image file (starting where they last looked)."""
        patterns = " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES | IMAGE_SUFFIXES))
        path, _ = QFileDialog.getOpenFileName(
            self.parent,
            "Open a video or image",
            folders.folder("media"),
            f"Videos and images ({patterns});;All files (*)",
        )
        if path:
            folders.remember("media", path)
            self.open(path)


def is_screen_spec(spec: str) -> bool:
    """Whether a source spec names the screen or the active window."""
    return spec in ("screen", "window") or spec.startswith("screen:")


def dropped_file(urls: list[QUrl]) -> Path | None:
    """The first local video or image file among dropped URLs."""
    for url in urls:
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES:
                return path
    return None


def is_image(path: Path) -> bool:
    """Whether the file name says still image."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def system_camera_names() -> list[str]:
    """Camera names as the system lists them (fast; no device is opened)."""
    try:
        from PySide6.QtMultimedia import QMediaDevices

        return [d.description() for d in QMediaDevices.videoInputs()]
    except Exception:
        return []
