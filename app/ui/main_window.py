"""The desktop app's main window: live picture, big caption, history, speech, keyboard first.

The window composes small pieces and holds the user's commands:
`MainPanel` (widgets and layout), `NarrationView` (what each session event shows and says),
`HistoryView` (the history list and its exports), `Preferences` (settings and saving),
`SourceChooser` (sample, camera, files), `SummaryLauncher` (video summaries) and `Menus`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeyEvent, QShowEvent
from PySide6.QtWidgets import QApplication, QMainWindow

from app.capture.frames import CaptureError, Frame
from app.capture.screen import Target
from app.commands.clipboard import clipboard_image
from app.config import Settings
from app.inference.engine import Engine
from app.live.hotkeys import GlobalKeys
from app.live.pictures import PictureTaker
from app.live.session import LiveSession
from app.live.speech import SpeechOutput
from app.narration.history import History
from app.narration.policy import Narrator, NarratorSettings
from app.prompts import PRESETS
from app.ui.announcer import Announcer
from app.ui.dialogs import about_dialog, shortcuts_dialog
from app.ui.fit import TYPICAL_FRAME, fits, frame_margins, room_for
from app.ui.history_view import HistoryView
from app.ui.main_panel import MainPanel, ModelStatusBar
from app.ui.menus import Menus
from app.ui.model_control import MakeBackend, ModelControl
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
    """SmolSight's window. Everything is injected: how to build a backend, the speaker, settings."""

    source_changed = Signal(str)

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
    ) -> None:
        super().__init__()
        self.config_path = config_path
        self._camera_names = camera_names or system_camera_names
        self.speaker = speaker
        self.setWindowTitle("SmolSight")
        self.setAcceptDrops(True)

        self.ui_state = UiState(config_path)
        self.prefs = Preferences(
            settings,
            saved=saved_settings,
            config_path=config_path,
            apply=self._on_settings_changed,
            say=lambda text: self.view.note(text),
            announce=lambda text: self.announcer.announce(text, urgent=True),
            show_error=lambda text: self.view.show_error(text),
        )
        self.model = ModelControl(make_backend, self.prefs, self.ui_state)
        self.session = LiveSession(
            Engine(self.model.factory()),
            Narrator(NarratorSettings.from_settings(settings)),
            buffer_fps=settings.buffer_fps,
            buffer_size=settings.buffer_frames,
        )
        self.announcer = Announcer(self, speaker, settings.output)
        self.panel = MainPanel(lambda: self.session.latest)
        self.setCentralWidget(self.panel)
        self.status = ModelStatusBar(self.statusBar())
        p = self.panel
        # The widgets tests and menus reach, under the window's own names.
        self.video, self.caption, self.caption_status = p.video, p.caption, p.caption_status
        self.question, self.history_list, self.source_label = p.question, p.history_list, p.source_label
        self.narrate_button, self.keep_history_box = p.narrate_button, p.keep_history_box
        self.model_label, self.progress = self.status.model_label, self.status.progress
        self.latency_label = self.status.latency_label

        self.history = History(enabled=settings.keep_history)
        self.history_view = HistoryView(
            self.history,
            p.history_list,
            parent=self,
            caption_text=p.caption.text,
            say=lambda text: self.view.note(text),
            show_error=lambda text: self.view.show_error(text),
            forget_scene=self.session.narrator.log.clear,
            folders=self.ui_state,
        )
        self.own_windows = OwnWindows()
        self.sources = SourceChooser(
            self,
            lambda: self.session,
            label=p.source_label,
            video=p.video,
            show_error=lambda text: self.view.show_error(text),
            changed=self.source_changed.emit,
            own_windows=self.own_windows,
        )
        self.view = NarrationView(
            self.session,
            p,
            self.status,
            announcer=self.announcer,
            history=self.history_view,
            source_name=lambda: self.sources.name,
        )
        self.errors = self.view.errors
        self.pictures = PictureTaker(self.own_windows)
        self.pictures.taken.connect(self._on_picture_taken)
        self.pictures.failed.connect(self.view.show_error)
        self._narrating_screen = False
        self.source_changed.connect(lambda _text: self._show_privacy())
        self.model.session, self.model.view = self.session, self.view
        self.summaries = SummaryLauncher(
            self,
            lambda: self.session,
            announce=lambda text, urgent: self.announcer.announce(text, urgent=urgent),
            show_error=self.view.show_error,
            model_usable=self._model_usable,
            ui_state=self.ui_state,
        )
        self.view.state_changed.connect(lambda _state: self._show_narration_state())
        if speaker is not None:
            speaker.status_changed.connect(self.view.on_speech_status)
        self._wire_panel()
        self.menus = Menus(self, self, self.prefs, self.history_view)
        self.actions_by_name = self.menus.actions
        self._apply_settings(settings)
        self._sized = False  # sized for its screen at its first showing, when its text is laid out
        self.session.start()
        self.status.loading("Loading the model…")
        self.open_source(initial_source or "sample")
        self.view.speech_notice(settings.output)
        self.global_keys = global_keys
        if global_keys is not None:
            global_keys.pressed.connect(self._on_global_key)
            problem = global_keys.start()
            if problem:
                self.view.notice(
                    f"{problem}: use SmolSight's own keys instead, Ctrl+Shift+N (narrate the screen), "
                    "Ctrl+Shift+W (the active window), Ctrl+Shift+V (the clipboard)."
                )
        self.video.setFocus()

    # ------------------------------------------------------------------ construction
    @property
    def settings(self) -> Settings:
        """The settings in use now."""
        return self.prefs.settings

    def _wire_panel(self) -> None:
        p = self.panel
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
        p.preset_box.currentIndexChanged.connect(self._on_preset_box)
        p.target.textChanged.connect(lambda t: setattr(self.session.narrator.settings, "target", t.strip()))
        p.keep_history_box.toggled.connect(self._on_keep_history)

    # ------------------------------------------------------------------ settings
    def _apply_settings(self, s: Settings) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, s.theme, s.caption_font_pt)
        self.panel.fit_text_sizes()
        self.menus.show_checked(theme=s.theme, verbosity=s.verbosity, muted=s.muted)
        box = self.panel.verbosity_box
        box.blockSignals(True)
        box.setCurrentIndex(box.findData(s.verbosity))
        box.blockSignals(False)
        self.session.narrator.apply(s)
        self.announcer.output = s.output
        if self.speaker is not None:
            speaker = self.speaker
            speaker.muted = s.muted
            speaker.set_rate(s.speech_rate)
            speaker.set_volume(s.speech_volume)
            speaker.set_engine(s.speech_engine)
            speaker.set_voice(s.voice)
            if s.output == "speech":
                speaker.start()  # in its own process: the window never waits for it
            else:
                speaker.shutdown()
            if s.muted:
                self.announcer.stop()
        self.history.enabled = s.keep_history
        self.keep_history_box.blockSignals(True)
        self.keep_history_box.setChecked(s.keep_history)
        self.keep_history_box.blockSignals(False)

    def _on_settings_changed(self, old: Settings, new: Settings) -> None:
        self._apply_settings(new)
        if (new.buffer_fps, new.buffer_frames) != (old.buffer_fps, old.buffer_frames):
            self.session.set_buffer(new.buffer_fps, new.buffer_frames)
        if self.model.needs_reload(old, new):
            self.model.reload()

    def open_settings(self) -> None:
        """Show the settings dialog; apply and save what the user confirms."""
        speaker = self.speaker
        self.prefs.open_dialog(
            self,
            voices=speaker.voice_names() if speaker is not None else [],
            engines=speaker.engine_names() if speaker is not None else [],
        )

    # ------------------------------------------------------------------ sources and summaries
    def open_source(self, spec: str) -> bool:
        """Switch to a source (`sample`, `webcam:N` or a file path); False with a message on error."""
        return self.sources.open(spec)

    def narrate_screen(self) -> None:
        """Narrate what is on the screen (SmolSight's own window left out)."""
        self.open_source("screen")

    def describe_active_window(self) -> None:
        """Describe the window the person was using (the one under SmolSight, if SmolSight is active)."""
        self._describe_picture("window", "the active window")

    def describe_screen(self) -> None:
        """Describe the whole screen once, without narrating it."""
        self._describe_picture("screen", "the screen")

    def describe_clipboard(self) -> None:
        """Describe the picture on the clipboard."""
        if not self._model_usable():
            return
        try:
            image = clipboard_image()
        except CaptureError as exc:
            self.view.show_error(str(exc))
            return
        self._on_picture_taken(image, "the clipboard's picture")

    def _describe_picture(self, target: Target, what: str) -> None:
        if not self._model_usable():
            return
        if self.pictures.take(target, what):
            self.view.note(f"Looking at {what}…")

    def _on_picture_taken(self, image: object, what: str) -> None:
        log.info("describing %s", what)
        if self.session.describe_picture(Frame(image, 0.0), what) is not None:  # type: ignore[arg-type]
            self.view.note(f"Describing {what}…")

    def _on_global_key(self, name: str) -> None:
        """A system-wide key, pressed in any program."""
        {"screen": self.describe_screen, "window": self.describe_active_window}.get(
            name, self.describe_clipboard
        )()

    def _show_privacy(self) -> None:
        """While the screen is narrated, the title and status say so; the screen reader hears it once."""
        on = self.sources.is_screen
        if on == self._narrating_screen:
            return
        self._narrating_screen = on
        self.setWindowTitle("Narrating your screen" if on else "SmolSight")  # Qt adds " — SmolSight"
        if on:
            self.view.notice("Narrating your screen. The pictures stay on this computer.")
            self.announcer.announce("Narrating your screen. Nothing leaves this computer.", urgent=True)
        else:
            self.view.notice("")
            self.announcer.announce("Stopped narrating the screen.", urgent=True)

    def open_camera(self) -> None:
        """Use the camera chosen in the settings."""
        self.open_source(f"webcam:{self.settings.camera_index}")

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
            self.view.show_error("Only video and image files can be dropped here.")
            event.ignore()
            return
        event.acceptProposedAction()
        choice = "narrate" if is_image(path) else self.choose_drop_action(path)
        if choice == "narrate":
            self.open_source(str(path))
        elif choice == "summarize":
            self.summarize_video(path)

    # ------------------------------------------------------------------ commands
    def _model_usable(self) -> bool:
        if self.view.state != "ready" or not self.session.model_is_ready:
            self.view.show_error(self.view.not_ready_message())  # the caption's how-to stays as it is
            return False
        return True

    def _show_narration_state(self) -> None:
        on = self.session.continuous
        waiting = on and self.view.state != "ready"
        self.narrate_button.setChecked(on)
        self.narrate_button.setText(
            "Na&rration: waiting for the model" if waiting else "Na&rration: on" if on else "Na&rration: off"
        )

    def describe_now(self) -> None:
        """Describe the current picture now."""
        if not self._model_usable():
            return
        if self.session.describe_now() is None:
            self.view.show_error("There is no picture yet.")
            return
        self.view.note("Describing…")

    def what_just_happened(self) -> None:
        """Describe the last few seconds as a clip."""
        if not self._model_usable():
            return
        if self.session.what_just_happened() is None:
            self.view.show_error("There is no picture yet.")
            return
        self.view.note("Looking at the last few seconds…")

    def ask_question(self) -> None:
        """Ask the question typed in the box."""
        text = self.question.text().strip()
        if not text:
            self.focus_question()
            return
        if not self._model_usable():
            return
        if self.session.ask(text) is not None:  # else the session said why; the question stays in the box
            self.view.note(f"Thinking about: {text}")

    def toggle_narration(self) -> None:
        """Turn automatic narration on or off."""
        on = not self.session.continuous
        self.session.continuous = on
        self._show_narration_state()
        waiting = " (it starts when the model is ready)" if on and self.view.state != "ready" else ""
        self.announcer.announce(("Narration on" if on else "Narration off") + waiting, urgent=True)

    def cancel_answer(self) -> None:
        """Stop the answer being generated (and any waiting), and say so."""
        if not (self.session.engine.busy or self.session.pending_jobs):
            self.view.note("Nothing is being answered.")
            return
        self.session.cancel()
        self.view.note("Stopped.")
        self.announcer.announce("Stopped.", urgent=True)

    def focus_question(self) -> None:
        """Move to the question box."""
        self.question.setFocus()
        self.question.selectAll()

    def focus_history(self) -> None:
        """Move to the history list."""
        self.history_list.setFocus()

    def focus_picture(self) -> None:
        """Move to the live picture."""
        self.video.setFocus()

    def stop_speech(self) -> None:
        """Silence speech at once."""
        self.announcer.stop()

    def repeat_last(self) -> None:
        """Say the current caption again."""
        self.announcer.announce(self.caption.text(), urgent=True)

    def _on_preset_box(self, _index: int) -> None:
        preset = self.panel.preset_box.currentData()
        self.session.narrator.settings.preset = preset if preset in PRESETS else "scene"
        self.panel.target.setEnabled(preset == "find")

    def _on_keep_history(self, keep: bool) -> None:
        self.prefs.update(keep_history=keep)
        if not keep:
            self.history_view.clear()

    def export_history(self, path: Path) -> bool:
        """Write the history to `path` (.txt, .md or .json)."""
        return self.history_view.export(path)

    def show_shortcuts(self) -> None:
        """A dialog listing every action and its shortcut."""
        rows = [
            ("Describe now (when the picture or caption has focus)", "Space"),
            *self.menus.shortcut_rows(),
        ]
        self.shortcuts_dialog = shortcuts_dialog(self, rows)
        self.shortcuts_dialog.exec()

    def show_about(self) -> None:
        """Version, model, engine, licence and the privacy note."""
        self.about_dialog = about_dialog(self, self.session.engine.info)
        self.about_dialog.exec()

    def _fit_to_screen(self) -> None:
        """Size the window for its screen: as last closed if that still fits, else 1280×800.

        Never larger than the screen's free area less the window's frame.
        """
        layout = self.layout()
        if layout is not None:
            layout.activate()  # the minimum size for the text size now in use
        kept = self.ui_state.size("main")
        if kept is not None and fits(self, QSize(*kept)):
            self.resize(*kept)
            return
        room = room_for(self, frame_margins(self) or TYPICAL_FRAME)
        self.resize(QSize(1280, 800).boundedTo(room.size()))

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
            self._fit_to_screen()
            # Once the text size is laid out everywhere, how small the window may be is known.
            QTimer.singleShot(0, self, self._fit_to_screen)
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
        self.own_windows.watch(False)
        self.pictures.wait()
        if self.speaker is not None:
            self.speaker.shutdown()
        self.summaries.close_all()
        if not self.session.shutdown(timeout=10):
            log.error("the model thread did not stop within 10 s")
        super().closeEvent(event)
