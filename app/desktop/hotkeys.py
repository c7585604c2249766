"""System-wide keys: describe the screen, the active window or the clipboard from any program.

While SmolSight runs in the background, Ctrl+Alt+Shift+S, +W and +V describe the whole screen,
the active window and the clipboard's picture once, and Ctrl+Alt+Shift+A opens a small box to
ask about the picture described last. They are grabbed where the platform lets
a program do so: X11 (`XGrabKey` on the root window, python-xlib) and Windows
(`RegisterHotKey`). Wayland and macOS give no such grab to an ordinary program (macOS only
with the Accessibility permission, which SmolSight does not ask for yet); there, and where
another program already holds a key, `start()` returns one sentence saying so, which the
window says once, pointing to its own keys.

Each platform listens on a thread of its own and emits `pressed(name)`: a queued signal, so
the window's slot runs on the GUI thread.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GlobalKey:
    """One system-wide key: what it does (`name`), as people read it, and its letter."""

    name: str  # "screen", "window", "clipboard" or "ask"
    keys: str  # "Ctrl+Alt+Shift+S"
    letter: str  # "s"
    purpose: str  # "Describe the screen"


GLOBAL_KEYS = (
    GlobalKey("screen", "Ctrl+Alt+Shift+S", "s", "Describe the screen"),
    GlobalKey("window", "Ctrl+Alt+Shift+W", "w", "Describe the active window"),
    GlobalKey("clipboard", "Ctrl+Alt+Shift+V", "v", "Describe the clipboard's picture"),
    GlobalKey("ask", "Ctrl+Alt+Shift+A", "a", "Ask about the last picture"),
)


class GlobalKeys(QObject):
    """Grabs `keys` system-wide for as long as it runs; `pressed` names the one pressed."""

    pressed = Signal(str)

    def __init__(self, keys: tuple[GlobalKey, ...] = GLOBAL_KEYS) -> None:
        super().__init__()
        self.keys = keys
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._problem = ""
        self._win_thread_id = 0  # the Windows listener's thread, to post it WM_QUIT

    def start(self) -> str:
        """Grab the keys; '' when they work, else why not (one sentence)."""
        if self._thread is not None:
            return self._problem
        if sys.platform.startswith("linux"):
            wayland = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("XDG_SESSION_TYPE") == "wayland"
            if wayland or not os.environ.get("DISPLAY"):
                return "System-wide keys need X11; this desktop doesn't offer them to SmolSight"
            target = self._x11
        elif sys.platform == "win32":  # pragma: no cover - Windows only
            target = self._windows
        else:
            return "System-wide keys aren't available on this system yet"
        self._stop.clear()
        self._ready.clear()
        self._thread = threading.Thread(target=target, name="smolsight-global-keys", daemon=True)
        self._thread.start()
        if not self._ready.wait(5.0):
            self._problem = "System-wide keys could not be set up in time"
        return self._problem

    def stop(self, timeout: float = 2.0) -> bool:
        """Let go of the keys and end the listening thread; False if it did not end in time."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        if sys.platform == "win32" and self._win_thread_id:  # pragma: no cover - Windows only
            import ctypes

            ctypes.windll.user32.PostThreadMessageW(self._win_thread_id, 0x0012, 0, 0)  # type: ignore[attr-defined]
        thread.join(timeout)
        return not thread.is_alive()

    def _x11(self) -> None:
        from Xlib import XK, X, display, error

        try:
            d = display.Display()
        except Exception as exc:
            self._problem = f"System-wide keys need the X display, which refused ({exc})"
            self._ready.set()
            return
        root = d.screen().root
        refused: list[str] = []
        by_code: dict[int, str] = {}
        base = X.ControlMask | X.Mod1Mask | X.ShiftMask
        # Held Caps Lock (LockMask) or Num Lock (Mod2Mask) change the modifier state: grab those too.
        variants = (0, X.LockMask, X.Mod2Mask, X.LockMask | X.Mod2Mask)
        catcher = error.CatchError(error.BadAccess)
        for key in self.keys:
            code = d.keysym_to_keycode(XK.string_to_keysym(key.letter))
            by_code[code] = key.name
            for extra in variants:
                root.grab_key(code, base | extra, True, X.GrabModeAsync, X.GrabModeAsync, onerror=catcher)
            d.sync()
            if catcher.get_error():
                refused.append(key.keys)
                catcher.reset()
        if refused:
            self._problem = f"another program already uses {', '.join(refused)}"
        self._ready.set()
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select([d.fileno()], [], [], 0.2)
                if not readable and not d.pending_events():
                    continue
                while d.pending_events():
                    event = d.next_event()
                    if event.type == X.KeyPress and event.detail in by_code:
                        log.info("system-wide key: %s", by_code[event.detail])
                        self.pressed.emit(by_code[event.detail])
        finally:
            for code in by_code:
                for extra in variants:
                    root.ungrab_key(code, base | extra)
            d.close()

    def _windows(self) -> None:  # pragma: no cover - Windows only
        import ctypes
        from ctypes import wintypes

        user32, kernel32 = ctypes.windll.user32, ctypes.windll.kernel32  # type: ignore[attr-defined]
        self._win_thread_id = kernel32.GetCurrentThreadId()
        mod_alt, mod_control, mod_shift, mod_norepeat = 0x1, 0x2, 0x4, 0x4000
        refused = []
        for number, key in enumerate(self.keys, start=1):
            modifiers = mod_alt | mod_control | mod_shift | mod_norepeat
            if not user32.RegisterHotKey(None, number, modifiers, ord(key.letter.upper())):
                refused.append(key.keys)
        if refused:
            self._problem = f"another program already uses {', '.join(refused)}"
        self._ready.set()
        message = wintypes.MSG()
        try:
            while user32.GetMessageW(ctypes.byref(message), None, 0, 0) > 0:
                if message.message == 0x0312 and 1 <= message.wParam <= len(self.keys):  # WM_HOTKEY
                    self.pressed.emit(self.keys[message.wParam - 1].name)
        finally:
            for number in range(1, len(self.keys) + 1):
                user32.UnregisterHotKey(None, number)
