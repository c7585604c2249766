"""The settings dialog: every setting in one keyboard-friendly form, validated before saving."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from pydantic import BaseModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.config import BackendName, ConfigError, DisplaySettings, NarrationSettings, Settings, bounds
from app.inference.catalog import CATALOG, DEFAULT_NAME, find, most_accurate, public_name
from app.prompts import Verbosity
from app.ui.theme import THEMES
from app.ui.widgets import ScrollingColumn, prepare_choices

K = TypeVar("K", bound=str)
OUTPUTS = {
    "auto": "My screen reader if running, else SmolSight's voice",
    "screen_reader": "My screen reader",
    "speech": "SmolSight's voice",
    "both": "Both",
    "text": "Nobody (text only)",
}
VERBOSITY: dict[Verbosity, str] = {
    "brief": "Brief (one sentence)",
    "normal": "Normal",
    "detailed": "Detailed",
}
BACKENDS = {
    "auto": "Automatic (the fastest here)",
    "mlx": "MLX (Apple Silicon)",
    "openvino": "OpenVINO (fast on any CPU)",
    "transformers": "PyTorch (transformers; GPUs)",
    "openai": "Remote server (OpenAI-compatible)",
}
STALE = {"say_as_past": "Say them as past (\u201cA moment ago: …\u201d)", "drop": "Don't say them"}
# How speech engines are named to people (QTextToSpeech's plug-in names); others keep their own.
SPEECH_ENGINES = {
    "speechd": "Speech Dispatcher",
    "sapi": "Windows SAPI",
    "winrt": "Windows (OneCore voices)",
    "darwin": "macOS",
    "android": "Android",
    "flite": "Flite",
}
DEVICES = {"auto": "Automatic", "cpu": "CPU", "cuda": "NVIDIA GPU (CUDA)", "mps": "Apple GPU (MPS)"}
OTHER_MODEL = "other"  # the model choice that takes a hub id or folder


def download_sizes(backend: BackendName = "auto") -> dict[str, str]:
    """Each model's download for the engine `backend` means on this computer, in words."""
    from app.inference.factory import choose_backend

    engine = choose_backend("auto" if backend == "openai" else backend)
    return {entry.name: entry.size(engine) for entry in CATALOG}


def _combo(items: Mapping[K, str], current: str, name: str) -> QComboBox:
    box = QComboBox()
    for key, label in items.items():
        box.addItem(label, key)
    box.setCurrentIndex(max(0, box.findData(current)))
    box.setAccessibleName(name)
    prepare_choices(box)
    return box


Spin = TypeVar("Spin", QSpinBox, QDoubleSpinBox)


def _spin(box: Spin, group: type[BaseModel], key: str) -> Spin:
    """A spin box that takes exactly the values the setting allows."""
    low, high = bounds(group, key)
    if isinstance(box, QSpinBox):
        box.setRange(int(low), int(high))
    else:
        box.setRange(low, high)
    return box


def _labelled(form: QFormLayout, text: str, widget: QWidget, description: str = "") -> None:
    label = QLabel(text)
    label.setBuddy(widget)
    if not widget.accessibleName():
        widget.setAccessibleName(text.replace("&", "").rstrip(":"))
    if description:
        widget.setAccessibleDescription(description)
        widget.setToolTip(description)
    form.addRow(label, widget)


class SettingsDialog(QDialog):
    """Edit a copy of the settings; `result_settings` holds the validated result on OK."""

    def __init__(
        self,
        settings: Settings,
        *,
        voices: list[str],
        engines: Sequence[str] = (),
        accurate_downloaded: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("SmolSight settings")
        self.setAccessibleName("Settings")
        self.result_settings: Settings | None = None
        s = settings
        form = QFormLayout()
        # A field that doesn't fit beside its label goes under it: narrow screens, large text.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)

        self._engine_rows(form, s)
        self._accurate_row(form, s, accurate_downloaded)
        self._narration_rows(form, s)
        self._speech_rows(form, s, voices, engines)
        self._display_rows(form, s)

        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Settings error")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        for button in buttons.buttons():
            button.setAccessibleName(button.text().replace("&", ""))
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        # The form scrolls; the error and OK/Cancel stay in view whatever the screen and text size.
        fields = QWidget()
        fields.setLayout(form)
        layout = QVBoxLayout(self)
        layout.addWidget(ScrollingColumn(fields), 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.error.setVisible(False)
        self._base = s
        # As tall as every setting needs: the screen fit trims it to the screen, and the form scrolls.
        self.resize(self.sizeHint())

    def _engine_rows(self, form: QFormLayout, s: Settings) -> None:
        """Which model, on which engine and device, or which remote server; which camera."""
        e, n = s.engine, s.narration
        # The models on offer by name (what each is for, its download for the engine here), and
        # any other model as a hub id or folder.
        self.model_choice = QComboBox()
        sizes = download_sizes(e.backend)
        for entry in CATALOG:
            self.model_choice.addItem(f"{entry.label}, {sizes[entry.name]}", entry.name)
        self.model_choice.addItem("Another model (a hub id or a folder)", OTHER_MODEL)
        self.model_choice.setAccessibleName("Model")
        self.model_choice.setAccessibleDescription(
            "Which model describes: the fastest, the balanced default, or the most accurate. "
            "A model not on this computer yet downloads when chosen; the one in use answers meanwhile."
        )
        self.model_choice.setToolTip(self.model_choice.accessibleDescription())
        prepare_choices(self.model_choice)
        _labelled(form, "&Model:", self.model_choice)
        chosen = find(public_name(e.model)) if e.model else find(DEFAULT_NAME)
        self.model = QLineEdit("" if chosen else (e.model or ""))
        self.model.setPlaceholderText("A hub id (owner/name) or a model folder")
        browse = QPushButton("&Browse…")
        browse.setAccessibleName("Choose a model folder")
        browse.clicked.connect(self._browse_model)
        row = QHBoxLayout()
        row.addWidget(self.model)
        row.addWidget(browse)
        self.other_model = QWidget()
        self.other_model.setLayout(row)
        self.other_model.setAccessibleName("Another model")
        self.model.setAccessibleName("Another model: hub id or folder")
        other_label = QLabel("&Another model:")
        other_label.setBuddy(self.model)
        form.addRow(other_label, self.other_model)
        self.model_choice.setCurrentIndex(self.model_choice.findData(chosen.name if chosen else OTHER_MODEL))
        self.model.textChanged.connect(self._on_other_model_typed)
        self.backend = _combo(BACKENDS, e.backend, "Inference engine")
        _labelled(form, "&Engine:", self.backend)
        self.device = _combo(DEVICES, e.device, "Device")
        _labelled(form, "&Device:", self.device)
        self.base_url = QLineEdit(e.base_url or "")
        self.base_url.setPlaceholderText("http://host:8080/v1 (remote server only)")
        _labelled(form, "Server &URL:", self.base_url, "For the remote engine: an OpenAI-compatible server")
        self.api_key = QLineEdit(e.api_key or "")
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        _labelled(form, "Server API &key:", self.api_key)
        self.remote_model = QLineEdit(e.remote_model or "")
        _labelled(form, "Server model &name:", self.remote_model, "Empty: the server's first model")
        self.camera = _spin(QSpinBox(), NarrationSettings, "camera_index")
        self.camera.setValue(n.camera_index)
        _labelled(form, "&Camera number:", self.camera, "0 is the first camera")

    def _accurate_row(self, form: QFormLayout, s: Settings, downloaded: bool) -> None:
        """Questions and detailed descriptions on the most accurate model: off until it is downloaded.

        A short switch (a check box never wraps: at the largest text a long one would widen the
        dialog past the screen) and a line under it that wraps, saying which model and why.
        """
        best = most_accurate()
        self.accurate = QCheckBox("Questions on the m&ost accurate model")
        self.accurate.setChecked(s.describe.accurate_answers)
        self.accurate.setAccessibleName("Questions on the most accurate model")
        why = (
            f"{best.title} answers your questions and detailed descriptions; live narration keeps "
            "the model above."
            if downloaded
            else f"{best.title} is not on this computer yet: choose it once as the model to download it."
        )
        self.accurate.setAccessibleDescription(why)
        self.accurate.setToolTip(why)
        self.accurate.setEnabled(downloaded or s.describe.accurate_answers)
        self.accurate_note = QLabel(why)
        self.accurate_note.setWordWrap(True)
        self.accurate_note.setAccessibleName("About questions on the most accurate model")
        form.addRow(self.accurate)
        form.addRow(self.accurate_note)

    def _narration_rows(self, form: QFormLayout, s: Settings) -> None:
        """How much, how often, and what counts as a change."""
        n = s.narration
        self.verbosity = _combo(VERBOSITY, n.verbosity, "Verbosity")
        _labelled(form, "&Verbosity:", self.verbosity)
        self.interval = _spin(QDoubleSpinBox(), NarrationSettings, "interval_s")
        self.interval.setSuffix(" s")
        self.interval.setValue(n.interval_s)
        _labelled(form, "At most one description every:", self.interval)
        self.threshold = _spin(QDoubleSpinBox(), NarrationSettings, "change_threshold")
        self.threshold.setValue(n.change_threshold)
        _labelled(
            form, "Scene-change &sensitivity:", self.threshold, "Lower describes smaller changes (1-100)"
        )
        self.fps = _spin(QDoubleSpinBox(), NarrationSettings, "buffer_fps")
        self.fps.setSingleStep(0.2)
        self.fps.setSuffix(" frames/s")
        self.fps.setValue(n.buffer_fps)
        _labelled(form, "&Frame rate looked at:", self.fps)
        self.memory = QCheckBox("Remember the scene for follow-up questions")
        self.memory.setChecked(n.memory)
        self.memory.setAccessibleName("Remember the scene for follow-up questions")
        form.addRow(self.memory)
        self.read_text = QCheckBox("&Quote text word for word")
        self.read_text.setChecked(s.describe.read_text)
        self.read_text.setAccessibleName("Quote text word for word")
        self.read_text.setAccessibleDescription(
            "A picture's text is read by the text reader and quoted as written, not guessed by the model"
        )
        self.read_text.setToolTip(self.read_text.accessibleDescription())
        form.addRow(self.read_text)
        self.stale = _combo(STALE, n.stale, "Descriptions the scene has outrun")
        _labelled(
            form,
            "Outdated descri&ptions:",
            self.stale,
            "When the scene changes again before a description is finished",
        )

    def _speech_rows(self, form: QFormLayout, s: Settings, voices: list[str], engines: Sequence[str]) -> None:
        """Where descriptions go, and the voice that speaks them."""
        sp = s.speech
        self.output = _combo(OUTPUTS, sp.output, "Speak with")
        _labelled(
            form,
            "Speak &with:",
            self.output,
            "Who says the descriptions: your screen reader (NVDA, JAWS, Orca, VoiceOver; also in braille "
            "and while you are in another program), SmolSight's own voice, both, or nobody",
        )
        self.speech_engine = QComboBox()
        self.speech_engine.addItem("System default", "")
        shown = [e for e in engines if e != "mock"]
        if sp.engine and sp.engine not in shown:
            shown.append(sp.engine)
        for name in shown:
            self.speech_engine.addItem(SPEECH_ENGINES.get(name, name), name)
        self.speech_engine.setCurrentIndex(max(0, self.speech_engine.findData(sp.engine)))
        self.speech_engine.setAccessibleName("Speech engine")
        prepare_choices(self.speech_engine)
        _labelled(form, "Speech en&gine:", self.speech_engine, "Which installed speech engine speaks")
        self.voice = QComboBox()
        self.voice.addItem("System default", "")
        # The saved voice stays chosen even while the engine (not ready yet) can't list it.
        for name in [*voices, *([sp.voice] if sp.voice and sp.voice not in voices else [])]:
            self.voice.addItem(name, name)
        self.voice.setCurrentIndex(max(0, self.voice.findData(sp.voice)))
        self.voice.setAccessibleName("Voice")
        prepare_choices(self.voice)
        _labelled(form, "Vo&ice:", self.voice)
        self.rate = QSlider()
        self.rate.setOrientation(self.rate.orientation().Horizontal)
        self.rate.setRange(-10, 10)
        self.rate.setValue(round(sp.rate * 10))
        _labelled(form, "Speech &rate:", self.rate, "From slow (left) to very fast (right)")
        self.volume = QSlider()
        self.volume.setOrientation(self.volume.orientation().Horizontal)
        self.volume.setRange(0, 10)
        self.volume.setValue(round(sp.volume * 10))
        _labelled(form, "Vo&lume:", self.volume)

    def _display_rows(self, form: QFormLayout, s: Settings) -> None:
        """How the captions look; whether the history is kept."""
        d, n = s.display, s.narration
        self.theme = _combo(THEMES, d.theme, "Theme")
        _labelled(form, "&Theme:", self.theme)
        self.font_pt = _spin(QSpinBox(), DisplaySettings, "caption_font_pt")
        self.font_pt.setSuffix(" pt")
        self.font_pt.setValue(d.caption_font_pt)
        _labelled(form, "Caption text si&ze:", self.font_pt)
        self.keep_history = QCheckBox("Keep a &history of descriptions")
        self.keep_history.setChecked(n.keep_history)
        self.keep_history.setAccessibleName("Keep a history of descriptions")
        form.addRow(self.keep_history)

    def _on_other_model_typed(self, text: str) -> None:
        """Typing a hub id or folder means another model: the choice says so."""
        if text.strip() and self.model_choice.currentData() != OTHER_MODEL:
            self.model_choice.setCurrentIndex(self.model_choice.findData(OTHER_MODEL))

    def chosen_model(self) -> str | None:
        """The model setting the form says: a name, another model's id or folder, None for the default."""
        choice = self.model_choice.currentData()
        if choice == OTHER_MODEL:
            return self.model.text().strip() or None
        return None if choice == DEFAULT_NAME else str(choice)

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder")
        if folder:
            self.model.setText(folder)

    def values(self) -> dict[tuple[str, str], object]:
        """The form's values: (group, key) → value."""
        return {
            ("engine", "model"): self.chosen_model(),
            ("engine", "backend"): self.backend.currentData(),
            ("engine", "device"): self.device.currentData(),
            ("engine", "base_url"): self.base_url.text().strip() or None,
            ("engine", "api_key"): self.api_key.text().strip() or None,
            ("engine", "remote_model"): self.remote_model.text().strip() or None,
            ("narration", "camera_index"): self.camera.value(),
            ("narration", "verbosity"): self.verbosity.currentData(),
            ("narration", "interval_s"): self.interval.value(),
            ("narration", "change_threshold"): self.threshold.value(),
            ("narration", "buffer_fps"): round(self.fps.value(), 2),
            ("narration", "memory"): self.memory.isChecked(),
            ("describe", "read_text"): self.read_text.isChecked(),
            ("describe", "accurate_answers"): self.accurate.isChecked(),
            ("narration", "stale"): self.stale.currentData(),
            ("narration", "keep_history"): self.keep_history.isChecked(),
            ("speech", "output"): self.output.currentData(),
            ("speech", "engine"): self.speech_engine.currentData(),
            ("speech", "voice"): self.voice.currentData(),
            ("speech", "rate"): self.rate.value() / 10,
            ("speech", "volume"): self.volume.value() / 10,
            ("display", "theme"): self.theme.currentData(),
            ("display", "caption_font_pt"): self.font_pt.value(),
        }

    def _on_accept(self) -> None:
        try:
            self.result_settings = self._base.with_values(self.values())
        except ConfigError as exc:
            self.error.setText(str(exc))
            self.error.setVisible(True)
            self.error.setFocus()
            return
        self.accept()
