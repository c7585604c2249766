"""The computer's own screen as a source: a monitor, or the active window, leaving SmolSight out.

Captured with `mss` (X11, Windows, macOS; a 1920×1080 grab costs a few milliseconds) on the
source's own thread, a few times a second, into the same `LatestFrame` as a camera, so the
1 FPS buffer, the change gate and the narrator treat the screen like any other picture.
SmolSight's own windows are painted out of every picture (`exclude`): it must never describe
its own captions. The active window is found through the window manager (X11: the EWMH
`_NET_ACTIVE_WINDOW`, with python-xlib; Windows: the foreground window); where SmolSight
itself is active, the window that was active before it is used.

Where the screen can't be read, one sentence says why and what to do: no display, Wayland
without X11, a monitor number that doesn't exist (the ones that do are listed), macOS's
Screen Recording permission.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from app.capture.buffer import LatestFrame
from app.capture.frames import CaptureError, Frame
from app.capture.sources import EventKind, ThreadedSource

Target = Literal["screen", "window"]


@dataclass(frozen=True)
class Rect:
    """A rectangle on the screen, in the screen's own pixels."""

    left: int
    top: int
    width: int
    height: int


class Grabber(Protocol):
    """What SmolSight uses of an `mss` screen grabber."""

    @property
    def monitors(self) -> list[dict[str, int]]:
        """All monitors together, then each monitor: left, top, width, height."""
        ...

    def grab(self, monitor: dict[str, int]) -> object:
        """The pixels of a rectangle, as BGRA rows (an array-like)."""
        ...

    def close(self) -> None:
        """Let go of the display."""


class ScreenUnavailable(CaptureError):
    """The screen can't be captured here; the message says why in one sentence."""

    def __init__(self, message: str, kind: EventKind = "unreadable") -> None:
        super().__init__(message)
        self.kind: EventKind = kind


def screen_problem(env: dict[str, str] | None = None) -> str | None:
    """Why the screen can't be captured here at all, or None when it can be tried."""
    env = dict(os.environ) if env is None else env
    if not sys.platform.startswith("linux"):
        return None
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
        # Through XWayland a capture shows only X11 programs' windows; the rest comes out black.
        return (
            "this desktop runs Wayland, where SmolSight can't capture the screen yet: "
            'log in to an X11 session ("GNOME on Xorg"), or use a camera or a file'
        )
    if env.get("DISPLAY"):
        return None
    return "there is no screen to capture here (DISPLAY is not set): run it in a desktop session"


def monitor_rects(grabber: Grabber) -> list[Rect]:
    """The monitors mss sees, numbered from 1 (its entry 0 is all of them together)."""
    return [Rect(m["left"], m["top"], m["width"], m["height"]) for m in grabber.monitors[1:]]


class ActiveWindow:
    """Where the active window is, asked of the window manager; never one of SmolSight's own.

    When SmolSight itself is active (its menu or key was used), the window just under it in
    the stacking order is taken: the one the person was in before.
    """

    def __init__(self) -> None:
        self._x11: Any = None

    def rect(self) -> Rect | None:
        """The rectangle of the active window (or the one under SmolSight), frame included."""
        if sys.platform == "win32":  # pragma: no cover - Windows only
            return self._windows_rect()
        if sys.platform.startswith("linux"):
            return self._x11_rect()
        return None

    def _x11_rect(self) -> Rect | None:
        from Xlib import X, display, error

        if self._x11 is None:
            self._x11 = display.Display()
        d = self._x11
        root = d.screen().root

        def windows(name: str) -> list[int]:
            prop = root.get_full_property(d.intern_atom(name), X.AnyPropertyType)
            return [int(w) for w in prop.value] if prop is not None else []

        skipped = {d.intern_atom(f"_NET_WM_WINDOW_TYPE_{kind}") for kind in ("DESKTOP", "DOCK")}
        for wid in [*windows("_NET_ACTIVE_WINDOW"), *reversed(windows("_NET_CLIENT_LIST_STACKING"))]:
            if not wid:
                continue
            try:
                window = d.create_resource_object("window", wid)
                if window.get_attributes().map_state != X.IsViewable:
                    continue
                kinds = window.get_full_property(d.intern_atom("_NET_WM_WINDOW_TYPE"), X.AnyPropertyType)
                if kinds is not None and skipped & {int(k) for k in kinds.value}:
                    continue
                pid = window.get_full_property(d.intern_atom("_NET_WM_PID"), X.AnyPropertyType)
                if pid is not None and pid.value and int(pid.value[0]) == os.getpid():
                    continue  # one of SmolSight's own windows
                geometry = window.get_geometry()
                origin = window.translate_coords(root, 0, 0)
                extents = window.get_full_property(d.intern_atom("_NET_FRAME_EXTENTS"), X.AnyPropertyType)
            except error.XError:
                continue  # it closed while being asked about
            left, right, top, bottom = (list(extents.value) if extents is not None else [0, 0, 0, 0])[:4]
            return Rect(
                -origin.x - left,
                -origin.y - top,
                geometry.width + left + right,
                geometry.height + top + bottom,
            )
        return None

    def _windows_rect(self) -> Rect | None:  # pragma: no cover - Windows only
        import ctypes
        from ctypes import wintypes

        user32 = ctypes.windll.user32  # type: ignore[attr-defined]
        next_below = 2  # GW_HWNDNEXT
        hwnd = user32.GetForegroundWindow()
        while hwnd:
            pid = wintypes.DWORD()
            user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
            visible = user32.IsWindowVisible(hwnd) and not user32.IsIconic(hwnd)
            if visible and pid.value != os.getpid() and user32.GetWindowTextLengthW(hwnd) > 0:
                box = wintypes.RECT()
                if user32.GetWindowRect(hwnd, ctypes.byref(box)):
                    return Rect(box.left, box.top, box.right - box.left, box.bottom - box.top)
            hwnd = user32.GetWindow(hwnd, next_below)
        return None

    def close(self) -> None:
        """Let go of the window manager."""
        if self._x11 is not None:
            self._x11.close()
            self._x11 = None


def paint_out(image: np.ndarray, region: Rect, hidden: Sequence[Rect]) -> None:
    """Black out, in a capture of `region`, every part of it that `hidden` covers."""
    for r in hidden:
        left, top = max(r.left, region.left), max(r.top, region.top)
        right = min(r.left + r.width, region.left + region.width)
        bottom = min(r.top + r.height, region.top + region.height)
        if right > left and bottom > top:
            image[top - region.top : bottom - region.top, left - region.left : right - region.left] = 0


class ScreenSource(ThreadedSource):
    """A monitor or the active window, captured `fps` times a second."""

    def __init__(
        self,
        target: Target = "screen",
        monitor: int = 1,
        *,
        fps: float = 2.0,
        exclude: Callable[[], Sequence[Rect]] | None = None,
        latest: LatestFrame | None = None,
    ) -> None:
        """`exclude` gives the rectangles to paint out (SmolSight's own windows), asked at every capture."""
        super().__init__(latest)
        self.target: Target = target
        self.monitor = monitor
        self.fps = fps
        self.exclude = exclude or (lambda: ())
        self.captures = 0  # pictures taken (for the benchmark's cost per capture)
        self.capture_s = 0.0  # time spent taking them
        self._grabber: Grabber | None = None
        self._active: ActiveWindow | None = None
        self._t0 = 0.0

    @property
    def name(self) -> str:
        """'The screen', 'Screen 2' or 'The active window'."""
        if self.target == "window":
            return "The active window"
        return "The screen" if self.monitor == 1 else f"Screen {self.monitor}"

    def _open(self) -> bool:
        try:
            self._grabber = open_grabber()
            if self.target == "screen":
                monitor_rect(self._grabber, self.monitor)
            else:
                self._active = ActiveWindow()
            frame = self._capture()
        except ScreenUnavailable as exc:
            self._emit(exc.kind, str(exc))
            return False
        self._t0 = time.monotonic()
        self.latest.put(Frame(frame, 0.0))
        return True

    def _read(self) -> bool:
        if self._stop.wait(1.0 / self.fps):
            return False
        try:
            image = self._capture()
        except ScreenUnavailable as exc:
            self._emit(exc.kind, str(exc))
            return False
        self.latest.put(Frame(image, time.monotonic() - self._t0))
        return True

    def _capture(self) -> np.ndarray:
        started = time.perf_counter()
        grabber = self._grabber
        assert grabber is not None
        if self.target == "screen":
            region = monitor_rect(grabber, self.monitor)
        else:
            assert self._active is not None
            region = self._active.rect() or monitor_rect(grabber, 1)
        image = grab(grabber, region)
        paint_out(image, region, list(self.exclude()))
        self.captures += 1
        self.capture_s += time.perf_counter() - started
        return image

    def _close(self) -> None:
        if self._active is not None:
            self._active.close()
        if self._grabber is not None:
            self._grabber.close()


def open_grabber() -> Grabber:
    """An mss screen grabber for this thread (mss handles are bound to the thread that made them)."""
    problem = screen_problem()
    if problem:
        raise ScreenUnavailable(problem, "no_camera")
    import mss

    try:
        return mss.MSS()
    except Exception as exc:  # mss raises its own ScreenShotError for an X server that refuses
        raise ScreenUnavailable(f"the screen can't be captured: {exc}") from None


def monitor_rect(grabber: Grabber, monitor: int) -> Rect:
    """Monitor `monitor` (from 1), or a sentence listing the ones that exist."""
    screens = monitor_rects(grabber)
    if not 1 <= monitor <= len(screens):
        names = ", ".join(f"screen:{i}" for i in range(1, len(screens) + 1)) or "none"
        raise ScreenUnavailable(f"there is no screen {monitor}; this computer has {names}", "no_camera")
    return screens[monitor - 1]


def grab(grabber: Grabber, region: Rect) -> np.ndarray:
    """The pixels of `region` as an RGB array (a black picture means macOS refused the capture)."""
    box = {
        "left": region.left,
        "top": region.top,
        "width": max(1, region.width),
        "height": max(1, region.height),
    }
    shot = grabber.grab(box)
    bgra = np.asarray(shot)
    image: np.ndarray = np.ascontiguousarray(bgra[:, :, 2::-1])
    if sys.platform == "darwin" and not image.any():
        raise ScreenUnavailable(
            "macOS refused the screen capture: allow SmolSight (or Terminal) in System Settings → "
            "Privacy & Security → Screen Recording, then start it again",
            "permission_denied",
        )
    return image


def capture_once(target: Target = "screen", monitor: int = 1, *, hidden: Sequence[Rect] = ()) -> np.ndarray:
    """One picture of a monitor or the active window, taken now, with `hidden` painted out."""
    grabber = open_grabber()
    active = ActiveWindow() if target == "window" else None
    try:
        region = (active.rect() if active is not None else None) or monitor_rect(grabber, monitor)
        image = grab(grabber, region)
        paint_out(image, region, hidden)
        return image
    finally:
        if active is not None:
            active.close()
        grabber.close()
