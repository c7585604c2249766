"""Follow-up questions (`smolsight eval context`): describe a picture, then ask three without it.

The first prototype scored 0 % here because its follow-ups had neither the image nor the earlier
answers in the prompt. This runs the same protocol through the narrator's scene log, as the
app does: the description is logged and each follow-up's prompt carries the recent log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.capture.frames import Frame
from app.config import NarrationSettings
from app.evaluation.vqa import load_image
from app.inference.types import GenerationRequest
from app.narration.policy import Narrator
from app.paths import resource_file


@dataclass(frozen=True)
class FollowUpItem:
    """A picture and follow-up questions with the words a right answer contains."""

    image: str
    questions: tuple[tuple[str, tuple[str, ...]], ...]


SAMPLE: tuple[FollowUpItem, ...] = (
    FollowUpItem(
        "coffee.jpg",
        (
            ("What drink was in the cup?", ("coffee", "espresso", "latte", "cappuccino")),
            ("What colour was the cup?", ("red", "orange")),
            ("What was the cup standing on?", ("saucer", "plate", "table")),
        ),
    ),
    FollowUpItem(
        "chelsea.jpg",
        (
            ("What animal did you see?", ("cat", "kitten")),
            ("What colour was its fur?", ("brown", "orange", "grey", "gray", "tabby", "ginger")),
            ("Were its eyes open?", ("yes", "open")),
        ),
    ),
    FollowUpItem(
        "rocket.jpg",
        (
            ("What vehicle was in the picture?", ("rocket", "spaceship", "spacecraft", "shuttle")),
            ("Where was it standing?", ("launch", "pad", "tower", "platform")),
            ("Was it day or night?", ("night", "dusk", "evening", "dark")),
        ),
    ),
)


@dataclass(frozen=True)
class FollowUpResult:
    """The share of follow-ups answered right, and every exchange."""

    score: float  # percent
    correct: int
    total: int
    rows: tuple[dict[str, object], ...]


def evaluate_follow_ups(
    answer: Callable[[GenerationRequest], str],
    *,
    memory: bool = True,
    items: tuple[FollowUpItem, ...] = SAMPLE,
) -> FollowUpResult:
    """Run the protocol; `answer(request)` asks the model."""
    rows: list[dict[str, object]] = []
    for item in items:
        narrator = Narrator(NarrationSettings(verbosity="detailed", memory=memory))
        frame = Frame(load_image(item.image, resource_file("eval")), 0.0)
        ask = narrator.describe_now(frame)
        description = answer(GenerationRequest(ask.prompt, frames=ask.frames, max_tokens=ask.max_tokens))
        narrator.on_answer(ask, description, 0.0)
        for n, (question, accepted) in enumerate(item.questions, start=1):
            follow = narrator.ask(question, None)  # no image: only the scene log can help
            reply = answer(
                GenerationRequest(follow.prompt, frames=follow.frames, max_tokens=follow.max_tokens)
            )
            narrator.on_answer(follow, reply, float(n))
            right = any(word in reply.lower() for word in accepted)
            rows.append(
                {
                    "image": item.image,
                    "description": description,
                    "question": question,
                    "reply": reply,
                    "correct": right,
                }
            )
    correct = sum(1 for r in rows if r["correct"])
    return FollowUpResult(100.0 * correct / len(rows), correct, len(rows), tuple(rows))
