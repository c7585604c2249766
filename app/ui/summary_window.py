"""The video summary window: progress with ETA and cancel, scenes to move through, playback."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.capture.sources import SAMPLE_VIDEO
from app.config import SummarySettings
from app.inference.model_thread import NotReady
from app.live.session import LiveSession, TaskWatch
from app.timecode import format_clock
from app.ui.announcer import Announcer
from app.ui.describe_export import AudioDescriptionExport
from app.ui.dialogs import choice_dialog
from app.ui.fit import fits
from app.ui.ui_state import UiState
from app.ui.widgets import FlowLayout, ScrollingColumn, WrappingLabel, labelled, make_button, prepare_choices
from app.video.audio_description import AudioDescription
from app.video.described_video import TITLE as DESCRIPTION_TRACK
from app.video.export import export
from app.video.summarize import Progress, SegmentResult, VideoSummary
from app.video.voice import DEFAULT_WPM

DETAILS = {"sentence": "One sentence per scene", "line": "One line", "paragraph": "A paragraph per scene"}


class _Relay(QObject):
    """Carries progress from the model thread to this window (lives on the GUI thread)."""

    progress = Signal(object)


class SummaryWindow(QWidget):
    """Summarizes one video on the app's model thread and shows the result."""

    finished = Signal(object)  # VideoSummary

    def __init__(
        self,
        video: Path,
        session: LiveSession,
        settings: SummarySettings,
        *,
        announcer: Announcer,
        ui_state: UiState | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.video = Path(video)
        self.session = session
        self.settings = settings
        self.announcer = announcer
        self.ui_state = ui_state
        self.result: VideoSummary | None = None
        self.saved_to: Path | None = None
        self._job: TaskWatch | None = None
        self._relay = _Relay()
        self._relay.progress.connect(self._on_progress)
        self.player: Any = None
        self.playing: Path | None = None  # the file in the player
        self.described: Path | None = None  # the described video written from this window
        self.describing = AudioDescriptionExport(self)
        self.describing.progress.connect(self._on_describe_progress)
        self.describing.done.connect(self._on_described)
        self.describing.failed.connect(self._on_describe_failed)
        self.describing.cancelled.connect(self._on_describe_cancelled)
        self.setWindowTitle(f"Summary of {self.video.name} — SmolSight")
        self.setAccessibleName(f"Summary of {self.video.name}")
        self._build()
        kept = ui_state.size("summary") if ui_state is not None else None
        # As last closed, if that still fits this screen; the screen fit trims anything larger.
        self.resize(*(kept if kept is not None and fits(self, QSize(*kept)) else (1100, 760)))

    def _build(self) -> None:
        self.detail = QComboBox()
        for key, label in DETAILS.items():
            self.detail.addItem(label, key)
        self.detail.setCurrentIndex(max(0, self.detail.findData(self.settings.detail)))
        self.detail.setAccessibleName("Detail")
        prepare_choices(self.detail)
        self.start_button = make_button("&Summarize", "Start describing the video", self.start)
        self.cancel_button = make_button("&Cancel", "Stop; keep the scenes described so far", self.cancel)
        self.cancel_button.setEnabled(False)
        top = FlowLayout()  # rows wrap instead of widening the window past a small screen
        detail_label = QLabel("&Detail:")
        detail_label.setBuddy(self.detail)
        top.addWidget(labelled(detail_label, self.detail))
        top.addWidget(self.start_button)
        top.addWidget(self.cancel_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setAccessibleName("Summary progress")
        self.status = QLabel("Choose the detail and press Summarize.")
        self.status.setAccessibleName("Summary status")
        self.status.setWordWrap(True)
        self.summary = WrappingLabel("", padding=8)
        self.summary.setObjectName("summaryText")
        self.summary.setAccessibleName("Summary")
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.summary.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # A long summary scrolls in its own area: the scene list keeps its rows.
        self.summary_area = QScrollArea()
        self.summary_area.setObjectName("captionArea")
        self.summary_area.setWidget(self.summary)
        self.summary_area.setWidgetResizable(True)
        self.summary_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.summary_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.scenes = QListWidget()
        self.scenes.setObjectName("history")
        self.scenes.setWordWrap(True)
        self.scenes.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scenes.setAccessibleName("Scenes")
        self.scenes.setAccessibleDescription(
            "Arrow keys move between scenes; Enter plays the video from that scene."
        )
        self.scenes.itemActivated.connect(lambda _item: self.play_selected())

        self.play_button = make_button(
            "&Play from scene", "Play the video from the selected scene", self.play_selected
        )
        self.pause_button = make_button("Pa&use", "Pause or resume the video", self.toggle_pause)
        self.speak_button = make_button(
            "Spea&k scene", "Speak the selected scene's description", self.speak_selected
        )
        row = FlowLayout()
        for b in (self.play_button, self.pause_button, self.speak_button):
            row.addWidget(b)
        exports = FlowLayout()
        self.export_buttons: dict[str, QPushButton] = {}
        for fmt, label in (("vtt", "WebVTT"), ("srt", "SRT"), ("md", "Markdown"), ("json", "JSON")):
            b = make_button(f"Export {label}", f"Save as {label}", functools.partial(self.export_dialog, fmt))
            b.setEnabled(False)
            self.export_buttons[fmt] = b
            exports.addWidget(b)
        self.describe_button = make_button(
            "Export &audio description…",
            "Write a descriptions track timed to the pauses in the dialogue, and a copy of the video "
            "with an audio description sound track",
            self.describe_dialog,
        )
        self.describe_button.setEnabled(False)
        exports.addWidget(self.describe_button)
        self.play_described_button = make_button(
            "Play descri&bed video",
            "Play the described video with its audio description",
            self.play_described,
        )
        self.play_described_button.setEnabled(False)
        exports.addWidget(self.play_described_button)

        self.video_area = QVBoxLayout()
        self.video_hint = QLabel("Choose a scene and press Enter (or Play from scene) to watch it here.")
        self.video_hint.setWordWrap(True)
        self.video_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.video_area.addWidget(self.video_hint, 1)
        title = QLabel(f"Summary of {self.video.name}")
        title.setObjectName("sourceLabel")
        title.setWordWrap(True)
        column = QWidget()
        left = QVBoxLayout(column)
        left.addWidget(title)
        left.addLayout(top)
        left.addWidget(self.progress)
        left.addWidget(self.status)
        left.addWidget(self.summary_area)
        scenes_label = QLabel("Sce&nes:")
        scenes_label.setBuddy(self.scenes)
        left.addWidget(scenes_label)
        left.addWidget(self.scenes, 1)
        left.addLayout(row)
        left.addLayout(exports)
        video = QWidget()
        video.setLayout(self.video_area)
        # The controls scroll when large text makes them taller than the screen; the video
        # takes what width is left.
        split = QSplitter()
        split.addWidget(ScrollingColumn(column))
        split.addWidget(video)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QHBoxLayout(self)
        layout.addWidget(split)
        escape = QShortcut(QKeySequence("Esc"), self)
        escape.activated.connect(self.cancel)

    # ---------------------------------------------------------------- running
    def start(self) -> None:
        """Summarize on the model thread (narration waits meanwhile)."""
        if self._job is not None:
            return
        settings = self.settings.model_copy(update={"detail": self.detail.currentData()})
        try:
            self._job = self.session.summarize(self.video, settings, self._relay.progress.emit)
        except NotReady as exc:
            self.status.setText(f"Could not summarize: {exc}")
            return
        self._job.done.connect(self._on_done)
        self._job.failed.connect(self._on_failed)
        self.scenes.clear()
        self.summary.setText("")
        self.progress.setValue(0)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("Waiting for the model…")

    def cancel(self) -> None:
        """Stop after the current scene (what is done is kept), or stop the audio description."""
        if self.describing.running:
            self.describing.cancel()
            self.status.setText("Stopping the audio description…")
            return
        if self._job is None:
            self.close()
            return
        self._job.cancel()
        self.status.setText("Stopping after the current scene…")

    @Slot(object)
    def _on_progress(self, p: Progress) -> None:
        self.progress.setValue(int(p.fraction * 1000))
        eta = "" if p.eta_s is None else f" About {int(p.eta_s // 60)} min {int(p.eta_s % 60)} s left."
        self.status.setText(f"{p.message}.{eta}")
        if p.segment is not None:
            self._add_scene(p.segment)

    def _add_scene(self, seg: SegmentResult) -> None:
        text = seg.description or f"(not described: {seg.error})"
        item = QListWidgetItem(f"[{format_clock(seg.start)}–{format_clock(seg.end)}] {text}")
        item.setData(Qt.ItemDataRole.UserRole, seg.start)
        self.scenes.addItem(item)
        if self.scenes.currentRow() < 0:
            self.scenes.setCurrentRow(0)

    @Slot(object)
    def _on_done(self, result: VideoSummary) -> None:
        self._job = None
        self.result = result
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        for b in (*self.export_buttons.values(), self.describe_button):
            b.setEnabled(bool(result.segments) and not result.described_nothing)
        self.scenes.clear()
        for seg in result.segments:
            self._add_scene(seg)
        if self.scenes.count():
            self.scenes.setCurrentRow(0)
        missing = f"(Summary missing: {result.summary_error})" if result.summary_error is not None else ""
        self.summary.setText(
            result.summary or ("(stopped before the summary)" if result.partial else missing)
        )
        self.progress.setValue(1000 if not result.partial else self.progress.value())
        saved = ""
        own_files = self.video.resolve().parent == SAMPLE_VIDEO.resolve().parent  # never into the app's
        if not own_files and not result.described_nothing:
            try:
                self.saved_to = export(result, self.video.parent, ["json"])[0]
                saved = f" Saved next to the video as {self.saved_to.name}."
            except OSError:
                saved = " (Could not save next to the video; use Export.)"
        state = "Stopped early: the scenes so far are kept." if result.partial else "Done."
        if result.described_nothing:
            state = "No scene could be described, so nothing was saved."
        if result.gaps and not result.partial and not result.described_nothing:
            state = "Done, with gaps."
        gaps = "".join(f" {gap[0].upper()}{gap[1:].rstrip('.')}." for gap in result.gaps)
        notes = "".join(f" {note}" for note in result.notes)
        self.status.setText(f"{state} {len(result.segments)} scenes.{gaps}{saved}{notes}")
        self.announcer.announce(f"{state}{gaps} {result.summary}", urgent=True)
        self.scenes.setFocus()
        self.finished.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._job = None
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status.setText(f"Could not summarize: {message}")
        self.announcer.announce(f"Could not summarize: {message}", urgent=True)

    # ---------------------------------------------------------------- scenes
    def selected_start(self) -> float | None:
        """Start time of the selected scene."""
        item = self.scenes.currentItem()
        return None if item is None else float(item.data(Qt.ItemDataRole.UserRole))

    def _ensure_player(self) -> Any:
        if self.player is None:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
            from PySide6.QtMultimediaWidgets import QVideoWidget

            self.player = QMediaPlayer(self)
            self.audio = QAudioOutput(self)
            self.player.setAudioOutput(self.audio)
            self.video_widget = QVideoWidget()
            self.video_widget.setAccessibleName("Video")
            self.video_widget.setMinimumSize(320, 180)
            self.player.setVideoOutput(self.video_widget)
            self.player.tracksChanged.connect(self._choose_sound)
            self.video_hint.hide()
            self.video_area.addWidget(self.video_widget, 1)
        return self.player

    def _load(self, path: Path) -> Any:
        """The player, with `path` in it."""
        player = self._ensure_player()
        if self.playing != path:
            player.setSource(QUrl.fromLocalFile(str(path)))
            self.playing = path
        return player

    def play_selected(self) -> None:
        """Play the video from the selected scene's start."""
        start = self.selected_start()
        if start is None:
            return
        player = self._load(self.video)
        player.setPosition(int(start * 1000))
        player.play()

    def play_described(self) -> None:
        """Play the described video from the start, its audio description the sound heard."""
        if self.described is None or not self.described.exists():
            self.status.setText("There is no described video yet: export the audio description first.")
            return
        player = self._load(self.described)
        self._choose_sound()
        player.setPosition(0)
        player.play()

    def _choose_sound(self) -> None:
        """In a described video, the audio description track (by title, else the last of two or more)."""
        if self.player is None or self.playing != self.described:
            return
        from PySide6.QtMultimedia import QMediaMetaData

        tracks = self.player.audioTracks()
        titles = [str(t.value(QMediaMetaData.Key.Title) or "") for t in tracks]
        named = [i for i, title in enumerate(titles) if DESCRIPTION_TRACK.lower() in title.lower()]
        chosen = named[0] if named else len(tracks) - 1 if len(tracks) >= 2 else -1
        if chosen >= 0 and self.player.activeAudioTrack() != chosen:
            self.player.setActiveAudioTrack(chosen)

    # ---------------------------------------------------------------- audio description
    def describe_dialog(self) -> None:
        """Ask standard or extended, then a folder, and write the audio description there."""
        if self.result is None:
            return
        self.describe_choice = choice_dialog(
            self,
            "Export audio description",
            "Standard keeps the video's length: each description is fitted into a pause in the "
            "dialogue, shortened or left out where none is long enough. Extended says every "
            "description whole and pauses the picture when a pause is too short.",
            {"standard": "&Standard", "extended": "&Extended"},
            default="standard",
        )
        self.describe_choice.exec()
        chosen = self.describe_choice.property("choice")
        if chosen is None:
            return
        folder = QFileDialog.getExistingDirectory(
            self, "Save audio description to folder", str(self.video.parent)
        )
        if folder:
            self.describe_to(Path(folder), extended=chosen == "extended")

    def describe_to(self, folder: Path, *, extended: bool = False, wpm: int = DEFAULT_WPM) -> bool:
        """Start writing the audio description into `folder` (False: nothing to describe, or busy)."""
        if self.result is None or self._job is not None:
            return False
        if not self.describing.start(self.result, folder, extended=extended, wpm=wpm):
            return False
        self.describe_button.setEnabled(False)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText("Writing the audio description…")
        return True

    @Slot(float, str)
    def _on_describe_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.status.setText(message)

    def _describe_over(self) -> None:
        self.describe_button.setEnabled(True)
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    @Slot(object)
    def _on_described(self, made: AudioDescription) -> None:
        self._describe_over()
        videos = [p for p in made.paths if p.suffix == ".mp4"]
        if videos:
            self.described = videos[0]
        self.play_described_button.setEnabled(self.described is not None)
        notes = "".join(f" Note: {n}." for n in made.notes)
        said = f"Saved {', '.join(p.name for p in made.paths)}. {made.plan.report()}{notes}"
        self.status.setText(said)
        self.announcer.announce(said, urgent=True)

    @Slot(str)
    def _on_describe_failed(self, message: str) -> None:
        self._describe_over()
        said = f"Could not make the audio description: {message}"
        self.status.setText(said)
        self.announcer.announce(said, urgent=True)

    @Slot()
    def _on_describe_cancelled(self) -> None:
        self._describe_over()
        self.progress.setValue(0)
        self.status.setText("Audio description stopped; nothing was written.")

    def toggle_pause(self) -> None:
        """Pause or resume playback."""
        if self.player is None:
            return
        from PySide6.QtMultimedia import QMediaPlayer

        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.player.play()

    def speak_selected(self) -> None:
        """Speak the selected scene."""
        item = self.scenes.currentItem()
        if item is not None:
            self.announcer.announce(item.text(), urgent=True)

    def export_dialog(self, fmt: str) -> None:
        """Ask for a folder and export one format."""
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", str(self.video.parent))
        if folder:
            self.export_to(Path(folder), [fmt])

    def export_to(self, folder: Path, formats: list[str]) -> list[Path]:
        """Write the result in `formats` to `folder`."""
        if self.result is None:
            return []
        try:
            paths = export(self.result, folder, formats)
        except (OSError, ValueError) as exc:
            self.status.setText(f"Could not export: {exc}")
            return []
        self.status.setText("Saved " + ", ".join(p.name for p in paths))
        return paths

    def showEvent(self, event: Any) -> None:
        """At its text size the scene list shows eight rows, the summary whole lines."""
        self.scenes.ensurePolished()
        line = self.scenes.fontMetrics().lineSpacing()
        self.scenes.setMinimumHeight(8 * (line + 4) + 2 * self.scenes.frameWidth())
        self._fit_summary()
        super().showEvent(event)

    def resizeEvent(self, event: Any) -> None:
        """Keep the summary's whole lines as the window changes size."""
        super().resizeEvent(event)
        self._fit_summary()

    def _fit_summary(self) -> None:
        """Four whole lines of the summary where the window is tall enough, else two; it scrolls."""
        self.summary.ensurePolished()
        line = self.summary.fontMetrics().lineSpacing()
        margins = self.summary.contentsMargins()
        extra = margins.top() + margins.bottom() + 2 * self.summary_area.frameWidth()
        lines = 4 if self.height() >= 16 * line else 2
        self.summary_area.setFixedHeight(lines * line + extra)

    def closeEvent(self, event: Any) -> None:
        """Keep the window's size; stop the running summary and playback."""
        if self.ui_state is not None and not self.isMaximized():
            self.ui_state.remember_size("summary", self.width(), self.height())
        if self._job is not None:
            self.cancel()
        if self.describing.running:
            self.describing.cancel()
            self.describing.wait()
        if self.player is not None:
            self.player.stop()
        super().closeEvent(event)
