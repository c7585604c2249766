r"""SmolVLM2's chat format: turns a request into the model's prompt text, for every local engine.

The local engines (transformers, OpenVINO, MLX) receive the same words: the chat frame
`<|im_start|>User:…<end_of_utterance>\nAssistant:`, one `<image>` placeholder per frame (the
processor expands each into its image tokens), and for clips the video wording the SmolVLM2
processor itself writes ("You are provided the following series of N frames from a H:MM:SS
[H:MM:SS] video." and "Frame from MM:SS:" before each frame). We decode frames ourselves, so
we write that wording ourselves. A remote engine gets the same request as OpenAI messages.
"""

from __future__ import annotations

from datetime import timedelta

from app.inference.types import ChatTurn, GenerationRequest
from app.timecode import format_clock

IMAGE_TOKEN = "<image>"
END_OF_UTTERANCE = "<end_of_utterance>"
BOS = "<|im_start|>"

VIDEO_INTRO = "You are provided the following series of {count} frames from a {duration} [H:MM:SS] video.\n"
FRAME_STAMP = "\nFrame from {stamp}:"
MEDIA_OUTRO = "\n\n"


def _number_words(n: int) -> str:
    """Spell a frame count as the SmolVLM2 processor does (num2words)."""
    from num2words import num2words

    return str(num2words(n))


def video_block(timestamps: list[float]) -> str:
    """The clip wording with one `<image>` per frame, as the SmolVLM2 processor writes it.

    Timestamps are seconds into the source (a scene at 1:40 of a film reads "Frame from
    01:40"), as the processor writes them for frames sampled from a whole video; the stated
    length is the last frame's time, rounded down to whole seconds.
    """
    text = video_intro(timestamps)
    for t in timestamps:
        text += frame_stamp(t) + IMAGE_TOKEN
    return text + MEDIA_OUTRO


def video_intro(timestamps: list[float]) -> str:
    """The sentence before a clip's frames: frame count and length (last frame's time)."""
    duration = str(timedelta(seconds=int(timestamps[-1]) if timestamps else 0))
    return VIDEO_INTRO.format(count=_number_words(len(timestamps)), duration=duration)


def frame_stamp(seconds: float) -> str:
    """The words before one frame of a clip: a new line, then "Frame from MM:SS:"."""
    return FRAME_STAMP.format(stamp=format_clock(seconds))


def _turn(role: str, body: str, *, starts_with_media: bool = False) -> str:
    """One chat turn in SmolVLM2's template (no space after the colon before an image)."""
    sep = ":" if starts_with_media else ": "
    return f"{role.capitalize()}{sep}{body}{END_OF_UTTERANCE}\n"


def render_prompt(request: GenerationRequest) -> str:
    """The full prompt text for `request`, ending with `Assistant:`."""
    parts: list[str] = [BOS]
    turns: list[ChatTurn] = []
    if request.system:
        turns.append(ChatTurn("system", request.system))
    turns.extend(request.history)
    for turn in turns:
        parts.append(_turn(turn.role, turn.text))
    if request.is_video:
        media = video_block([f.timestamp for f in request.frames])
    else:
        media = IMAGE_TOKEN * len(request.frames)
    # The official template writes "User:<image>" but "User: <video>"; keep both as it does.
    starts_with_image = bool(request.frames) and not request.is_video
    parts.append(_turn("user", media + request.prompt, starts_with_media=starts_with_image))
    parts.append("Assistant:")
    return "".join(parts)
