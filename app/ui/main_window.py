"""The desktop app's main window: live picture, big caption, history, speech, keyboard first."""

from __future__ import annotations

import functools
import itertools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.capture.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES, MediaError, probe_video
from app.capture.sources import SAMPLE_VIDEO, CaptureEvent, parse_source
from app.config import Settings, save_settings
from app.inference.base import VisionBackend
from app.inference.prompts import format_clock
from app.inference.types import BackendInfo
from app.inference.worker import InferenceEngine
from app.live.session import LiveSession, NarrationEvent
from app.live.speech import Speaker
from app.narration.history import EXPORT_FORMATS, HistoryEntry, now_iso, write_export
from app.narration.policy import Narrator, NarratorSettings
from app.narration.prompts import PRESETS
from app.ui.announcer import Announcer
from app.ui.settings_dialog import VERBOSITY, SettingsDialog
from app.ui.summary_window import SummaryWindow
from app.ui.theme import THEMES, apply_theme
from app.ui.video_view import VideoView
from app.ui.widgets import make_button

log = logging.getLogger(__name__)
BackendFactory = Callable[[], VisionBackend]
PRESET_LABELS = {
    "scene": "Describe the scene",
    "text": "Read text",
    "find": "Find an object",
    "people": "Count people",
}
SAMPLE_LABEL = "Sample video (no camera needed)"


class MainWindow(QMainWindow):
    """SmolSight's window. Everything is injected: backend factory, speaker, settings."""

    source_changed = Signal(str)

    def __init__(
        self,
        *,
        settings: Settings,
        backend_factory: BackendFactory,
        speaker: Speaker | None,
        config_path: Path | None = None,
        initial_source: str | None = None,
        camera_names: Callable[[], list[str]] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.config_path = config_path
        self._backend_factory = backend_factory
        self._camera_names = camera_names or _camera_names
        self.speaker = speaker
        self.history: list[HistoryEntry] = []
        self.source_name = ""
        self.errors: list[str] = []  # every error shown, newest last
        self.summary_windows: list[SummaryWindow] = []
        self.setWindowTitle("SmolSight")
        self.setAcceptDrops(True)
        self.resize(1280, 800)

        self.session = self._make_session()
        self.announcer = Announcer(self, speaker, settings.output)
        self._build_widgets()
        self._build_actions()
        self._apply_settings(settings, first=True)
        self.session.start()
        self._set_loading(True, "Loading the model…")
        self.open_source(initial_source or "sample")
        if settings.output == "speech" and speaker is not None and Announcer.screen_reader_active():
            self.caption_status.setText(
                "A screen reader is running. Settings → Output can send descriptions to it "
                "instead of SmolSight's own voice."
            )
        if settings.output == "speech" and speaker is None:
            self.show_error(
                "Speech is not available on this system (on Linux, install speech-dispatcher); "
                "descriptions are shown as text. Settings can send them to your screen reader.",
                announce=False,
            )
        self.video.setFocus()

    # ------------------------------------------------------------------ construction
    def _make_session(self) -> LiveSession:
        s = self.settings
        narrator = Narrator(
            NarratorSettings(
                verbosity=s.verbosity,
                min_interval_s=s.narration_interval_s,
                change_threshold=s.change_threshold,
                clip_seconds=s.clip_seconds,
                memory=s.memory,
            )
        )
        engine = InferenceEngine(self._backend_factory)
        session = LiveSession(engine, narrator, buffer_fps=s.buffer_fps, buffer_size=s.buffer_frames)
        session.narration.connect(self._on_narration)
        session.partial.connect(self._on_partial)
        session.capture_event.connect(self._on_capture_event)
        session.error.connect(self._on_model_error)
        session.model_ready.connect(self._on_model_ready)
        session.model_failed.connect(self._on_model_failed)
        session.busy_changed.connect(self._on_busy_changed)
        engine.signals.load_progress.connect(self._on_load_progress)
        return session

    def _build_widgets(self) -> None:
        self.source_label = QLabel("")
        self.source_label.setObjectName("sourceLabel")
        self.source_label.setAccessibleName("Source")
        self.video = VideoView(lambda: self.session.latest)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(self.source_label)
        lv.addWidget(self.video, 1)

        self.caption = QLabel("Starting…")
        self.caption.setObjectName("caption")
        self.caption.setWordWrap(True)
        self.caption.setMinimumHeight(160)
        # Long unbroken words (URLs, model noise) must wrap, not widen the window.
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.caption.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.caption.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.caption.setAccessibleName("Current description")
        self.caption_status = QLabel("")
        self.caption_status.setObjectName("captionStatus")
        self.caption_status.setWordWrap(True)
        self.caption_status.setAccessibleName("Description status")
        self.caption_status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.question = QLineEdit()
        self.question.setPlaceholderText("Ask about the scene, e.g. What colour is the mug?")
        self.question.setAccessibleName("Question")
        self.question.setAccessibleDescription(
            "Type a question and press Enter. Earlier descriptions are remembered."
        )
        self.question.returnPressed.connect(self.ask_question)
        self.ask_button = make_button("&Ask", "Ask the question", self.ask_question)
        qrow = QHBoxLayout()
        qrow.addWidget(self.question, 1)
        qrow.addWidget(self.ask_button)

        self.describe_button = make_button(
            "&Describe now", "Describe the current picture now", self.describe_now
        )
        self.happened_button = make_button(
            "What just &happened?", "Describe the last few seconds", self.what_just_happened
        )
        self.narrate_button = make_button(
            "&Narration: on", "Turn automatic narration on or off", self.toggle_narration
        )
        self.narrate_button.setCheckable(True)
        self.narrate_button.setChecked(True)
        self.stop_button = make_button("Stop &answer", "Stop the answer being written", self.cancel_answer)
        brow = QHBoxLayout()
        for b in (self.describe_button, self.happened_button, self.narrate_button, self.stop_button):
            brow.addWidget(b)

        self.verbosity_box = QComboBox()
        for key, label in VERBOSITY.items():
            self.verbosity_box.addItem(label, key)
        self.verbosity_box.setAccessibleName("Verbosity")
        self.verbosity_box.currentIndexChanged.connect(self._on_verbosity_box)
        self.preset_box = QComboBox()
        for key, label in PRESET_LABELS.items():
            self.preset_box.addItem(label, key)
        self.preset_box.setAccessibleName("What to look for")
        self.preset_box.currentIndexChanged.connect(self._on_preset_box)
        self.target = QLineEdit()
        self.target.setPlaceholderText("object to find")
        self.target.setAccessibleName("Object to find")
        self.target.setEnabled(False)
        self.target.textChanged.connect(
            lambda t: setattr(self.session.narrator.settings, "target", t.strip())
        )
        mrow = QHBoxLayout()
        mrow.addWidget(_buddy("&Look for:", self.preset_box))
        mrow.addWidget(self.preset_box)
        mrow.addWidget(self.target)
        mrow.addWidget(_buddy("&Verbosity:", self.verbosity_box))
        mrow.addWidget(self.verbosity_box)

        self.history_list = QListWidget()
        self.history_list.setObjectName("history")
        self.history_list.setWordWrap(True)
        self.history_list.setAccessibleName("History of descriptions")
        self.history_list.setAccessibleDescription(
            "Newest last. Use the arrow keys; Ctrl+C copies the selected one."
        )
        self.copy_button = make_button("&Copy", "Copy the selected description", self.copy_selected)
        self.export_button = make_button(
            "E&xport…", "Export the history to a file", self.export_history_dialog
        )
        self.clear_button = make_button("C&lear", "Clear the history", self.clear_history)
        self.keep_history_box = QCheckBox("&Keep history")
        self.keep_history_box.setAccessibleName("Keep history")
        self.keep_history_box.toggled.connect(self._on_keep_history)
        hrow = QHBoxLayout()
        for w in (self.copy_button, self.export_button, self.clear_button, self.keep_history_box):
            hrow.addWidget(w)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.addWidget(self.caption, 2)
        rv.addWidget(self.caption_status)
        rv.addLayout(qrow)
        rv.addLayout(brow)
        rv.addLayout(mrow)
        history_label = _buddy("&History:", self.history_list)
        rv.addWidget(history_label)
        rv.addWidget(self.history_list, 3)
        rv.addLayout(hrow)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([640, 640])
        self.setCentralWidget(splitter)

        self.model_label = QLabel("Model: loading")
        self.model_label.setAccessibleName("Model status")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Model loading progress")
        self.progress.setMaximumWidth(220)
        self.latency_label = QLabel("")
        self.latency_label.setAccessibleName("Latency")
        bar = self.statusBar()
        bar.addWidget(self.model_label, 1)
        bar.addPermanentWidget(self.latency_label)
        bar.addPermanentWidget(self.progress)

        # Focus order: picture → caption → question → buttons → options → history.
        order: list[QWidget] = [
            self.video,
            self.caption,
            self.question,
            self.ask_button,
            self.describe_button,
            self.happened_button,
            self.narrate_button,
            self.stop_button,
            self.preset_box,
            self.target,
            self.verbosity_box,
            self.history_list,
            self.copy_button,
            self.export_button,
            self.clear_button,
            self.keep_history_box,
        ]
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)

    def _action(
        self,
        menu: Any,
        text: str,
        shortcut: str | QKeySequence.StandardKey | None,
        slot: Callable[[], Any],
        name: str,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        action.setObjectName(name)
        menu.addAction(action)
        self.addAction(action)
        self.actions_by_name[name] = action
        return action

    def _build_actions(self) -> None:
        self.actions_by_name: dict[str, QAction] = {}
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Open video or image…", "Ctrl+O", self.open_file_dialog, "open")
        self._action(f, "S&ummarize a video…", "Ctrl+Shift+O", self.summarize_dialog, "summarize")
        self.camera_menu = f.addMenu("Use &camera")
        self.camera_menu.aboutToShow.connect(self._fill_camera_menu)
        self._action(f, "Use the &sample video", "Ctrl+Shift+S", lambda: self.open_source("sample"), "sample")
        self._action(
            f, "&Camera", "Ctrl+K", lambda: self.open_source(f"webcam:{self.settings.camera_index}"), "camera"
        )
        f.addSeparator()
        self._action(f, "&Export history…", "Ctrl+E", self.export_history_dialog, "export")
        self._action(f, "&Settings…", "Ctrl+,", self.open_settings, "settings")
        f.addSeparator()
        self._action(f, "&Quit", "Ctrl+Q", self.close, "quit")

        n = mb.addMenu("&Narration")
        self._action(n, "&Describe now (Space)", "Ctrl+D", self.describe_now, "describe")
        self._action(n, "What just &happened?", "Ctrl+H", self.what_just_happened, "what_happened")
        self._action(n, "&Ask a question", "Ctrl+L", self.focus_question, "ask")
        self._action(n, "&Narration on/off", "Ctrl+N", self.toggle_narration, "toggle_narration")
        self._action(n, "&Stop the answer", "Ctrl+.", self.cancel_answer, "cancel")
        n.addSeparator()
        vmenu = n.addMenu("&Verbosity")
        self._verbosity_group = QActionGroup(self)
        for i, (key, label) in enumerate(VERBOSITY.items(), start=1):
            act = self._action(
                vmenu, label, f"Ctrl+{i}", functools.partial(self.set_verbosity, key), f"verbosity_{key}"
            )
            act.setCheckable(True)
            self._verbosity_group.addAction(act)

        s = mb.addMenu("&Speech")
        self._action(s, "&Stop speaking", "Esc", self.stop_speech, "stop_speech")
        self._action(s, "&Repeat the last description", "Ctrl+R", self.repeat_last, "repeat")
        self.mute_action = self._action(s, "&Mute", "Ctrl+M", self.toggle_mute, "mute")
        self.mute_action.setCheckable(True)
        self._action(s, "Speak &faster", "Ctrl+]", lambda: self.change_rate(0.1), "faster")
        self._action(s, "Speak s&lower", "Ctrl+[", lambda: self.change_rate(-0.1), "slower")

        v = mb.addMenu("&View")
        self._action(
            v, "&Bigger text", QKeySequence.StandardKey.ZoomIn, lambda: self.change_font(4), "bigger"
        )
        self._action(
            v, "&Smaller text", QKeySequence.StandardKey.ZoomOut, lambda: self.change_font(-4), "smaller"
        )
        self._action(v, "Go to &history", "Ctrl+Shift+H", self.history_list.setFocus, "focus_history")
        self._action(v, "Go to the &picture", "Ctrl+Shift+P", self.video.setFocus, "focus_picture")
        self._action(v, "&Next theme", "Ctrl+T", self.next_theme, "next_theme")
        tmenu = v.addMenu("&Theme")
        self._theme_group = QActionGroup(self)
        for key, label in THEMES.items():
            act = self._action(tmenu, label, None, functools.partial(self.set_theme, key), f"theme_{key}")
            act.setCheckable(True)
            self._theme_group.addAction(act)

        h = mb.addMenu("&Help")
        self._action(h, "&Keyboard shortcuts", "F1", self.show_shortcuts, "shortcuts")
        self._action(h, "&About SmolSight", "Shift+F1", self.show_about, "about")

    # ------------------------------------------------------------------ settings
    def _apply_settings(self, s: Settings, *, first: bool = False) -> None:
        self.settings = s
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, s.theme, s.caption_font_pt)
        for key, act in self.actions_by_name.items():
            if key.startswith("theme_"):
                act.setChecked(key == f"theme_{s.theme}")
            if key.startswith("verbosity_"):
                act.setChecked(key == f"verbosity_{s.verbosity}")
        self.verbosity_box.blockSignals(True)
        self.verbosity_box.setCurrentIndex(self.verbosity_box.findData(s.verbosity))
        self.verbosity_box.blockSignals(False)
        ns = self.session.narrator.settings
        ns.verbosity = s.verbosity
        ns.min_interval_s = s.narration_interval_s
        ns.change_threshold = s.change_threshold
        ns.clip_seconds = s.clip_seconds
        ns.memory = s.memory
        self.session.narrator.gate.threshold = s.change_threshold
        self.session.narrator.log.enabled = s.memory
        self.announcer.output = s.output
        if self.speaker is not None:
            self.speaker.set_rate(s.speech_rate)
            self.speaker.set_volume(s.speech_volume)
            self.speaker.muted = s.muted
            if s.voice:
                self.speaker.set_voice(s.voice)
        self.mute_action.setChecked(s.muted)
        self.keep_history_box.blockSignals(True)
        self.keep_history_box.setChecked(s.keep_history)
        self.keep_history_box.blockSignals(False)

    def _save(self) -> None:
        try:
            save_settings(self.settings, self.config_path)
        except OSError as exc:
            self.show_error(f"Settings could not be saved: {exc.strerror or exc}")

    def _update_setting(self, **changes: Any) -> None:
        self._apply_settings(self.settings.model_copy(update=changes))
        self._save()

    def open_settings(self) -> None:
        """Show the settings dialog; apply and save what the user confirms."""
        voices = self.speaker.voice_names() if self.speaker is not None else []
        dialog = SettingsDialog(self.settings, voices=voices, parent=self)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.result_settings is None:
            return
        new = dialog.result_settings
        engine_keys = ("model", "backend", "device", "dtype", "base_url", "api_key", "remote_model")
        restart = any(getattr(new, k) != getattr(self.settings, k) for k in engine_keys)
        rebuffer = (new.buffer_fps, new.buffer_frames) != (
            self.settings.buffer_fps,
            self.settings.buffer_frames,
        )
        self._apply_settings(new)
        self._save()
        if restart or rebuffer:
            self.restart_engine()
        self.caption_status.setText("Settings saved.")

    def restart_engine(self, backend_factory: BackendFactory | None = None) -> None:
        """Reload the model (new model, engine or device) keeping the current source."""
        from app.cli import engine_from_settings

        source = self.source_name
        self.session.shutdown(timeout=10)
        self._backend_factory = backend_factory or (lambda: engine_from_settings(self.settings))
        self.session = self._make_session()
        self._apply_settings(self.settings)
        self.session.start()
        self._set_loading(True, "Loading the model…")
        self.open_source(self._current_spec or source)

    # ------------------------------------------------------------------ sources
    _current_spec: str = ""

    def open_source(self, spec: str) -> bool:
        """Switch to a source (`sample`, `webcam:N` or a file path); False with a message on error."""
        try:
            source = parse_source(spec, loop=True)
        except MediaError as exc:
            self.show_error(str(exc))
            return False
        self.session.set_source(source)
        self._current_spec = spec
        self.source_name = SAMPLE_LABEL if spec == "sample" else source.name
        if spec == "sample":
            label = f"{SAMPLE_LABEL}: {SAMPLE_VIDEO.name}"
        elif spec.startswith("webcam"):
            label = source.name
        else:
            label = f"File: {source.name}"
        self.source_label.setText(label)
        self.video.set_placeholder(f"Opening {source.name}…")
        self.source_changed.emit(label)
        return True

    def open_file_dialog(self) -> None:
        """Let the user choose a video or image file."""
        patterns = " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES | IMAGE_SUFFIXES))
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a video or image", "", f"Videos and images ({patterns});;All files (*)"
        )
        if path:
            self.open_source(path)

    def _fill_camera_menu(self) -> None:
        self.camera_menu.clear()
        names = self._camera_names()
        if not names:
            act = self.camera_menu.addAction("No camera found")
            act.setEnabled(False)
            return
        for i, name in enumerate(names):
            act = self.camera_menu.addAction(f"{i}: {name}")
            act.triggered.connect(lambda _c=False, i=i: self.open_source(f"webcam:{i}"))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept dragged video and image files."""
        if _dropped_file(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """Open the dropped file: an image as the source; a video live or as a summary."""
        path = _dropped_file(event.mimeData())
        if path is None:
            self.show_error("Only video and image files can be dropped here.")
            event.ignore()
            return
        event.acceptProposedAction()
        choice = "narrate" if path.suffix.lower() in IMAGE_SUFFIXES else self.choose_drop_action(path)
        if choice == "narrate":
            self.open_source(str(path))
        elif choice == "summarize":
            self.summarize_video(path)

    def choose_drop_action(self, path: Path) -> str | None:
        """Ask whether to narrate a dropped video live or summarize it."""
        box = QMessageBox(self)
        box.setWindowTitle("Video dropped")
        box.setText(f"What should SmolSight do with {path.name}?")
        live = box.addButton("&Narrate it live", QMessageBox.ButtonRole.AcceptRole)
        summary = box.addButton("&Summarize it", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(summary)
        box.exec()
        clicked = box.clickedButton()
        return "narrate" if clicked is live else "summarize" if clicked is summary else None

    def summarize_dialog(self) -> None:
        """Choose a video file to summarize."""
        patterns = " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES))
        path, _ = QFileDialog.getOpenFileName(
            self, "Summarize a video", "", f"Videos ({patterns});;All files (*)"
        )
        if path:
            self.summarize_video(Path(path))

    def summarize_video(self, path: Path) -> SummaryWindow | None:
        """Open a summary window for `path` and start; narration pauses meanwhile."""
        try:
            probe_video(path)
        except MediaError as exc:
            self.show_error(str(exc))
            return None
        if not self._model_usable():
            return None
        was_on = self.session.continuous
        self.session.continuous = False
        window = SummaryWindow(
            path,
            self.session.engine,
            announce=lambda text, urgent: self.announcer.announce(text, urgent=urgent),
        )
        window.finished.connect(lambda _r: setattr(self.session, "continuous", was_on))
        self.summary_windows.append(window)
        window.show()
        window.start()
        return window

    # ------------------------------------------------------------------ commands
    def describe_now(self) -> None:
        """Describe the current picture now."""
        if not self._model_usable():
            return
        if self.session.describe_now() is None:
            self.show_error("There is no picture yet.")
            return
        self.caption_status.setText("Describing…")

    def what_just_happened(self) -> None:
        """Describe the last few seconds as a clip."""
        if not self._model_usable():
            return
        if self.session.what_just_happened() is None:
            self.show_error("There is no picture yet.")
            return
        self.caption_status.setText("Looking at the last few seconds…")

    def focus_question(self) -> None:
        """Move to the question box."""
        self.question.setFocus()
        self.question.selectAll()

    def ask_question(self) -> None:
        """Ask the question typed in the box."""
        text = self.question.text().strip()
        if not text:
            self.focus_question()
            return
        if not self._model_usable():
            return
        self.session.ask(text)
        self.caption_status.setText(f"Thinking about: {text}")

    def toggle_narration(self) -> None:
        """Turn automatic narration on or off."""
        on = not self.session.continuous
        self.session.continuous = on
        self.narrate_button.setChecked(on)
        self.narrate_button.setText("&Narration: on" if on else "&Narration: off")
        self.announcer.announce("Narration on" if on else "Narration off", urgent=True)

    def cancel_answer(self) -> None:
        """Stop the answer being generated."""
        self.session.cancel()
        self.caption_status.setText("Stopped.")

    def stop_speech(self) -> None:
        """Silence speech at once."""
        self.announcer.stop()

    def repeat_last(self) -> None:
        """Say the current caption again."""
        self.announcer.announce(self.caption.text(), urgent=True)

    def toggle_mute(self) -> None:
        """Mute or unmute speech."""
        muted = not self.settings.muted
        if muted:
            self.announcer.stop()
        self._update_setting(muted=muted)
        self.caption_status.setText("Speech muted." if muted else "Speech on.")

    def change_rate(self, delta: float) -> None:
        """Speak faster or slower."""
        rate = max(-1.0, min(1.0, round(self.settings.speech_rate + delta, 2)))
        self._update_setting(speech_rate=rate)
        self.caption_status.setText(f"Speech rate {rate:+.1f}")

    def change_font(self, delta: int) -> None:
        """Make the caption text bigger or smaller."""
        self._update_setting(caption_font_pt=max(10, min(96, self.settings.caption_font_pt + delta)))

    def set_theme(self, theme: str) -> None:
        """Switch theme."""
        self._update_setting(theme=theme)

    def next_theme(self) -> None:
        """Cycle system → light → dark → high contrast, and say which."""
        names = list(THEMES)
        theme = names[(names.index(self.settings.theme) + 1) % len(names)]
        self.set_theme(theme)
        self.announcer.announce(f"Theme: {THEMES[theme]}", urgent=True)

    def set_verbosity(self, verbosity: str) -> None:
        """Brief, normal or detailed descriptions."""
        self._update_setting(verbosity=verbosity)

    def _on_verbosity_box(self, _index: int) -> None:
        self.set_verbosity(self.verbosity_box.currentData())

    def _on_preset_box(self, _index: int) -> None:
        preset = self.preset_box.currentData()
        self.session.narrator.settings.preset = preset if preset in PRESETS else "scene"
        self.target.setEnabled(preset == "find")

    def _on_keep_history(self, keep: bool) -> None:
        self._update_setting(keep_history=keep)
        if not keep:
            self.clear_history()

    def copy_selected(self) -> None:
        """Copy the selected history entry (or the caption) to the clipboard."""
        item = self.history_list.currentItem()
        text = item.text() if item is not None else self.caption.text()
        QApplication.clipboard().setText(text)
        self.caption_status.setText("Copied.")

    def clear_history(self) -> None:
        """Forget the history list (the scene memory too)."""
        self.history.clear()
        self.history_list.clear()
        self.session.narrator.log.clear()

    def export_history_dialog(self) -> None:
        """Ask for a file name and export the history."""
        if not self.history:
            self.show_error("The history is empty: nothing to export.")
            return
        filters = ";;".join(f"{label} (*{suffix})" for suffix, label in EXPORT_FORMATS.items())
        path, _ = QFileDialog.getSaveFileName(self, "Export history", "smolsight-history.txt", filters)
        if path:
            self.export_history(Path(path))

    def export_history(self, path: Path) -> bool:
        """Write the history to `path` (.txt, .md or .json)."""
        try:
            write_export(self.history, path)
        except (OSError, ValueError) as exc:
            self.show_error(f"Could not export: {exc}")
            return False
        self.caption_status.setText(f"History saved to {path.name}.")
        return True

    def show_shortcuts(self) -> None:
        """A dialog listing every action and its shortcut."""
        dialog = QDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(0, 2, dialog)
        table.setAccessibleName("Keyboard shortcuts")
        table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        rows = [("Describe now (when the picture or caption has focus)", "Space")]
        rows += [
            (a.text().replace("&", ""), a.shortcut().toString(QKeySequence.SequenceFormat.NativeText))
            for a in self.actions_by_name.values()
            if not a.shortcut().isEmpty()
        ]
        for action, keys in rows:
            r = table.rowCount()
            table.insertRow(r)
            table.setItem(r, 0, QTableWidgetItem(action))
            table.setItem(r, 1, QTableWidgetItem(keys))
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        layout.addWidget(buttons)
        dialog.resize(560, 640)
        self.shortcuts_dialog = dialog
        dialog.exec()

    def show_about(self) -> None:
        """Version and privacy note."""
        from app import __version__

        QMessageBox.about(
            self,
            "About SmolSight",
            f"SmolSight {__version__}\nDescribes what the camera sees, on this computer only: "
            "no cloud, no account.\nModel: SmolVLM2. Descriptions can be wrong; double-check what matters.",
        )

    # ------------------------------------------------------------------ events from the session
    def _model_usable(self) -> bool:
        if not self.session.model_is_ready:
            self.show_error("The model is still loading; please wait a moment.", announce=True)
            return False
        return True

    def _set_loading(self, loading: bool, text: str) -> None:
        self.model_label.setText(text)
        self.progress.setVisible(loading)
        if loading:
            self.progress.setRange(0, 0)  # busy indicator until the first progress figure

    @Slot(int, int)
    def _on_load_progress(self, done: int, total: int) -> None:
        if total <= 0:
            return
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * done / total))
        self.model_label.setText(
            f"Downloading the model (first run only): {done / 1e6:.0f} of {total / 1e6:.0f} MB"
        )

    @Slot(object)
    def _on_model_ready(self, info: BackendInfo) -> None:
        self._set_loading(
            False, f"Model: {Path(info.model).name} · {info.backend} · {info.device} · {info.dtype}"
        )
        self.caption.setText("Ready. Press Space to describe the picture.")
        self.announcer.announce("SmolSight is ready.", urgent=False)

    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        self._set_loading(False, "Model: not available")
        self.show_error(message, announce=True)

    @Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        self.stop_button.setEnabled(busy)

    @Slot(str)
    def _on_partial(self, text: str) -> None:
        self.caption.setText(text)

    @Slot(object)
    def _on_narration(self, event: NarrationEvent) -> None:
        d = event.description
        text = d.text or "(no answer)"
        self.caption.setText(text)
        t = d.timings
        first = (
            f"first word {t.time_to_first_token_s:.1f} s · " if t.time_to_first_token_s is not None else ""
        )
        self.latency_label.setText(f"{first}total {t.total_s:.1f} s")
        if event.verdict.reason == "unchanged":
            self.caption_status.setText("Scene unchanged (not repeated).")
            return
        if event.verdict.reason == "empty":
            self.caption_status.setText("The model gave no answer.")
            return
        self.caption_status.setText(f"At {format_clock(event.source_time)} in {self.source_name}")
        urgent = d.mode != "continuous"
        self.announcer.announce(text, urgent=urgent)
        if self.settings.keep_history:
            ask = d.tag
            entry = HistoryEntry(
                source_time=event.source_time,
                wall_time=now_iso(),
                mode=d.mode,
                text=text,
                question=getattr(ask, "question", ""),
                source=self.source_name,
            )
            self.history.append(entry)
            item = QListWidgetItem(entry.line())
            self.history_list.addItem(item)
            self.history_list.scrollToItem(item)

    @Slot(object)
    def _on_capture_event(self, event: CaptureEvent) -> None:
        if event.is_error:
            self.video.set_placeholder(event.message)
            self.show_error(event.message, announce=True)
        elif event.kind == "started":
            self.caption_status.setText(f"{event.source} is on.")

    @Slot(str)
    def _on_model_error(self, message: str) -> None:
        self.show_error(message, announce=True)

    def show_error(self, message: str, *, announce: bool = True) -> None:
        """Show an error without blocking: status line, status bar and (urgent) voice."""
        self.errors.append(message)
        self.caption_status.setText(message)
        self.statusBar().showMessage(message, 15000)
        if announce:
            self.announcer.announce(message, urgent=True)

    # ------------------------------------------------------------------ keys and closing
    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Space (not taken by a focused button or text box) describes now."""
        if event.key() == Qt.Key.Key_Space and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.describe_now()
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop speech, source and model thread (bounded) before closing."""
        self.announcer.stop()
        for window in self.summary_windows:
            window.close()
        if not self.session.shutdown(timeout=10):
            log.error("the model thread did not stop within 10 s")
        super().closeEvent(event)


def _buddy(text: str, widget: QWidget) -> QLabel:
    """A label whose Alt+letter moves focus to `widget` (and names it for screen readers)."""
    label = QLabel(text)
    label.setBuddy(widget)
    return label


def _dropped_file(mime: Any) -> Path | None:
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES:
                return path
    return None


def _camera_names() -> list[str]:
    """Camera names as the system lists them (fast; no device is opened)."""
    try:
        from PySide6.QtMultimedia import QMediaDevices

        return [d.description() for d in QMediaDevices.videoInputs()]
    except Exception:
        return []


def run_app(settings: Settings, *, source: str | None = None, config_path: Path | None = None) -> int:
    """Create the application and window, and run until the window closes."""
    from app.cli import engine_from_settings
    from app.live.speech import make_speaker

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("SmolSight")
    app.setApplicationDisplayName("SmolSight")
    speaker = None if settings.output != "speech" else make_speaker()
    window = MainWindow(
        settings=settings,
        backend_factory=lambda: engine_from_settings(settings),
        speaker=speaker,
        config_path=config_path,
        initial_source=source,
    )
    window.show()
    QTimer.singleShot(0, window.video.setFocus)
    return int(app.exec())
