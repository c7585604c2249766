"""What the window shows while the model is not ready: what is wrong, in plain words, and the way to fix it.

Missing (not on this computer): "Download the model" (with progress) and "Use a model
folder…". Failed (there, but it would not load): one sentence, a "Details" switch with the
technical reason, "Try again" and "Use a model folder…".
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.inference.model_thread import LoadFailure
from app.ui.widgets import FlowLayout, make_button


class ModelPanel(QWidget):
    """Shown under the caption until the model is ready."""

    def __init__(self) -> None:
        super().__init__()
        self.message = QLabel("")
        self.message.setObjectName("modelMessage")
        self.message.setWordWrap(True)
        self.message.setAccessibleName("What the model needs")
        self.download_button = make_button("Download the &model", "Download SmolVLM2 once")
        self.folder_button = make_button(
            "&Use a model folder…", "Choose a folder that holds a copy of the model"
        )
        self.retry_button = make_button("&Try again", "Load the model again")
        self.details_button = make_button("Show deta&ils", "Show the technical reason")
        self.details_button.setCheckable(True)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setAccessibleName("Technical details")
        self.details.setVisible(False)
        self.details_button.toggled.connect(self._on_details)
        row = FlowLayout()  # wraps at large text or on a narrow screen
        for b in (self.download_button, self.retry_button, self.folder_button, self.details_button):
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addLayout(row)
        layout.addWidget(self.details)
        self.setVisible(False)

    def buttons(self) -> list[QPushButton]:
        """The panel's buttons."""
        return [self.download_button, self.retry_button, self.folder_button, self.details_button]

    def show_missing(self, failure: LoadFailure) -> None:
        """The model is not on this computer: offer to download it or to choose a folder."""
        size = failure.download_size or "up to 2 GB"
        self.message.setText(
            f"{failure.message} SmolSight needs it once ({size}): download it, or choose a folder "
            "that holds a copy."
        )
        self.download_button.setToolTip(f"Download SmolVLM2 once ({size})")
        self._show(failure.detail, download=True)

    def show_failed(self, failure: LoadFailure) -> None:
        """The model is there but did not load: say so, offer the details, a retry and another folder."""
        self.message.setText(failure.message)
        self._show(failure.detail, download=False)

    def _show(self, detail: str, *, download: bool) -> None:
        self.download_button.setVisible(download)
        self.retry_button.setVisible(not download)
        self.details.setText(detail)
        self.details_button.setVisible(bool(detail))
        self.details_button.setChecked(False)
        self.setVisible(True)

    def _on_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_button.setText("Hide &details" if shown else "Show &details")
