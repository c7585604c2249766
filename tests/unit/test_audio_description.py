"""Placing descriptions in the dialogue's pauses, shortening them, and the descriptions track.

The voice here is a stand-in whose speech lasts 0.4 s a word (a real voice's length depends
on the machine's synthesizer); the real voice, speech detector and video writer are tested in
tests/integration/test_audio_description.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import webvtt

from app.cli import main
from app.exit_codes import ExitCode
from app.video.described_video import AUDIO_RATE, DUCK_GAIN, Mixer, Narration, Timeline
from app.video.describer import (
    EXTENDED_PREFIX,
    MARGIN_S,
    plan_descriptions,
    sentences,
    shorter_versions,
    to_descriptions_vtt,
)
from app.video.dialogue import Dialogue, Span, spans_from
from app.video.summarize import SegmentResult, VideoSummary
from app.video.voice import Speech
from tests.media import write_video

SECONDS_PER_WORD = 0.4


class WordVoice:
    """Speech as long as its words, a 220 Hz tone; remembers what it was asked to say."""

    name = "stand-in"

    def __init__(self) -> None:
        self.said: list[str] = []

    def speak(self, text: str) -> Speech:
        self.said.append(text)
        n = round(len(text.split()) * SECONDS_PER_WORD * 16_000)
        return Speech((0.5 * np.sin(np.arange(n) * 2 * np.pi * 220 / 16_000)).astype(np.float32), 16_000)


def summary_of(*scenes: tuple[float, float, str]) -> VideoSummary:
    segs = [SegmentResult(i, a, b, text, ()) for i, (a, b, text) in enumerate(scenes)]
    return VideoSummary("film.mp4", scenes[-1][1], segs, "", "test-model", "test", {})


def dialogue(duration: float, *speech: tuple[float, float]) -> Dialogue:
    return Dialogue(duration, tuple(Span(a, b) for a, b in speech))


def inside_a_pause(cue_start: float, cue_end: float, d: Dialogue) -> bool:
    return any(p.start <= cue_start and cue_end <= p.end for p in d.pauses(2.0))


def test_a_description_waits_for_the_pause_after_the_speech_at_its_scene() -> None:
    d = dialogue(20.0, (0.0, 6.0), (10.0, 14.0))
    summary = summary_of((0, 10, "A woman pours tea into two cups."), (10, 20, "A man reads a newspaper."))
    plan = plan_descriptions(summary, d, WordVoice().speak)
    first, second = plan.cues
    assert first.start == pytest.approx(6.0 + MARGIN_S) and first.end == pytest.approx(first.start + 7 * 0.4)
    assert second.start == pytest.approx(14.0 + MARGIN_S)
    assert all(inside_a_pause(c.start, c.end, d) for c in plan.cues)
    assert not plan.left_out and not plan.extended


def test_a_long_description_is_shortened_to_whole_words_that_fit() -> None:
    d = dialogue(12.0, (0.0, 1.0), (4.2, 12.0))  # one 3.2 s pause: room for about 7 words
    text = "A man in a red coat walks his small brown dog along a busy street, holding an umbrella."
    voice = WordVoice()
    plan = plan_descriptions(summary_of((0, 12, text)), d, voice.speak)
    (cue,) = plan.cues
    assert cue.shortened and cue.text == "A man in a red coat walks."
    assert inside_a_pause(cue.start, cue.end, d)
    assert voice.said[0] == text  # the whole text was tried first


def test_without_room_a_standard_description_is_left_out_and_the_reason_kept() -> None:
    d = dialogue(12.0, (0.0, 5.0), (6.0, 12.0))  # a 1 s pause only
    plan = plan_descriptions(summary_of((0, 12, "A cat sleeps on a sofa.")), d, WordVoice().speak)
    assert plan.cues == []
    assert [x.reason for x in plan.left_out] == ["no pause of 2 s or more near it"]
    assert "1 left out: no pause of 2 s or more near it" in plan.report()


def test_extended_mode_says_it_whole_and_holds_the_picture_after_the_words_end() -> None:
    d = dialogue(12.0, (0.0, 5.0), (6.0, 12.0))
    text = "A cat sleeps on a sofa."  # 6 words: 2.4 s
    plan = plan_descriptions(summary_of((3, 12, text)), d, WordVoice().speak, extended=True)
    (cue,) = plan.cues
    assert cue.text == text and cue.extended
    assert cue.start == pytest.approx(5.05)  # not inside the words spoken at the scene's start
    assert cue.end - cue.start + cue.hold == pytest.approx(2.4)  # what the pause holds, then the rest held
    assert plan.held_s == pytest.approx(cue.hold)
    vtt = to_descriptions_vtt(plan, summary_of((3, 12, text)))
    assert f"{EXTENDED_PREFIX}1" in vtt and "pause the video" in vtt


def test_a_description_that_repeats_the_previous_one_is_left_out() -> None:
    summary = summary_of(
        (0, 5, "A dog runs across a green field."),
        (5, 10, "A dog runs across the green field."),
        (10, 15, "A child throws a ball."),
    )
    plan = plan_descriptions(summary, dialogue(15.0), WordVoice().speak)
    assert [c.text for c in plan.cues] == ["A dog runs across a green field.", "A child throws a ball."]
    assert plan.left_out[0].reason == "says what the previous description said"


def test_cues_never_overlap_and_a_failed_scene_gets_no_cue() -> None:
    summary = summary_of(
        (0, 2, "A red car drives past a bakery on a corner."),
        (2, 4, ""),
        (4, 6, "A cyclist stops at a traffic light."),
    )
    plan = plan_descriptions(summary, dialogue(30.0), WordVoice().speak)
    assert len(plan.cues) == 2
    assert plan.cues[1].start >= plan.cues[0].end + MARGIN_S
    assert [x.reason for x in plan.left_out] == ["not described"]


def test_shortening_says_on_screen_text_whole_or_not_at_all() -> None:
    text = (
        'A sign on the door reads "Closed for lunch, back at two". A man waits outside, checking his watch.'
    )
    assert sentences(text)[0] == 'A sign on the door reads "Closed for lunch, back at two".'
    versions = shorter_versions(text)
    assert versions[0] == 'A sign on the door reads "Closed for lunch, back at two".'
    assert all(v.count('"') in (0, 2) for v in versions)
    assert not any(v.rstrip(".").endswith("reads") for v in versions)
    curly = "The screen says “Update complete. Restart now.” A hand reaches for the mouse."
    assert shorter_versions(curly) == ["The screen says “Update complete. Restart now.”"]


def test_the_track_reads_back_as_webvtt_with_one_cue_per_description() -> None:
    summary = summary_of((0, 8, "A chef slices an onion."), (8, 16, "Steam rises from a pot."))
    plan = plan_descriptions(summary, dialogue(16.0, (0.0, 1.0)), WordVoice().speak)
    captions = webvtt.from_buffer(io.StringIO(to_descriptions_vtt(plan, summary)))
    assert [c.text for c in captions] == ["A chef slices an onion.", "Steam rises from a pot."]
    assert [c.identifier for c in captions] == ["description-1", "description-2"]
    assert captions[0].start == "00:00:01.150"  # 1 s of speech, then the margin


def test_speech_spans_follow_silero_rules() -> None:
    step = 512 / 16_000
    probs = np.zeros(200, np.float32)
    probs[10:40] = 0.9  # ~1 s of speech
    probs[41] = 0.2  # a dip shorter than 100 ms does not end it
    probs[42:60] = 0.9
    probs[100:104] = 0.9  # 128 ms: too short to be speech
    spans = spans_from(probs, 200 * step)
    assert len(spans) == 1
    assert spans[0].start == pytest.approx(10 * step - 0.03) and spans[0].end == pytest.approx(
        60 * step + 0.03
    )
    d = Dialogue(200 * step, tuple(spans))
    assert [round(p.start, 2) for p in d.pauses(2.0)] == [
        1.95
    ]  # the pause after it (the one before is 0.29 s)


def test_the_mix_ducks_the_film_under_the_narration_and_adds_it() -> None:
    voice = np.full(AUDIO_RATE, 0.5, np.float32)  # 1 s
    mixer = Mixer([Narration(2.0, voice)])
    film = np.full((2, 4 * AUDIO_RATE), 0.2, np.float32)
    out = mixer.mix(0, film)
    assert out[0, AUDIO_RATE] == pytest.approx(0.2)  # at 1 s: untouched
    assert out[0, round(2.5 * AUDIO_RATE)] == pytest.approx(0.2 * DUCK_GAIN + 0.5)  # ducked, narration on top
    assert out[1, round(3.6 * AUDIO_RATE)] == pytest.approx(0.2)  # back up after the ramp


def test_the_timeline_inserts_silence_where_the_picture_is_held() -> None:
    timeline = Timeline([(1.0, 0.5)])
    chunk = np.ones((2, 2 * AUDIO_RATE), np.float32)
    parts = list(timeline.place(0, chunk))
    assert [(at, c.shape[1]) for at, c in parts] == [
        (0, AUDIO_RATE),
        (AUDIO_RATE, AUDIO_RATE // 2),
        (AUDIO_RATE + AUDIO_RATE // 2, AUDIO_RATE),
    ]
    assert not parts[1][1].any() and parts[2][1].all()


def test_summarize_refuses_an_unknown_export_and_a_pace_out_of_range_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = write_video(tmp_path / "v.mp4", [((200, 40, 40), 1.0)])
    model = str(tmp_path / "no-model")  # never loaded: both are refused first
    assert (
        main(["summarize", str(video), "--export", "descriptions,audio", "--model", model]) == ExitCode.INPUT
    )
    assert "descriptions, described-video, not 'descriptions,audio'" in capsys.readouterr().err
    code = main(["summarize", str(video), "--export", "descriptions", "--voice-rate", "20", "--model", model])
    assert code == ExitCode.USAGE
    assert "--voice-rate takes 80 to 400 words a minute" in capsys.readouterr().err


def test_a_description_like_one_left_out_is_still_said() -> None:
    d = dialogue(30.0, (0.0, 10.0), (11.0, 16.0))  # nothing fits until 16 s
    summary = summary_of(
        (0, 10, "A dog runs across a green field."),
        (10, 20, "A dog runs across the green field."),
    )
    plan = plan_descriptions(summary, d, WordVoice().speak)
    assert [c.scene for c in plan.cues] == [1]  # the first had no room; the second is not a repeat of it
    assert plan.left_out[0].reason == "no pause of 2 s or more near it"
