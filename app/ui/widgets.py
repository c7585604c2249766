"""Small widget helpers shared by the app's windows."""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QWidget,
)


def make_button(text: str, description: str, slot: Callable[[], object] | None = None) -> QPushButton:
    """A push button named and described for screen readers, with a tooltip, calling `slot`."""
    button = QPushButton(text)
    button.setAccessibleName(text.replace("&", ""))
    button.setAccessibleDescription(description)
    button.setToolTip(description)
    if slot is not None:
        button.clicked.connect(lambda _checked=False: slot())
    return button


def on_click(button: QPushButton, slot: Callable[[], object]) -> None:
    """Call `slot()` when `button` is clicked (ignoring the checked flag)."""
    button.clicked.connect(lambda _checked=False: slot())


def prepare_choices(box: QComboBox) -> None:
    """Ready a combo box for screen readers and small screens.

    Its popup list is named after the box (Qt leaves it unnamed). It asks for the width of its
    longest choice but may get less (the theme's style sheet sets a minimum of a few letters):
    large text on a small screen never widens a window past the screen; the popup still shows
    every choice whole.
    """
    box.view().setAccessibleName(f"{box.accessibleName()} choices")
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)


class FlowLayout(QLayout):
    """Lays its items out left to right and wraps onto the next line when the window is narrow.

    Rows of buttons at large text sizes, or on a small or scaled screen, wrap instead of
    forcing the window wider than the screen. (Qt's "Flow Layout" example, typed.)
    """

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        """Qt adds every widget through here."""
        self._items.append(item)

    def count(self) -> int:
        """How many items the layout holds."""
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        """The item at `index`, or None past the end."""
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        """Remove and return the item at `index`."""
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        """Never asks for more room than its rows need."""
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        """Its height depends on the width it gets (the rows wrap)."""
        return True

    def heightForWidth(self, width: int) -> int:
        """The height its rows take at `width`."""
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        """Place the items in rows within `rect`."""
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        """All items on one line."""
        width = sum(item.sizeHint().width() for item in self._items) + self._spacing * max(
            0, len(self._items) - 1
        )
        height = max((item.sizeHint().height() for item in self._items), default=0)
        margins = self.contentsMargins()
        return QSize(width + margins.left() + margins.right(), height + margins.top() + margins.bottom())

    def minimumSize(self) -> QSize:
        """The widest single item: anything wider wraps."""
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, move: bool) -> int:
        """Place items in rows (centred vertically within their row); the height used."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        rows: list[list[tuple[QLayoutItem, QSize]]] = [[]]
        x = area.x()
        for item in self._items:
            if item.isEmpty():
                continue
            hint = item.sizeHint()
            if rows[-1] and x + hint.width() > area.right() + 1:
                rows.append([])
                x = area.x()
            rows[-1].append((item, hint))
            x += hint.width() + self._spacing
        y = area.y()
        for row in rows:
            height = max((hint.height() for _, hint in row), default=0)
            x = area.x()
            for item, hint in row:
                if move:
                    item.setGeometry(QRect(QPoint(x, y + (height - hint.height()) // 2), hint))
                x += hint.width() + self._spacing
            y += height + self._spacing
        return max(0, y - self._spacing) - rect.y() + margins.bottom()


def labelled(label: QLabel, widget: QWidget) -> QWidget:
    """A label and its field kept together on one line (a unit a `FlowLayout` wraps as one)."""
    pair = QWidget()
    row = QHBoxLayout(pair)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(label)
    row.addWidget(widget)
    return pair


class ScrollingColumn(QScrollArea):
    """A column of controls that scrolls up and down when it is taller than its room.

    On a small or scaled screen with large text, a window's controls can need more height
    than the screen has: they scroll instead of pushing the window past the screen's edge.
    Keyboard focus moving to a control out of view scrolls it into view.
    """

    def __init__(self, content: QWidget) -> None:
        super().__init__()
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.verticalScrollBar().setAccessibleName("Scroll")
        content.installEventFilter(self)  # its size needs change with the text size: pass them on
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus_changed)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """When the content's layout asks for another size, so does the column (its width)."""
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return False

    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        content = self.widget()
        if new is not None and content is not None and content.isAncestorOf(new):
            self.ensureWidgetVisible(new)

    def sizeHint(self) -> QSize:
        """As wide as its content needs; as tall as its content, which the layout may cut down."""
        content = self.widget()
        hint = content.sizeHint() if content is not None else QSize()
        return QSize(hint.width() + self.verticalScrollBar().sizeHint().width(), hint.height())

    def minimumSizeHint(self) -> QSize:
        """Never narrower than its content's narrowest (it does not scroll sideways); any height."""
        content = self.widget()
        width = content.minimumSizeHint().width() if content is not None else 0
        return QSize(width + self.verticalScrollBar().sizeHint().width(), 0)


class ElidedLabel(QLabel):
    """One line of text that ends in "…" where the room runs out, instead of widening its window.

    The whole text stays available: as the tooltip, and to screen readers as the description.
    """

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # type: ignore[override]
        """Show `text`, elided to the label's width."""
        self._full = text
        self.setToolTip(text)
        self.setAccessibleDescription(text)
        self._elide()

    def text(self) -> str:  # type: ignore[override]
        """The text as set, whole (what is drawn may end in "…")."""
        return self._full

    def minimumSizeHint(self) -> QSize:
        """Room for "…" at least, whatever the text."""
        return QSize(self.fontMetrics().horizontalAdvance("…") * 3, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Elide anew for the new width."""
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(width, 0))
        super().setText(shown if width > 0 else self._full)


class WrappingLabel(QLabel):
    """Word-wrapped text whose words longer than a line break anywhere, instead of being cut off.

    At the largest text sizes a line holds a dozen characters, and QLabel never breaks inside
    a word: "computer" would lose its end past the label's edge. Words wider than the line get
    zero-width break opportunities (U+200B, silent to screen readers) for as long as they are;
    `text()` gives the text as set.
    """

    def __init__(self, text: str = "", *, padding: int = 12) -> None:
        super().__init__()
        self._whole = ""
        self.setWordWrap(True)
        # Padding as contents margins, not in the style sheet: QLabel lays style-sheet padding
        # out twice, so its lines would not be where `heightForWidth` counts them.
        self.setContentsMargins(padding, padding, padding, padding)
        self.setText(text)

    def setText(self, text: str) -> None:  # type: ignore[override]
        """Show `text`, wrapped; long words breakable."""
        self._whole = text
        self._wrap()

    def text(self) -> str:  # type: ignore[override]
        """The text as set."""
        return self._whole

    def heightForWidth(self, width: int) -> int:
        """Exactly the height its lines take at `width`, so a scrolled caption ends on its last line.

        QLabel's own guess runs up to a line over when a style sheet pads it.
        """
        margins = self.contentsMargins()
        inner = max(1, width - margins.left() - margins.right())
        shown = self._breakable(inner)
        rect = self.fontMetrics().boundingRect(QRect(0, 0, inner, 1 << 20), self._flags(), shown or " ")
        lines = max(1, round(rect.height() / self.fontMetrics().lineSpacing()))
        return lines * self.fontMetrics().lineSpacing() + margins.top() + margins.bottom()

    def _flags(self) -> int:
        return int(Qt.TextFlag.TextWordWrap.value) | int(Qt.AlignmentFlag.AlignLeft.value)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Another width: other words may be too long."""
        super().resizeEvent(event)
        self._wrap()

    def changeEvent(self, event: QEvent) -> None:
        """Another font (a text-size or theme change): other words may be too long."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._wrap()

    def _breakable(self, width: int) -> str:
        """The text with the words wider than `width` made breakable anywhere."""
        if width <= 0:
            return self._whole
        metrics = self.fontMetrics()

        def breakable(match: re.Match[str]) -> str:
            word = match.group(0)
            return "\u200b".join(word) if metrics.horizontalAdvance(word) > width else word

        return re.sub(r"\S+", breakable, self._whole)

    def _wrap(self) -> None:
        shown = self._breakable(self.contentsRect().width())
        if shown != super().text():
            super().setText(shown)
