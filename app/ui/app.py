"""Starting the desktop app: logging, the QApplication, the speaker and the main window."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QMessageLogContext, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app import __version__
from app.config import Settings
from app.desktop.hotkeys import GlobalKeys
from app.exit_codes import ExitCode
from app.inference.factory import create_backend
from app.logs import log_file, setup_logging
from app.paths import APP_ID, APP_NAME, icon_files
from app.speech.screen_reader_link import ScreenReaderLink
from app.speech.screen_readers import system_screen_readers
from app.speech.speaker import Speaker
from app.ui.display import window_problem
from app.ui.fit import ScreenFit
from app.ui.main_window import MainWindow
from app.ui.single_instance import InstanceServer, hand_over, server_name

log = logging.getLogger("smolsight")
qt_log = logging.getLogger("smolsight.qt")


def set_identity(app: QApplication) -> None:
    """Name, organization, desktop-file name and icon: how desktops and task bars know the app."""
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)  # matches the menu entry, so docks group the window under it
    icon = QIcon()
    for png in icon_files().values():
        icon.addFile(str(png))
    app.setWindowIcon(icon)
    if sys.platform == "win32":  # the task bar shows our icon, not Python's
        import ctypes

        ctypes.windll.shell32.SetCurrentProcessExplicitAppUserModelID(APP_ID)  # type: ignore[attr-defined]


def _qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's chatter (multimedia backends, speech plug-ins, PipeWire) goes to the log, not the terminal.

    A fatal message is the exception: Qt ends the process right after it, so it goes to the
    terminal too, or whoever started SmolSight would see it vanish without a word.
    """
    level = logging.ERROR if kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg) else logging.DEBUG
    qt_log.log(level, "%s (%s)", message, context.category or "qt")
    if kind == QtMsgType.QtFatalMsg:
        first = message.strip().splitlines()[0] if message.strip() else "Qt could not continue"
        print(f"smolsight: {first} (details: {log_file()})", file=sys.stderr, flush=True)


def run_app(
    settings: Settings,
    *,
    saved: Settings | None = None,
    source: str | None = None,
    config_path: Path | None = None,
) -> int:
    """Create the application and window, and run until the window closes; the exit code.

    `settings` is what this run uses (the file plus command-line flags); `saved` is the file's
    own, which is all the window ever writes back.
    """
    setup_logging()
    qInstallMessageHandler(_qt_message)
    problem = None if QApplication.instance() else window_problem()
    if problem:
        log.info("the window can't open: %s", problem)
        print(f"smolsight: {problem}", file=sys.stderr)
        return ExitCode.NO_DISPLAY
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    set_identity(app)
    ScreenFit(app)  # every window, dialogs included, fits the screen it opens on
    name = server_name(config_path)
    if hand_over(name, source):
        log.info("SmolSight is already open: brought it forward instead of opening a second window")
        return 0
    # Speech runs in its own process, started by the window when the output is speech: an
    # engine that never answers can't keep the window from opening or freeze it later.
    speaker = Speaker(settings.speech)
    window = MainWindow(
        settings=settings,
        saved_settings=saved,
        make_backend=create_backend,
        speaker=speaker,
        config_path=config_path,
        initial_source=source,
        global_keys=GlobalKeys(),  # describe the screen, a window or the clipboard from any program
        screen_reader_link=ScreenReaderLink(system_screen_readers),  # NVDA, JAWS, Orca, VoiceOver
    )
    instances = InstanceServer(name, window.bring_forward)
    window.show()
    QTimer.singleShot(0, window.focus_picture)
    # Ctrl-C in the terminal that started the app, or the desktop ending the session (SIGTERM),
    # closes it like the window's own Quit.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: QTimer.singleShot(0, window.close))
    wake = QTimer()  # Python runs signal handlers only between bytecodes: a timer gives it the chance
    wake.timeout.connect(lambda: None)
    wake.start(200)
    try:
        return int(app.exec())
    finally:
        wake.stop()
        instances.close()  # the next launch starts afresh instead of knocking on a closed window
        if window.isVisible():  # the loop ended some other way: stop speech, source and model thread
            window.close()
