"""Audio description of a summarized video: the descriptions track and the described video.

`write_audio_description` runs after a summary, off the model's thread (it needs no model):
finds the dialogue (`app/video/dialogue.py`), has the offline voice say each description
(`app/video/voice.py`), places them in the dialogue's pauses (`app/video/describer.py`) and
writes `<video>.descriptions.vtt` and/or `<video>.described.mp4`
(`app/video/described_video.py`). Without a voice the track is still written, timed at the
chosen pace, and the result says why there is no described video.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.files import write_text_atomic
from app.inference.types import CancelToken
from app.video.described_video import DescribeCancelled, DescribedVideoError, write_described_video
from app.video.describer import DescriptionPlan, plan_descriptions, to_descriptions_vtt
from app.video.dialogue import SoundtrackError, SpeechDetector, find_dialogue
from app.video.summarize import VideoSummary
from app.video.voice import DEFAULT_WPM, NO_VOICE, Speech, Voice, VoiceError, find_voice

KINDS = ("descriptions", "described-video")  # the export names of the two outputs
TRACK_SUFFIX = ".descriptions.vtt"
VIDEO_SUFFIX = ".described.mp4"

__all__ = [
    "KINDS",
    "AudioDescription",
    "AudioDescriptionError",
    "DescribeCancelled",
    "write_audio_description",
]


class AudioDescriptionError(Exception):
    """Audio description could not be made (the message says why, for the user)."""


@dataclass
class AudioDescription:
    """What was written, the plan it follows, and anything the user should know."""

    paths: list[Path]
    plan: DescriptionPlan
    notes: list[str] = field(default_factory=list)


def paced(wpm: int) -> Callable[[str], Speech]:
    """Speech lengths at `wpm` words per minute, without a voice (for the track alone)."""

    def speak(text: str) -> Speech:
        seconds = len(text.split()) * 60.0 / wpm + 0.3
        return Speech(np.zeros(round(seconds * 16_000), np.float32), 16_000)

    return speak


def write_audio_description(
    summary: VideoSummary,
    out_dir: Path,
    kinds: tuple[str, ...] = KINDS,
    *,
    extended: bool = False,
    wpm: int = DEFAULT_WPM,
    voice: Voice | bool | None = True,
    detector: SpeechDetector | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel: CancelToken | None = None,
) -> AudioDescription:
    """Write the asked-for `kinds` to `out_dir` (see the module docs).

    `voice`: True finds this platform's voice, None or False uses none (the track alone),
    or a Voice. Raises AudioDescriptionError (with a message for the user) or DescribeCancelled.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown audio description output(s): {', '.join(unknown) or 'none'}")
    report = progress or (lambda _f, _m: None)
    video = Path(summary.video)
    notes: list[str] = []
    speaker: Voice | None = find_voice(wpm) if voice is True else voice or None
    if speaker is None:
        notes.append(f"{NO_VOICE}; the descriptions track is timed at {wpm} words a minute")
        if kinds == ("described-video",):
            raise AudioDescriptionError(f"can't make a described video: {NO_VOICE}")
    report(0.0, "Finding the dialogue…")
    try:
        dialogue = find_dialogue(video, summary.duration, detector)
    except SoundtrackError as exc:
        raise AudioDescriptionError(str(exc)) from exc
    if not dialogue.has_audio:
        notes.append("the video has no sound: descriptions are placed at their scenes")
    spoken: dict[str, Speech] = {}
    scenes = max(1, len(summary.segments))

    def speak(text: str) -> Speech:
        if cancel is not None and cancel.cancelled:
            raise DescribeCancelled
        if text not in spoken:
            spoken[text] = speaker.speak(text) if speaker is not None else paced(wpm)(text)
            report(0.1 + 0.3 * min(1.0, len(spoken) / scenes), "Speaking the descriptions…")
        return spoken[text]

    report(0.1, "Speaking the descriptions…")
    try:
        plan = plan_descriptions(
            summary, dialogue, speak, extended=extended, voice=speaker.name if speaker else ""
        )
    except VoiceError as exc:
        raise AudioDescriptionError(f"the voice failed: {exc}") from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = video.stem + (".partial" if summary.partial else "")
    paths: list[Path] = []
    if "descriptions" in kinds:
        track = out_dir / f"{stem}{TRACK_SUFFIX}"
        write_text_atomic(track, to_descriptions_vtt(plan, summary))
        paths.append(track)
    if "described-video" in kinds and speaker is not None:
        target = out_dir / f"{stem}{VIDEO_SUFFIX}"
        try:
            write_described_video(
                video,
                plan,
                target,
                progress=lambda f: report(0.4 + 0.6 * f, "Writing the described video…"),
                cancel=cancel,
            )
        except DescribedVideoError as exc:
            raise AudioDescriptionError(str(exc)) from exc
        paths.append(target)
    report(1.0, "Done")
    return AudioDescription(paths, plan, notes)
