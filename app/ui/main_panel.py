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
from app.config import Settings
from app.inference.types import MAX_PROMPT_CHARS
from app.prompts import PRESETS
from app.ui.model_panel import ModelPanel
from app.ui.settings_dialog import VERBOSITY
from app.ui.video_view import VideoView
from app.ui.widgets import (
    ElidedLabel,
    FlowLayout,
    ScrollingColumn,
    WrappingLabel,
    labelled,
    make_button,
    prepare_choices,
)

CAPTION_PADDING = 12  # around the caption's text, inside its border

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
        left = self._picture_side(latest)
        self._caption()
        self.model_panel = ModelPanel()
        qrow, brow, mrow = self._question_and_buttons()
        hrow = self._history()
        # Under the caption, everything scrolls as one column: on a small or scaled screen with
        # large text it can be taller than the window, and nothing may be pushed out of reach.
        controls = QWidget()
        cv = QVBoxLayout(controls)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.addWidget(self.caption_status)
        cv.addWidget(self.model_panel)
        cv.addLayout(qrow)
        cv.addLayout(brow)
        cv.addLayout(mrow)
        cv.addWidget(buddy("Histor&y:", self.history_list))
        cv.addWidget(self.history_list, 1)
        cv.addLayout(hrow)
        self.controls_area = ScrollingColumn(controls)
        self.controls_area.setAccessibleName("Controls and history")

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.addWidget(self.caption_area)
        rv.addWidget(self.controls_area, 1)

        self.addWidget(left)
        self.addWidget(right)
        self.setSizes([560, 720])  # the controls' side a little wider: fewer wrapped rows
        self._set_tab_order()

    def _picture_side(self, latest: Callable[[], LatestFrame]) -> QWidget:
        """The source's name above its picture."""
        self.source_label = QLabel("")
        self.source_label.setObjectName("sourceLabel")
        self.source_label.setAccessibleName("Source")
        self.source_label.setWordWrap(True)  # a long file name wraps instead of widening the window
        self.source_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.video = VideoView(latest)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(self.source_label)
        lv.addWidget(self.video, 1)
        return left

    def _caption(self) -> None:
        """The current description, scrolling in its own area, and its status line."""
        self.caption = WrappingLabel("Loading the model…", padding=0)
        self.caption.setObjectName("caption")
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
        # The padding is outside the scrolled text, so a scrolled caption shows whole lines only.
        self.caption_area.setViewportMargins(
            CAPTION_PADDING, CAPTION_PADDING, CAPTION_PADDING, CAPTION_PADDING
        )
        self.caption_area.verticalScrollBar().setAccessibleName("Scroll the description")
        # A description longer than the area shows its newest words (it grows as it is written).
        self.caption_area.verticalScrollBar().rangeChanged.connect(self._show_newest_words)
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

    def _question_and_buttons(self) -> tuple[QHBoxLayout, FlowLayout, FlowLayout]:
        """The question row, the action buttons, and what to look for and how much to say."""
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
        prepare_choices(self.verbosity_box)
        self.preset_box = QComboBox()
        for preset, label in PRESET_LABELS.items():
            self.preset_box.addItem(label, preset)
        self.preset_box.setAccessibleName("What to look for")
        prepare_choices(self.preset_box)
        self.target = QLineEdit()
        self.target.setPlaceholderText("object to find")
        self.target.setAccessibleName("Object to find")
        self.target.setEnabled(False)
        mrow = FlowLayout()
        mrow.addWidget(labelled(buddy("&Look for:", self.preset_box), self.preset_box))
        mrow.addWidget(labelled(buddy("&Object:", self.target), self.target))
        mrow.addWidget(labelled(buddy("Ver&bosity:", self.verbosity_box), self.verbosity_box))
        return qrow, brow, mrow

    def _history(self) -> FlowLayout:
        """The history list (its buttons' row is returned)."""
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
        return hrow

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

    def show_settings(self, settings: Settings) -> None:
        """Show the settings the panel has controls for (without those controls changing them again)."""
        box = self.verbosity_box
        box.blockSignals(True)
        box.setCurrentIndex(box.findData(settings.narration.verbosity))
        box.blockSignals(False)
        self.keep_history_box.blockSignals(True)
        self.keep_history_box.setChecked(settings.narration.keep_history)
        self.keep_history_box.blockSignals(False)

    def fit_text_sizes(self) -> None:
        """After a theme or text-size change: the history shows six lines or more, the caption whole lines."""
        self.history_list.ensurePolished()
        line = self.history_list.fontMetrics().lineSpacing()
        self.history_list.setMinimumHeight(6 * line + 2 * self.history_list.frameWidth() + 8)
        self._fit_caption()

    def caption_lines(self) -> int:
        """How many whole lines of the caption its area shows at the window's height now.

        Two at least, so a sentence is never read one clipped line at a time, unless the
        window is too short even for that; then one, and the caption scrolls to its newest words.
        Six at most: the history and controls need the rest.
        """
        line, extra = self._caption_line()
        height = self.height()
        lines = int((0.5 * height - extra) // line)
        if lines < 2 and 2 * line + extra <= 0.7 * height:
            lines = 2
        return max(1, min(6, lines))

    def _caption_line(self) -> tuple[int, int]:
        """The caption's line height, and what its area adds around the lines (padding, frame)."""
        self.caption.ensurePolished()
        line = self.caption.fontMetrics().lineSpacing()
        return line, 2 * CAPTION_PADDING + 2 * self.caption_area.frameWidth()

    def _fit_caption(self) -> None:
        line, extra = self._caption_line()
        lines = self.caption_lines()
        self.caption_area.setFixedHeight(lines * line + extra)
        scroll = self.caption_area.verticalScrollBar()
        scroll.setSingleStep(line)  # the arrow keys and buttons move by whole lines
        scroll.setPageStep(lines * line)

    def _show_newest_words(self, _low: int, high: int) -> None:
        self.caption_area.verticalScrollBar().setValue(high)

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
        # One line each, ending in "…" where room runs out: at large text on a small screen the
        # status line stays in view instead of widening the window past the screen.
        self.model_label = ElidedLabel("Model: loading")
        self.model_label.setAccessibleName("Model status")
        self.notice = ElidedLabel("")
        self.notice.setAccessibleName("Notice")
        self.notice.setContentsMargins(24, 0, 0, 0)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Model loading progress")
        self.progress.setMaximumWidth(220)
        self.latency_label = QLabel("")
        self.latency_label.setAccessibleName("Latency")
        bar.addWidget(self.model_label, 2)
        bar.addWidget(self.notice, 3)
        self.notice.setVisible(False)
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

    def show_fraction(self, fraction: float | None, *, visible: bool = True) -> None:
        """The progress bar alone (a download beside the working model): how far, or busy; or hidden."""
        self.progress.setVisible(visible)
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * fraction))

    def done(self, text: str) -> None:
        """Loading ended (ready or failed)."""
        self.model_label.setText(text)
        self.progress.setVisible(False)
