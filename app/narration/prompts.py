"""What we ask the model: plain, short, hedged prompts, tuned per mode and verbosity.

SmolVLM2 is small: it follows short plain instructions best and can be confidently wrong,
so prompts ask for hedged sentences ("probably", "I can't tell") and forbid guesses about
people's age, looks or identity unless the user asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verbosity = Literal["brief", "normal", "detailed"]
VERBOSITIES: tuple[Verbosity, ...] = ("brief", "normal", "detailed")

_CAUTION = (
    "Say 'probably' when unsure and 'I can't tell' when you can't see it. "
    "Do not guess anyone's age, looks or identity."
)

DEFAULT_IMAGE_PROMPT = f"Describe what is in front of the camera in one short sentence. {_CAUTION}"
DEFAULT_CLIP_PROMPT = f"Say briefly what happens in these frames, in order. {_CAUTION}"


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


PRESETS: dict[str, str] = {
    "scene": "What is in front of the camera?",
    "text": "Read any text you can see, exactly as written. If there is none, say so.",
    "find": "Is there a {target}? If yes, say whether it is on the left, in the centre or on the right.",
    "people": "How many people can you see? Only count them; do not describe them.",
}


def describe_prompt(verbosity: Verbosity, preset: str = "scene", target: str = "") -> str:
    """The prompt for describing the current frame."""
    ask = PRESETS.get(preset, PRESETS["scene"]).format(target=target or "object")
    return f"{ask} {style(verbosity).instruction} {_CAUTION}"


def clip_prompt(verbosity: Verbosity) -> str:
    """The prompt for 'what just happened' over a clip of recent frames."""
    return f"What just happened in these frames? {style(verbosity).instruction} {_CAUTION}"


def question_prompt(question: str, verbosity: Verbosity) -> str:
    """The prompt for the user's own question."""
    return f"{question.strip()} {style(verbosity).instruction} Say 'I can't tell' if unsure."
