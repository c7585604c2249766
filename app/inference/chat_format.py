r"""The chat formats: turn a request into the prompt text of SmolVLM2 or Qwen3.5, for every local engine.

The local engines (transformers, OpenVINO, MLX) receive the same words: the chat frame
`<|im_start|>User:…<end_of_utterance>\nAssistant:`, one `<image>` placeholder per frame (the
processor expands each into its image tokens), and for clips the video wording the SmolVLM2
processor itself writes ("You are provided the following series of N frames from a H:MM:SS
[H:MM:SS] video." and "Frame from MM:SS:" before each frame). We decode frames ourselves, so
we write that wording ourselves. A remote engine gets the same request as OpenAI messages.
"""

from __future__ import annotations

from collections.abc import Callable
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


# Qwen3.5's chat format (ChatML): each picture is a vision block the processor fills with its
# patches' tokens, and the answer starts after an empty thinking block: the form Qwen's own
# template writes with thinking off (`enable_thinking=False`), so the model answers at once.
QWEN_IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"
QWEN_END = "<|im_end|>"
QWEN_ANSWER = "<|im_start|>assistant\n<think>\n\n</think>\n\n"


def genai_image_tag(index: int) -> str:
    """openvino-genai's own tag for the `index`-th picture (it writes the model's vision block there)."""
    return f"<ov_genai_image_{index}>"


def render_qwen_prompt(request: GenerationRequest, image_tag: Callable[[int], str] | None = None) -> str:
    """The full Qwen3.5 prompt for `request`, ending where the answer starts.

    The same words as SmolVLM2's (system, history, the clip's wording with a time before each
    frame), in Qwen's turns. `image_tag(i)` writes the i-th picture (default: the vision block
    transformers' processor expands).
    """

    def tag(index: int) -> str:
        return image_tag(index) if image_tag is not None else QWEN_IMAGE

    def turn(role: str, body: str) -> str:
        return f"<|im_start|>{role}\n{body}{QWEN_END}\n"

    parts: list[str] = []
    if request.system:
        parts.append(turn("system", request.system))
    parts.extend(turn(t.role, t.text) for t in request.history)
    if request.is_video:
        stamps = [f.timestamp for f in request.frames]
        media = video_intro(stamps)
        media += "".join(f"{frame_stamp(t)} {tag(i)}" for i, t in enumerate(stamps)) + MEDIA_OUTRO
    else:
        media = "".join(tag(i) for i in range(len(request.frames)))
    parts.append(turn("user", media + request.prompt))
    parts.append(QWEN_ANSWER)
    return "".join(parts)


def prompt_for(family: str, request: GenerationRequest) -> str:
    """The prompt text for a model family (`smolvlm2`, `qwen3_5`)."""
    return render_qwen_prompt(request) if family == "qwen3_5" else render_prompt(request)
