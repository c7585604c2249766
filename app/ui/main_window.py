"""The desktop app's main window: live picture, big caption, history, speech, keyboard first.

The window composes small pieces and holds the user's commands:
`MainPanel` (widgets and layout), `NarrationView` (what each session event shows and says),
`FromAnywhere` (pictures and questions from any program), `ModelNotices` (another model downloading),
`HistoryView` (the history list and its exports), `Preferences` (settings and saving),
`SourceChooser` (sample, camera, files), `SummaryLauncher` (video summaries) and `Menus`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeyEvent, QShowEvent
from PySide6.QtWidgets import QApplication, QMainWindow

from app.config import EngineSettings, Settings
from app.desktop.hotkeys import GLOBAL_KEYS, GlobalKeys
from app.inference.factory import MakeBackend
from app.inference.model_thread import ModelThread
from app.live.session import LiveSession
from app.narration.history import History
from app.speech.screen_reader_link import ScreenReaderLink
from app.speech.speaker import SpeechOutput
from app.ui.announcer import AccessibilityAnnouncements, Announcer, ScreenReader
from app.ui.dialogs import about_dialog, shortcuts_dialog
from app.ui.feedback import Feedback
from app.ui.fit import fit_to_screen
from app.ui.from_anywhere import FromAnywhere
from app.ui.history_view import HistoryView
from app.ui.main_panel import MainPanel, ModelStatusBar
from app.ui.menus import Menus
from app.ui.model_control import Fetch, ModelControl, engine_factory
from app.ui.model_notices import ModelNotices
from app.ui.narration_view import NarrationView
from app.ui.own_windows import OwnWindows
from app.ui.preferences import Preferences
from app.ui.source_chooser import SourceChooser, dropped_file, is_image, system_camera_names
from app.ui.summaries import SummaryLauncher
from app.ui.summary_window import SummaryWindow
from app.ui.theme import apply_theme
from app.ui.ui_state import UiState
from app.ui.widgets import on_click

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """SmolSight's window. Everything is injected: how to build a backend, the speaker, settings.

    Its pieces are built in the order they depend on each other, each given what it needs:
    the live session (the one door to the model thread), the widgets, the feedback lines, the
    history, the sources, the narration view, the preferences and the menus.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        make_backend: MakeBackend,
        speaker: SpeechOutput | None,
        saved_settings: Settings | None = None,
        config_path: Path | None = None,
        initial_source: str | None = None,
        camera_names: Callable[[], list[str]] | None = None,
        global_keys: GlobalKeys | None = None,
        screen_reader: ScreenReader | None = None,
        screen_reader_link: ScreenReaderLink | None = None,
        fetch_model: Fetch | None = None,
        model_downloaded: Callable[[EngineSettings], bool] | None = None,
    ) -> None:
        super().__init__()
        self.config_path = config_path
        self._camera_names = camera_names or system_camera_names
        self.speaker = speaker
        self.setWindowTitle("SmolSight")
        self.setAcceptDrops(True)

        self.ui_state = UiState(config_path)
        factory = engine_factory(make_backend, settings.engine, download=False)
        self.session = LiveSession(ModelThread(factory), settings)
        self.model = ModelControl(
            make_backend, self.session, settings.engine, self.ui_state, fetch_model, model_downloaded
        )
        self.screen_reader_link = screen_reader_link
        self.announcer = Announcer(
            speaker,
            screen_reader or AccessibilityAnnouncements(self),
            settings.speech.output,
            screen_reader_link,
        )
        self.panel = MainPanel(self.session.latest_frame)
        self.setCentralWidget(self.panel)
        self.status = ModelStatusBar(self.statusBar())
        self.feedback = Feedback(self.panel, self.status, self.announcer)
        self.history_view = HistoryView(
            History(enabled=settings.narration.keep_history),
            self.panel.history_list,
            parent=self,
            caption_text=self.panel.caption.text,
            feedback=self.feedback,
            forget_scene=self.session.forget_scene,
            folders=self.ui_state,
        )
        self.own_windows = OwnWindows()
        self.sources = SourceChooser(
            self,
            self.session,
            label=self.panel.source_label,
            video=self.panel.video,
            feedback=self.feedback,
            changed=lambda _text: self.view.say_screen_narration(self.sources.is_screen, self.setWindowTitle),
            own_windows=self.own_windows,
        )
        self.view = NarrationView(
            self.session,
            self.panel,
            self.status,
            feedback=self.feedback,
            announcer=self.announcer,
            history=self.history_view,
            source_name=self.sources.current_name,
        )
        self.prefs = Preferences(
            settings,
            saved=saved_settings,
            config_path=config_path,
            apply=self._on_settings_changed,
            feedback=self.feedback,
            announcer=self.announcer,
        )
        self.anywhere = FromAnywhere(self.session, self.view, self.feedback, self.own_windows)
        self.summaries = SummaryLauncher(
            self,
            self.session,
            announcer=self.announcer,
            feedback=self.feedback,
            view=self.view,
            ui_state=self.ui_state,
        )
        self.menus = Menus(self, self, self.prefs, self.history_view)
        self.notices = ModelNotices(
            self.model, self.session, feedback=self.feedback, status=self.status, announcer=self.announcer
        )
        self._sized = False  # sized for its screen at its first showing, when its text is laid out
        self._connect()
        self._apply_settings(settings)
        self.session.start()
        if screen_reader_link is not None:
            screen_reader_link.start()
        self.open_source(initial_source or "sample")
        self.view.speech_notice(settings.speech.output)
        self.global_keys = global_keys
        if global_keys is not None:
            global_keys.pressed.connect(self.anywhere.on_global_key)
            problem = global_keys.start()
            if problem:
                self.feedback.notice(
                    f"{problem}: use SmolSight's own keys instead, Ctrl+Shift+N (narrate the screen), "
                    "Ctrl+Shift+W (the active window), Ctrl+Shift+V (the clipboard)."
                )
        self.panel.video.setFocus()

    # ------------------------------------------------------------------ construction
    @property
    def settings(self) -> Settings:
        """The settings in use now."""
        return self.prefs.settings

    def _connect(self) -> None:
        """The pieces' signals to what they mean, once every piece exists."""
        p = self.panel
        self.model.model_chosen.connect(lambda model: self.prefs.update("engine", model=model))
        self.view.state_changed.connect(lambda _state: self.view.show_narration_state())
        if self.speaker is not None:
            self.speaker.status_changed.connect(self.view.on_speech_status)
        if self.screen_reader_link is not None:
            self.screen_reader_link.lost.connect(self.view.on_screen_reader_lost)
            self.screen_reader_link.changed.connect(self.view.on_screen_reader_found)
        p.question.returnPressed.connect(self.ask_question)
        on_click(p.ask_button, self.ask_question)
        on_click(p.describe_button, self.describe_now)
        on_click(p.happened_button, self.what_just_happened)
        on_click(p.narrate_button, self.toggle_narration)
        on_click(p.stop_button, self.cancel_answer)
        on_click(p.model_panel.download_button, self.model.download_model)
        on_click(p.model_panel.retry_button, self.model.reload)
        on_click(p.model_panel.folder_button, lambda: self.model.use_folder(self))
        on_click(p.copy_button, self.history_view.copy_selected)
        on_click(p.export_button, self.history_view.export_dialog)
        on_click(p.clear_button, self.history_view.clear)
        p.verbosity_box.currentIndexChanged.connect(
            lambda _i: self.prefs.set_verbosity(p.verbosity_box.currentData())
        )
        p.preset_box.currentIndexChanged.connect(lambda _i: self.view.look_for())
        p.target.textChanged.connect(lambda _t: self.view.look_for())
        p.keep_history_box.toggled.connect(self.prefs.keep_history)

    # ------------------------------------------------------------------ settings
    def _apply_settings(self, s: Settings) -> None:
        """Hand the settings to every piece: the only way they reach the running window."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, s.display.theme, s.display.caption_font_pt)
        self.panel.fit_text_sizes()
        self.menus.show_checked(theme=s.display.theme, verbosity=s.narration.verbosity, muted=s.speech.muted)
        self.panel.show_settings(s)
        self.session.apply(s)
        self.model.apply(s.engine)
        self.model.apply_accurate(s)
        self.summaries.apply(s.summary)
        self.history_view.apply(s.narration.keep_history)
        self.announcer.apply(s.speech)
        if self.speaker is not None:
            self.speaker.apply(s.speech)
            if s.speech.output != "text":
                # In its own process: the window never waits for it. Started for the screen
                # reader's choices too, so that it can take over at once if the screen reader stops.
                self.speaker.start()
            else:
                self.speaker.shutdown()
            if s.speech.muted:
                self.announcer.stop()

    def _on_settings_changed(self, _old: Settings, new: Settings) -> None:
        self._apply_settings(new)

    def open_settings(self) -> None:
        """Show the settings dialog; apply and save what the user confirms."""
        speaker = self.speaker
        self.prefs.open_dialog(
            self,
            voices=speaker.voice_names() if speaker is not None else [],
            engines=speaker.engine_names() if speaker is not None else [],
            accurate_downloaded=self.model.accurate_downloaded(self.settings),
        )

    # ------------------------------------------------------------------ sources and summaries
    def open_source(self, spec: str) -> bool:
        """Switch to a source (`sample`, `webcam:N` or a file path); False with a message on error."""
        return self.sources.open(spec)

    def narrate_screen(self) -> None:
        """Narrate what is on the screen (SmolSight's own window left out)."""
        self.open_source("screen")

    def describe_active_window(self) -> None:
        """Describe the window the person was using (`FromAnywhere`)."""
        self.anywhere.describe_active_window()

    def describe_clipboard(self) -> None:
        """Describe the picture on the clipboard (`FromAnywhere`)."""
        self.anywhere.describe_clipboard()

    def open_camera(self) -> None:
        """Use the camera chosen in the settings."""
        self.open_source(f"webcam:{self.settings.narration.camera_index}")

    def camera_entries(self) -> list[str]:
        """Camera names as the system lists them."""
        return self._camera_names()

    def open_file_dialog(self) -> None:
        """Let the user choose a video or image file."""
        self.sources.choose_file(self.ui_state)

    def summarize_dialog(self) -> None:
        """Choose a video file to summarize."""
        self.summaries.choose_file()

    def summarize_video(self, path: Path) -> SummaryWindow | None:
        """Open a summary window for `path` and start it."""
        return self.summaries.summarize(path)

    @property
    def summary_windows(self) -> list[SummaryWindow]:
        """The summary windows opened so far."""
        return self.summaries.windows

    def choose_drop_action(self, path: Path) -> str | None:
        """Ask whether to narrate a dropped video live or summarize it."""
        return self.summaries.choose_drop_action(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept dragged video and image files."""
        if dropped_file(event.mimeData().urls()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """Open the dropped file: an image as the source; a video live or as a summary."""
        path = dropped_file(event.mimeData().urls())
        if path is None:
            self.feedback.show_error("Only video and image files can be dropped here.")
            event.ignore()
            return
        event.acceptProposedAction()
        choice = "narrate" if is_image(path) else self.choose_drop_action(path)
        if choice == "narrate":
            self.open_source(str(path))
        elif choice == "summarize":
            self.summarize_video(path)

    # ------------------------------------------------------------------ commands
    def describe_now(self) -> None:
        """Describe the current picture now."""
        if not self.view.require_ready():
            return
        if self.session.describe_now() is None:
            self.feedback.show_error("There is no picture yet.")
            return
        self.feedback.note("Describing…")

    def read_text(self) -> None:
        """Read the current picture's text as written (the text reader: no model needed)."""
        if self.session.read_now() is None:
            self.feedback.show_error("There is no picture yet.")
            return
        self.feedback.note("Reading the text…")

    def what_just_happened(self) -> None:
        """Describe the last few seconds as a clip."""
        if not self.view.require_ready():
            return
        if self.session.what_just_happened() is None:
            self.feedback.show_error("There is no picture yet.")
            return
        self.feedback.note("Looking at the last few seconds…")

    def ask_question(self) -> None:
        """Ask the question typed in the box."""
        text = self.panel.question.text().strip()
        if not text:
            self.focus_question()
            return
        if not self.view.require_ready():
            return
        if self.session.ask(text) is not None:  # else the session said why; the question stays in the box
            self.feedback.note(f"Thinking about: {text}")

    def toggle_narration(self) -> None:
        """Turn automatic narration on or off."""
        on = not self.session.continuous
        self.session.continuous = on
        self.view.show_narration_state()
        waiting = " (it starts when the model is ready)" if on and not self.view.state.ready else ""
        self.announcer.announce(("Narration on" if on else "Narration off") + waiting, urgent=True)

    def cancel_answer(self) -> None:
        """Stop the answer being generated (and any waiting), and say so."""
        if not (self.session.busy or self.session.pending_jobs):
            self.feedback.note("Nothing is being answered.")
            return
        self.session.cancel()
        self.feedback.note("Stopped.")
        self.announcer.announce("Stopped.", urgent=True)

    def focus_question(self) -> None:
        """Move to the question box."""
        self.panel.question.setFocus()
        self.panel.question.selectAll()

    def focus_history(self) -> None:
        """Move to the history list."""
        self.panel.history_list.setFocus()

    def focus_picture(self) -> None:
        """Move to the live picture."""
        self.panel.video.setFocus()

    def stop_speech(self) -> None:
        """Silence speech at once: ours, and the screen reader's where its channel allows."""
        self.announcer.stop(screen_reader=True)

    def repeat_last(self) -> None:
        """Say the current caption again."""
        self.announcer.announce(self.panel.caption.text(), urgent=True)

    def export_history(self, path: Path) -> bool:
        """Write the history to `path` (.txt, .md or .json)."""
        return self.history_view.export(path)

    def show_shortcuts(self) -> None:
        """A dialog listing every action and its shortcut."""
        rows = [
            ("Describe now (when the picture or caption has focus)", "Space"),
            *self.menus.shortcut_rows(),
        ]
        rows += [(f"{key.purpose}, from any program", key.keys) for key in GLOBAL_KEYS]
        self.shortcuts_dialog = shortcuts_dialog(self, rows)
        self.shortcuts_dialog.exec()

    def show_about(self) -> None:
        """Version, model, engine, licence and the privacy note."""
        self.about_dialog = about_dialog(self, self.session.model_info)
        self.about_dialog.exec()

    def bring_forward(self, source: str | None = None) -> None:
        """Another launch asked for this window: show it in front, opening its file if it had one."""
        self.showNormal()
        self.raise_()
        self.activateWindow()
        QApplication.alert(self)  # where the desktop refuses to hand over focus, the task bar flashes
        if source:
            self.open_source(source)

    def showEvent(self, event: QShowEvent) -> None:
        """At the first showing, take the size it was closed at, or one that fits the screen."""
        if not self._sized:
            self._sized = True
            fit_to_screen(self, self.ui_state.size("main"))
            # Once the text size is laid out everywhere, how small the window may be is known.
            QTimer.singleShot(0, self, lambda: fit_to_screen(self, self.ui_state.size("main")))
        super().showEvent(event)

    # ------------------------------------------------------------------ keys and closing
    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Space (not taken by a focused button or text box) describes now."""
        if event.key() == Qt.Key.Key_Space and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.describe_now()
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Keep the window's size; stop speech, source and model thread (bounded) before closing."""
        if not self.isMaximized() and not self.isFullScreen():
            self.ui_state.remember_size("main", self.width(), self.height())
        self.announcer.stop()
        if self.global_keys is not None:
            self.global_keys.stop()
        self.anywhere.close()
        if self.screen_reader_link is not None:
            self.screen_reader_link.shutdown()
        self.own_windows.watch(False)
        if self.speaker is not None:
            self.speaker.shutdown()
        self.summaries.close_all()
        if not self.session.shutdown(timeout=10):
            log.error("the model thread did not stop within 10 s")
        super().closeEvent(event)
