"""Describing and asking from any program: the active window, the screen, the clipboard, the question box."""

from __future__ import annotations

import logging

import numpy as np

from app.capture.frames import CaptureError, Frame
from app.capture.screen import Target
from app.desktop.clipboard import clipboard_image
from app.desktop.pictures import PictureTaker
from app.live.session import LiveSession
from app.ui.feedback import Feedback
from app.ui.narration_view import NarrationView
from app.ui.own_windows import OwnWindows
from app.ui.question_box import QuestionBox

log = logging.getLogger(__name__)


class FromAnywhere:
    """One-off pictures and questions, asked from SmolSight or from any program by a system-wide key.

    The picture is taken on a thread of its own (`PictureTaker`, SmolSight's own windows left
    out); the question box is a window of its own that comes up over whatever is in front.
    """

    def __init__(
        self, session: LiveSession, view: NarrationView, feedback: Feedback, own_windows: OwnWindows
    ) -> None:
        self.session = session
        self.view = view
        self.feedback = feedback
        self.pictures = PictureTaker(own_windows)
        self.question_box = QuestionBox()
        self.pictures.taken.connect(self.on_picture_taken)
        self.pictures.failed.connect(feedback.show_error)
        self.question_box.asked.connect(self.ask_about_last)

    def describe_active_window(self) -> None:
        """Describe the window the person was using (the one under SmolSight, if SmolSight is active)."""
        self._describe_picture("window", "the active window")

    def describe_screen(self) -> None:
        """Describe the whole screen once, without narrating it."""
        self._describe_picture("screen", "the screen")

    def describe_clipboard(self) -> None:
        """Describe the picture on the clipboard."""
        if not self.view.require_ready():
            return
        try:
            image = clipboard_image()
        except CaptureError as exc:
            self.feedback.show_error(str(exc))
            return
        self.on_picture_taken(image, "the clipboard's picture")

    def _describe_picture(self, target: Target, what: str) -> None:
        if not self.view.require_ready():
            return
        if self.pictures.take(target, what):
            self.feedback.note(f"Looking at {what}…")

    def on_picture_taken(self, image: np.ndarray, what: str) -> None:
        """Describe a picture just taken (or pasted)."""
        log.info("describing %s", what)
        if self.session.describe_picture(Frame(image, 0.0), what) is not None:
            self.feedback.note(f"Describing {what}…")

    def on_global_key(self, name: str) -> None:
        """A system-wide key, pressed in any program."""
        {
            "screen": self.describe_screen,
            "window": self.describe_active_window,
            "ask": self.question_box.open_over_everything,
        }.get(name, self.describe_clipboard)()

    def ask_about_last(self, question: str) -> None:
        """Ask about the picture described last; the answer goes where descriptions go."""
        if not self.view.require_ready():
            return
        if self.session.ask_about_last(question) is not None:
            log.info("asking about the last picture")
            self.feedback.note(f"Thinking about: {question}")

    def close(self) -> None:
        """Close the question box and wait for a picture being taken."""
        self.question_box.close()
        self.pictures.wait()
