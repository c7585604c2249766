"""The main window's widgets and layout: picture, caption, question, controls, history, status bar.

Only building and arranging lives here; what the widgets do is wired by `MainWindow`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from app.capture.buffer import LatestFrame
from app.inference.types import MAX_PROMPT_CHARS
from app.prompts import PRESETS
from app.ui.model_panel import ModelPanel
from app.ui.settings_dialog import VERBOSITY
from app.ui.video_view import VideoView
from app.ui.widgets import FlowLayout, labelled, make_button, name_popup

PRESET_LABELS = {
    "scene": "Describe the scene",
    "text": "Read text",
    "find": "Find an object",
    "people": "Count people",
}
assert set(PRESET_LABELS) == set(PRESETS)


def buddy(text: str, widget: QWidget) -> QLabel:
    """A label whose Alt+letter moves focus to `widget` (and names it for screen readers)."""
    label = QLabel(text)
    label.setBuddy(widget)
    return label


class MainPanel(QSplitter):
    """Picture on the left; caption, question, controls and history on the right."""

    def __init__(self, latest: Callable[[], LatestFrame]) -> None:
        super().__init__()
        self.source_label = QLabel("")
        self.source_label.setObjectName("sourceLabel")
        self.source_label.setAccessibleName("Source")
        self.video = VideoView(latest)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(self.source_label)
        lv.addWidget(self.video, 1)

        self.caption = QLabel("Loading the model…")
        self.caption.setObjectName("caption")
        self.caption.setWordWrap(True)
        # Long unbroken words (URLs, model noise) must wrap, not widen the window.
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # A long answer scrolls inside its own area instead of squeezing the history.
        self.caption_area = QScrollArea()
        self.caption_area.setObjectName("captionArea")
        self.caption_area.setWidget(self.caption)
        self.caption_area.setWidgetResizable(True)
        self.caption_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.caption_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.caption_area.setMinimumHeight(120)
        self.caption_area.verticalScrollBar().setAccessibleName("Scroll the description")
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

        self.model_panel = ModelPanel()

        self.question = QLineEdit()
        # Longer than any prompt may be, so a too-long question is refused with a message rather
        # than cut off silently at Qt's default limit.
        self.question.setMaxLength(4 * MAX_PROMPT_CHARS)
        self.question.setPlaceholderText("Ask about the scene, e.g. What colour is the mug?")
        self.question.setAccessibleName("Question")
        self.question.setAccessibleDescription(
            "Type a question and press Enter. Earlier descriptions are remembered."
        )
        self.ask_button = make_button("&Ask", "Ask the question")
        qrow = QHBoxLayout()
        qrow.addWidget(buddy("&Question:", self.question))
        qrow.addWidget(self.question, 1)
        qrow.addWidget(self.ask_button)

        self.describe_button = make_button("&Describe now", "Describe the current picture now")
        self.happened_button = make_button("&What just happened?", "Describe the last few seconds")
        self.narrate_button = make_button("Na&rration: on", "Turn automatic narration on or off")
        self.narrate_button.setCheckable(True)
        self.narrate_button.setChecked(True)
        self.stop_button = make_button("Sto&p answer", "Stop the answer being written")
        # Rows of controls wrap (FlowLayout) instead of making the window wider than the screen.
        brow = FlowLayout()
        for b in (self.describe_button, self.happened_button, self.narrate_button, self.stop_button):
            brow.addWidget(b)

        self.verbosity_box = QComboBox()
        for key, label in VERBOSITY.items():
            self.verbosity_box.addItem(label, key)
        self.verbosity_box.setAccessibleName("Verbosity")
        name_popup(self.verbosity_box)
        self.preset_box = QComboBox()
        for preset, label in PRESET_LABELS.items():
            self.preset_box.addItem(label, preset)
        self.preset_box.setAccessibleName("What to look for")
        name_popup(self.preset_box)
        self.target = QLineEdit()
        self.target.setPlaceholderText("object to find")
        self.target.setAccessibleName("Object to find")
        self.target.setEnabled(False)
        mrow = FlowLayout()
        mrow.addWidget(labelled(buddy("&Look for:", self.preset_box), self.preset_box))
        mrow.addWidget(labelled(buddy("&Object:", self.target), self.target))
        mrow.addWidget(labelled(buddy("Ver&bosity:", self.verbosity_box), self.verbosity_box))

        self.history_list = QListWidget()
        self.history_list.setObjectName("history")
        self.history_list.setWordWrap(True)
        # Lines wrap at every text size: never a sideways scroll.
        self.history_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.history_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.history_list.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.history_list.setAccessibleName("History of descriptions")
        self.history_list.setAccessibleDescription(
            "Newest last. Use the arrow keys; Ctrl+C copies the selected one."
        )
        self.copy_button = make_button("&Copy", "Copy the selected description")
        self.export_button = make_button("E&xport…", "Export the history to a file")
        self.clear_button = make_button("Cl&ear", "Clear the history")
        self.keep_history_box = QCheckBox("&Keep history")
        self.keep_history_box.setAccessibleName("Keep history")
        hrow = FlowLayout()
        for w in (self.copy_button, self.export_button, self.clear_button, self.keep_history_box):
            hrow.addWidget(w)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.addWidget(self.caption_area, 2)
        rv.addWidget(self.caption_status)
        rv.addWidget(self.model_panel)
        rv.addLayout(qrow)
        rv.addLayout(brow)
        rv.addLayout(mrow)
        rv.addWidget(buddy("Histor&y:", self.history_list))
        rv.addWidget(self.history_list, 3)
        rv.addLayout(hrow)

        self.addWidget(left)
        self.addWidget(right)
        self.setSizes([560, 720])  # the controls' side a little wider: fewer wrapped rows
        self._set_tab_order()

    def _set_tab_order(self) -> None:
        """Picture → caption → question → buttons → options → history."""
        order: list[QWidget] = [
            self.video,
            self.caption,
            self.model_panel.download_button,
            self.model_panel.retry_button,
            self.model_panel.folder_button,
            self.model_panel.details_button,
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

    def fit_text_sizes(self) -> None:
        """After a theme or text-size change: history shows six lines or more, the caption under a third."""
        self.history_list.ensurePolished()
        line = self.history_list.fontMetrics().lineSpacing()
        self.history_list.setMinimumHeight(6 * line + 2 * self.history_list.frameWidth() + 8)
        self._fit_caption()

    def _fit_caption(self) -> None:
        self.caption_area.setMaximumHeight(max(120, int(self.height() * 0.3)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the caption's share of the height as the window changes size."""
        super().resizeEvent(event)
        self._fit_caption()

    def buttons(self) -> list[QPushButton]:
        """Every push button of the panel."""
        return [
            self.ask_button,
            self.describe_button,
            self.happened_button,
            self.narrate_button,
            self.stop_button,
            self.copy_button,
            self.export_button,
            self.clear_button,
            *self.model_panel.buttons(),
        ]


class ModelStatusBar:
    """The status bar's fixed fields, never drawn over each other: model, notice, latency, progress."""

    def __init__(self, bar: QStatusBar) -> None:
        self.model_label = QLabel("Model: loading")
        self.model_label.setAccessibleName("Model status")
        self.notice = QLabel("")
        self.notice.setAccessibleName("Notice")
        self.notice.setContentsMargins(24, 0, 0, 0)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Model loading progress")
        self.progress.setMaximumWidth(220)
        self.latency_label = QLabel("")
        self.latency_label.setAccessibleName("Latency")
        bar.addWidget(self.model_label)
        bar.addWidget(self.notice, 1)
        bar.addPermanentWidget(self.latency_label)
        bar.addPermanentWidget(self.progress)

    def loading(self, text: str, fraction: float | None = None) -> None:
        """Show that the model is loading: a busy bar, or how far (0..1) it has got."""
        self.model_label.setText(text)
        self.progress.setVisible(True)
        if fraction is None:
            self.progress.setRange(0, 0)  # busy indicator
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * fraction))

    def done(self, text: str) -> None:
        """Loading ended (ready or failed)."""
        self.model_label.setText(text)
        self.progress.setVisible(False)
