"""Every word SmolSight sends to the model, in one place.

SmolVLM2 is small: it follows short plain instructions best and can be confidently wrong,
so prompts ask for hedged sentences ("probably", "I can't tell") and forbid guesses about
people's age, looks or identity unless the user asks. The chat format around these words
(turns, image placeholders, clip timestamps) is `app/inference/chat_format.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verbosity = Literal["brief", "normal", "detailed"]
VERBOSITIES: tuple[Verbosity, ...] = ("brief", "normal", "detailed")
Detail = Literal["line", "sentence", "paragraph"]  # how much a video summary says per scene
DETAILS: tuple[Detail, ...] = ("line", "sentence", "paragraph")

CAUTION = (
    "Say 'probably' when unsure and 'I can't tell' when you can't see it. "
    "Do not guess anyone's age, looks or identity."
)

DEFAULT_IMAGE_PROMPT = f"Describe what is in front of the camera in one short sentence. {CAUTION}"
DEFAULT_CLIP_PROMPT = f"Say briefly what happens in these frames, in order. {CAUTION}"
WARM_UP_PROMPT = "Describe."


@dataclass(frozen=True)
class Style:
    """How long and how detailed an answer should be."""

    instruction: str
    max_tokens: int


STYLES: dict[Verbosity, Style] = {
    "brief": Style("Answer in one short sentence.", 32),
    "normal": Style("Answer in two or three short sentences.", 80),
    "detailed": Style("Describe the scene in detail: objects, their positions, colours and any text.", 200),
}


def style(verbosity: Verbosity) -> Style:
    """The style for a verbosity level."""
    return STYLES[verbosity]


Preset = Literal["scene", "text", "find", "people"]
PRESETS: dict[Preset, str] = {
    "scene": "What is in front of the camera?",
    "text": "Read any text you can see, exactly as written. If there is none, say so.",
    "find": "Is there a {target}? If yes, say whether it is on the left, in the centre or on the right.",
    "people": "How many people can you see? Only count them; do not describe them.",
}


def describe_prompt(verbosity: Verbosity, preset: Preset = "scene", target: str = "") -> str:
    """The prompt for describing the current frame."""
    ask = PRESETS[preset].format(target=target or "object")
    return f"{ask} {style(verbosity).instruction} {CAUTION}"


def clip_prompt(verbosity: Verbosity) -> str:
    """The prompt for 'what just happened' over a clip of recent frames."""
    return f"What just happened in these frames? {style(verbosity).instruction} {CAUTION}"


def question_prompt(question: str, verbosity: Verbosity) -> str:
    """The prompt for the user's own question."""
    return f"{question.strip()} {style(verbosity).instruction} Say 'I can't tell' if unsure."


SCENE_LOG_HEADER = "Notes about this scene so far, oldest first:\n"
SCENE_LOG_NAMES = {"description": "Seen", "question": "Asked", "answer": "Answered"}


# --- video summaries: (prompt, token budget) per detail level --------------------------------
SEGMENT_PROMPTS: dict[Detail, tuple[str, int]] = {
    "line": ("In a few words, what happens in these frames?", 16),
    # What happens first, then how things look: a description is heard once, in order
    # (audio description practice), and read the same way.
    "sentence": ("Describe what happens in these frames in one sentence: the action first.", 40),
    "paragraph": (
        "Describe what happens in these frames in a short paragraph: first the actions, then "
        "the setting, people, objects and any text on screen.",
        160,
    ),
}
SUMMARY_PROMPTS: dict[Detail, tuple[str, int]] = {
    "line": ("Summarize this video in one line.", 32),
    "sentence": ("Summarize this video in two or three sentences.", 80),
    "paragraph": ("Summarize this video in one paragraph.", 200),
}
SUMMARY_INTRO = "Scene descriptions of a video, in order:\n"


def segment_prompt(detail: Detail) -> tuple[str, int]:
    """What to ask about one scene of a video, and how many tokens the answer may use."""
    prompt, tokens = SEGMENT_PROMPTS[detail]
    return f"{prompt} {CAUTION}", tokens


def summary_prompt(scene_lines: list[str], detail: Detail) -> tuple[str, int]:
    """The text-only prompt that turns scene descriptions into one summary."""
    prompt, tokens = SUMMARY_PROMPTS[detail]
    return SUMMARY_INTRO + "\n".join(scene_lines) + "\n\n" + prompt, tokens


# --- evaluation ------------------------------------------------------------------------------
def vqa_prompt(question: str) -> str:
    """A VQA question, asking for the short answer the metric compares."""
    return f"{question} Answer with one word or a short phrase."


VQA_MAX_TOKENS = 12
