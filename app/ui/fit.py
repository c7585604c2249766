"""Every top-level window fits the screen it opens on, its frame included.

Low-vision users often run their display at 150–200 % scaling, so the logical screen is
small (1920×1080 at 200 % is 960×540), while their text is large. One application-wide
event filter sees each window (main window, dialogs, Qt's own file dialogs and message
boxes, the summary window) as it is shown and, where it would reach past the screen's
available area (task bars excluded) with its title bar and borders, makes it smaller and
moves it inside. Windows keep their content reachable by scrolling (their layouts put what
may not fit in scroll areas), so shrinking never hides a control; what a window could not
be shrunk to is logged, and the tests on the real window fail on it.

The frame's size is known only once a window manager has framed a window: until one has
been seen, a typical frame is assumed; each window is checked again just after it appears.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QMargins, QObject, QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger(__name__)

TYPICAL_FRAME = QMargins(4, 32, 4, 4)  # a title bar and thin borders, until a real one is seen
FITTED_TYPES = (Qt.WindowType.Window, Qt.WindowType.Dialog)  # not menus, pop-ups or tooltips


def screen_of(window: QWidget) -> QScreen | None:
    """The screen a window opens on: its own, its parent window's, or the primary one."""
    parent = window.parentWidget()
    screen = window.screen() if window.isVisible() or parent is None else parent.window().screen()
    return screen or QGuiApplication.primaryScreen()


def frame_margins(window: QWidget) -> QMargins | None:
    """The window manager's frame around `window`, once it has one."""
    frame, inner = window.frameGeometry(), window.geometry()
    if frame == inner:
        return None
    return QMargins(
        inner.left() - frame.left(),
        inner.top() - frame.top(),
        frame.right() - inner.right(),
        frame.bottom() - inner.bottom(),
    )


def room_for(window: QWidget, frame: QMargins) -> QRect:
    """The area the window's contents may take: the screen's available area less the frame."""
    screen = screen_of(window)
    if screen is None:
        return QRect(0, 0, 1 << 16, 1 << 16)
    return screen.availableGeometry().marginsRemoved(frame)


def fits(window: QWidget, size: QSize, frame: QMargins | None = None) -> bool:
    """Whether `window` at `size` fits its screen with its frame."""
    room = room_for(window, frame or frame_margins(window) or TYPICAL_FRAME)
    return size.width() <= room.width() and size.height() <= room.height()


def fit_window(window: QWidget, frame: QMargins) -> bool:
    """Shrink and move `window` so that it and its frame lie in its screen's available area.

    Returns whether it fits now (False when its minimum size is larger than the screen).
    """
    room = room_for(window, frame)
    size = window.size().boundedTo(room.size()).expandedTo(window.minimumSize())
    if size != window.size():
        window.resize(size)
    # pos() is where the frame's top-left corner goes; keep the whole frame on the screen.
    outer_w = size.width() + frame.left() + frame.right()
    outer_h = size.height() + frame.top() + frame.bottom()
    area = room.marginsAdded(frame)
    x = max(area.left(), min(window.x(), area.right() + 1 - outer_w))
    y = max(area.top(), min(window.y(), area.bottom() + 1 - outer_h))
    if QPoint(x, y) != window.pos():
        window.move(x, y)
    ok = size.width() <= room.width() and size.height() <= room.height()
    if not ok:
        log.warning(
            "%r needs at least %d×%d but its screen has room for %d×%d",
            window.windowTitle() or type(window).__name__,
            window.minimumSize().width(),
            window.minimumSize().height(),
            room.width(),
            room.height(),
        )
    return ok


class ScreenFit(QObject):
    """Fits every top-level window of the application to its screen as it is shown."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.frame = QMargins(TYPICAL_FRAME)
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """On a window's Show: fit it now, and again once the window manager has framed it."""
        if (
            event.type() == QEvent.Type.Show
            and isinstance(watched, QWidget)
            and watched.isWindow()
            and watched.windowType() in FITTED_TYPES
        ):
            fit_window(watched, frame_margins(watched) or self.frame)
            QTimer.singleShot(200, watched, lambda: self._refit(watched))
        return False

    def _refit(self, window: QWidget) -> None:
        actual = frame_margins(window)
        if actual is not None:
            self.frame = actual  # the next window starts from the real frame
        if window.isVisible():
            fit_window(window, actual or self.frame)


def fit_to_screen(window: QWidget, kept: tuple[int, int] | None) -> None:
    """Size `window` for its screen: as last closed (`kept`) if that still fits, else 1280×800.

    Never larger than the screen's free area less the window's frame.
    """
    layout = window.layout()
    if layout is not None:
        layout.activate()  # the minimum size for the text size now in use
    if kept is not None and fits(window, QSize(*kept)):
        window.resize(*kept)
        return
    room = room_for(window, frame_margins(window) or TYPICAL_FRAME)
    window.resize(QSize(1280, 800).boundedTo(room.size()))
