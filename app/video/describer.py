"""Audio description: each scene's description placed in a pause of the dialogue, and written out.

A summary's scenes are timed to the picture, not to the soundtrack: a description read at the
scene's start could land on top of someone speaking. `plan_descriptions` places each one in a
pause of at least 2 s (WCAG technique F113: shorter pauses may not be usable) near its scene,
sized to the time the voice takes to say it:

- it fits whole in the first pause that has room, from the scene's start to shortly after its end;
- else it is shortened (whole sentences, then whole clauses, then whole words; a quotation of
  on-screen text is kept whole or left out) to fit the roomiest pause there;
- else, in standard mode, it is left out and the reason kept; in extended mode it is said whole
  in the roomiest pause near its scene (or from the first moment nobody speaks) and the picture
  is held for what doesn't fit (`Cue.hold`).

A description that says again what the previous one said is left out: a listener hears each
cue once and in order. The plan is then written as a WebVTT descriptions track
(`to_descriptions_vtt`) and mixed into a described video (`app/video/described_video.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from app.plain_text import one_line, webvtt_text
from app.timecode import format_cue_time
from app.video.dialogue import USABLE_PAUSE_S, Dialogue, Span
from app.video.summarize import VideoSummary
from app.video.voice import Speech

MARGIN_S = 0.15  # kept between a description and the speech around it
NEAR_S = 3.0  # how long after its scene ends a description may still come
SHORTEST_ROOM_S = 1.2  # less room than this holds no useful words
FEWEST_WORDS = 3  # a shortened description says at least this much
REPEAT_SIMILARITY = 88  # rapidfuzz token-set ratio above which a description repeats the previous one
EXTENDED_PREFIX = "extended-"  # cue identifiers of descriptions that need the video paused

Synthesizer = Callable[[str], Speech]  # text → spoken audio (the offline voice); not the app's `Speaker`


@dataclass(frozen=True)
class Cue:
    """One description as it will be heard: when (in the video's own time), what, and how."""

    start: float
    end: float  # start + the part said while the video plays
    text: str
    scene: int  # the scene's index in the summary
    hold: float = 0.0  # seconds the picture is held at `start` while the rest is said (extended)
    shortened: bool = False
    speech: Speech | None = field(default=None, compare=False, repr=False)

    @property
    def extended(self) -> bool:
        """Whether the video must pause for it."""
        return self.hold > 0


@dataclass(frozen=True)
class LeftOut:
    """A scene with no description cue, and why."""

    scene: int
    start: float
    reason: str


@dataclass
class DescriptionPlan:
    """Every cue, in order, and the scenes left out."""

    cues: list[Cue]
    left_out: list[LeftOut]
    extended: bool
    dialogue: Dialogue
    voice: str = ""

    @property
    def held_s(self) -> float:
        """How much longer the extended video is than the original."""
        return sum(c.hold for c in self.cues)

    def report(self) -> str:
        """One line for the user: what was placed, what was shortened or left out, and why."""
        parts = [f"{len(self.cues)} description{'s' if len(self.cues) != 1 else ''} placed"]
        short = sum(c.shortened for c in self.cues)
        if short:
            parts.append(f"{short} shortened to fit a pause")
        if self.extended and self.held_s:
            held = sum(c.extended for c in self.cues)
            parts.append(f"{held} pause the video ({self.held_s:.1f} s in all)")
        for reason in sorted({x.reason for x in self.left_out}):
            n = sum(x.reason == reason for x in self.left_out)
            parts.append(f"{n} left out: {reason}")
        return "; ".join(parts) + "."


def _inside_quotation(text: str) -> bool:
    """Whether `text` ends inside a quotation (straight or curly quotes)."""
    return text.count('"') % 2 == 1 or text.count("“") > text.count("”")


def _last_quote(text: str) -> int:
    """Where the text's last quotation mark is (-1: it quotes nothing)."""
    return max(text.rfind('"'), text.rfind("”"))


def sentences(text: str) -> list[str]:
    """The text's sentences (a quotation is not split)."""
    out, buf = [], ""
    for piece in re.split(r"(?<=[.!?][\"”])(\s+)|(?<=[.!?])(\s+)", text.strip()):
        buf += piece or ""
        if not _inside_quotation(buf) and re.search(r"[.!?][\"”]?$", buf.strip()):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


_WEAK_ENDINGS = {
    "a",
    "an",
    "the",
    "and",
    "or",
    "of",
    "with",
    "in",
    "on",
    "at",
    "to",
    "by",
    "for",
    "is",
    "are",
}


def shorter_versions(text: str) -> list[str]:
    """Ever shorter versions of a description, longest first, each whole on its own."""
    text = one_line(text)
    versions: list[str] = []
    parts = sentences(text)
    for n in range(len(parts) - 1, 0, -1):
        versions.append(" ".join(parts[:n]))
    first = parts[0] if parts else text
    clauses = re.split(r"(?<=,)\s+|\s+(?=(?:and|while|as|but|with)\s)", first)
    for n in range(len(clauses) - 1, 0, -1):
        if not _inside_quotation(" ".join(clauses[:n])):  # a quotation is said whole or not at all
            versions.append(" ".join(clauses[:n]).rstrip(",") + ".")
    words = first.rstrip(".!?").split()
    quote_end = _last_quote(first)
    for n in range(len(words) - 1, FEWEST_WORDS - 1, -1):
        cut = words[:n]
        # On-screen text is said whole or the description is not cut by words: a cut inside
        # or before a quotation leaves "The sign reads." and nothing read.
        if quote_end >= 0 and len(" ".join(cut)) <= quote_end:
            continue
        while cut and cut[-1].lower().strip(",;:") in _WEAK_ENDINGS:
            cut = cut[:-1]
        if len(cut) >= FEWEST_WORDS:
            said = " ".join(cut).rstrip(",;:")
            versions.append(said if re.search(r"[.!?][\"”]$", said) else said + ".")
    seen: set[str] = {text}
    unique = []
    for v in sorted(versions, key=len, reverse=True):
        if v not in seen and len(v) < len(text):
            seen.add(v)
            unique.append(v)
    return unique


def _listening_texts(summary: VideoSummary) -> tuple[list[tuple[int, float, float, str]], list[LeftOut]]:
    """(scene, start, end, text) of each described scene, in order; failed scenes left out."""
    kept: list[tuple[int, float, float, str]] = []
    left: list[LeftOut] = []
    scenes = sorted(summary.segments, key=lambda s: s.start)
    for i, seg in enumerate(scenes):
        text = one_line(seg.description)
        if not text:
            left.append(LeftOut(seg.index, seg.start, "not described"))
            continue
        end = seg.end if i + 1 == len(scenes) else min(seg.end, scenes[i + 1].start)
        kept.append((seg.index, seg.start, max(end, seg.start), text))
    return kept, left


def _repeats(text: str, said: str) -> bool:
    """Whether `text` says again what `said` (the last description heard) said."""
    return bool(said) and fuzz.token_set_ratio(said.lower(), text.lower()) >= REPEAT_SIMILARITY


def plan_descriptions(
    summary: VideoSummary, dialogue: Dialogue, speak: Synthesizer, *, extended: bool = False, voice: str = ""
) -> DescriptionPlan:
    """Place each scene's description in the dialogue's pauses (see the module docs)."""
    pauses = [Span(p.start + MARGIN_S, p.end - MARGIN_S) for p in dialogue.pauses(USABLE_PAUSE_S)]
    texts, left = _listening_texts(summary)
    cues: list[Cue] = []
    free_from = 0.0
    last_said = ""  # the whole text of the last description placed
    for scene, start, end, text in texts:
        if _repeats(text, last_said):
            left.append(LeftOut(scene, start, "says what the previous description said"))
            continue
        latest = max(end, start + USABLE_PAUSE_S) + NEAR_S
        rooms = [
            Span(max(p.start, start, free_from), p.end)
            for p in pauses
            if p.end > max(start, free_from) and p.start < latest
        ]
        rooms = [r for r in rooms if r.length > 0]
        whole = speak(text)
        cue = None
        fit = next((r for r in rooms if r.length >= whole.seconds), None)
        if fit is not None:
            cue = Cue(fit.start, fit.start + whole.seconds, text, scene, speech=whole)
        elif extended:
            # The roomiest pause near the scene, or the first moment nobody speaks: the least held.
            at = _quiet_moment(dialogue, max(start, free_from))
            quiet = Span(at, max(at, next((p.end for p in pauses if p.start <= at < p.end), at)))
            best = max([*rooms, quiet], key=lambda r: r.length)
            said = min(whole.seconds, best.length)
            cue = Cue(best.start, best.start + said, text, scene, hold=whole.seconds - said, speech=whole)
        else:
            roomiest = max(rooms, key=lambda r: r.length, default=None)
            if roomiest is not None and roomiest.length >= SHORTEST_ROOM_S:
                cue = _shortened(text, scene, roomiest, whole, speak)
            if cue is None:
                why = "no pause of 2 s or more near it" if not rooms else "no pause near it long enough"
                left.append(LeftOut(scene, start, why))
        if cue is not None:
            cues.append(cue)
            free_from = cue.end + MARGIN_S
            last_said = text
    left.sort(key=lambda x: x.start)
    return DescriptionPlan(cues, left, extended, dialogue, voice)


def _quiet_moment(dialogue: Dialogue, t: float) -> float:
    """`t`, or the end of the speech going on at `t` (the video pauses between words, not in them)."""
    speaking = dialogue.speaking_at(t)
    while speaking is not None:
        t = speaking.end + 0.05
        speaking = dialogue.speaking_at(t)
    return min(t, dialogue.duration)


def _shortened(text: str, scene: int, room: Span, whole: Speech, speak: Synthesizer) -> Cue | None:
    """The longest shorter version of `text` that fits `room`, if one does."""
    words = max(1, len(text.split()))
    for version in shorter_versions(text):
        # Skip what can't fit at the whole text's pace, before asking the voice.
        if whole.seconds * len(version.split()) / words > room.length * 1.15:
            continue
        said = speak(version)
        if said.seconds <= room.length:
            return Cue(room.start, room.start + said.seconds, version, scene, shortened=True, speech=said)
    return None


def to_descriptions_vtt(plan: DescriptionPlan, summary: VideoSummary) -> str:
    """A WebVTT descriptions track (`<track kind="descriptions">`) of the plan's cues.

    Extended cues are marked by their identifier, `extended-N` (no standard marks them): a
    player should pause the video at the cue's start until the description has been said.
    """
    out = ["WEBVTT", "", "NOTE", f"Audio description by SmolSight ({webvtt_text(summary.model)}).", ""]
    out += [
        "NOTE",
        "Each description lies in a pause in the dialogue of 2 seconds or more.",
        "",
    ]
    if any(c.extended for c in plan.cues):
        out += [
            "NOTE",
            f'Cues named "{EXTENDED_PREFIX}N" are extended descriptions: pause the video at the cue\'s',
            "start until the description has been said, then resume.",
            "",
        ]
    if summary.partial:
        out += ["NOTE", "Partial result: summarization was stopped before the end.", ""]
    for n, cue in enumerate(plan.cues, start=1):
        name = f"{EXTENDED_PREFIX}{n}" if cue.extended else f"description-{n}"
        end = max(cue.end, cue.start + 0.5)
        out += [name, f"{format_cue_time(cue.start)} --> {format_cue_time(end)}", webvtt_text(cue.text), ""]
    return "\n".join(out)
