"""Audio description end to end: real dialogue (eSpeak NG), the real speech detector, voice and mux.

The test video's dialogue is spoken at known times over a music bed; description cues are
checked against those times, not against what the detector found. The described video is
read back with PyAV: its length, its tracks, the original sound's packets, the narration
heard in the description track, and in extended mode the held picture.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from app.cli import main
from app.devtools.dialogue_video import DialogueVideo, conversation, write_dialogue_video
from app.exit_codes import ExitCode
from app.video.audio_description import AudioDescription, write_audio_description
from app.video.described_video import AUDIO_RATE, RAMP_S, TITLE
from app.video.dialogue import find_dialogue
from app.video.summarize import SegmentResult, VideoSummary
from tests.media import offline_voice

TOLERANCE_S = 0.25  # the tolerance on "inside a pause"
DESCRIPTIONS = (
    "A cup of coffee sits on a saucer on a wooden table.",
    "A grey tabby cat looks straight at the camera, its ears forward and its whiskers spread wide "
    "as it sits very still on a red blanket by the window.",
    "An astronaut in a white suit stands beside a flag.",
    "A rocket waits on its launch pad under a clear sky.",
    'A printed page reads "Region-based segmentation".',
)


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> DialogueVideo:
    """30 s of the sample's five scenes, a line of dialogue every 7 s, over music."""
    voice = offline_voice()
    folder = tmp_path_factory.mktemp("dialogue")
    return write_dialogue_video(
        folder / "talk.mp4", conversation(30.0), seconds=30.0, music=True, voice=voice
    )


def summary_for(video: DialogueVideo) -> VideoSummary:
    segs = [SegmentResult(i, 6.0 * i, 6.0 * i + 6, text, ()) for i, text in enumerate(DESCRIPTIONS)]
    return VideoSummary(str(video.path), video.duration, segs, "", "test-model", "test", {})


def audio_tracks(path: Path) -> list[np.ndarray]:
    """Every audio track, decoded to mono float32 at AUDIO_RATE."""
    out = []
    with av.open(str(path)) as c:
        for stream in c.streams.audio:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
            chunks = [r.to_ndarray().reshape(-1) for f in c.decode(stream) for r in resampler.resample(f)]
            out.append(np.concatenate(chunks))
            c.seek(0)
    return out


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def length_of(path: Path) -> float:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return float(v.duration * v.time_base)


def test_the_detector_finds_the_spoken_lines_under_music(talk: DialogueVideo) -> None:
    found = find_dialogue(talk.path, talk.duration)
    assert len(found.speech) == len(talk.speech)
    for truth, heard in zip(talk.speech, found.speech, strict=True):
        assert abs(heard.start - truth.start) < TOLERANCE_S and abs(heard.end - truth.end) < TOLERANCE_S


def test_standard_cues_lie_in_pauses_and_the_described_video_keeps_its_length(
    talk: DialogueVideo, tmp_path: Path
) -> None:
    made = write_audio_description(summary_for(talk), tmp_path)
    assert [p.name for p in made.paths] == ["talk.descriptions.vtt", "talk.described.mp4"]
    cues = made.plan.cues
    assert len(cues) >= 4 and not any(c.extended for c in cues)
    pauses = talk.pauses(2.0)
    for cue in cues:
        assert any(p.start - TOLERANCE_S <= cue.start and cue.end <= p.end + TOLERANCE_S for p in pauses), (
            f"{cue} is not inside a pause of 2 s: {pauses}"
        )
    assert any(c.shortened for c in cues) or made.plan.left_out  # the long cat description did not fit whole
    described = made.paths[1]
    assert length_of(described) == pytest.approx(length_of(talk.path), abs=0.05)
    with av.open(str(described)) as c:
        sound = c.streams.audio
        assert len(sound) == 2
        assert sound[1].metadata.get("language") == "eng"
        assert TITLE in (sound[1].metadata.get("title"), sound[1].metadata.get("name"))
    _assert_original_intact(talk.path, described)
    _assert_narration_heard(made, described)


def _assert_original_intact(source: Path, described: Path) -> None:
    """The first sound track carries the source's packets, byte for byte."""

    def packets(path: Path, index: int) -> list[bytes]:
        with av.open(str(path)) as c:
            return [bytes(p) for p in c.demux(c.streams.audio[index]) if p.size]

    assert packets(described, 0) == packets(source, 0)


def _assert_narration_heard(made: AudioDescription, described: Path) -> None:
    """The description track differs from the film's sound during each cue, and only then."""
    original, with_ad = audio_tracks(described)
    n = min(len(original), len(with_ad))
    diff = with_ad[:n] - original[:n]
    busy = np.zeros(n, bool)
    for cue in made.plan.cues:
        a, b = round(cue.start * AUDIO_RATE), round(cue.end * AUDIO_RATE)
        assert rms(diff[a:b]) > 0.1, f"no narration heard in {cue}"
        pad = round((RAMP_S + 0.1) * AUDIO_RATE)
        busy[max(0, a - pad) : b + pad] = True
    assert rms(diff[~busy]) < 0.02  # elsewhere the film's own sound, re-encoded


def test_extended_mode_holds_the_picture_while_the_long_description_is_said(
    talk: DialogueVideo, tmp_path: Path
) -> None:
    made = write_audio_description(summary_for(talk), tmp_path, ("described-video",), extended=True)
    plan = made.plan
    held = [c for c in plan.cues if c.extended]
    assert held and plan.held_s > 0.5
    assert all(c.text in DESCRIPTIONS for c in plan.cues)  # every description said whole
    video = made.paths[0]
    assert length_of(video) == pytest.approx(length_of(talk.path) + plan.held_s, abs=0.15)
    # The picture during the first hold is one frame, repeated; the film's sound is silent there.
    cue = held[0]
    before = sum(c.hold for c in plan.cues if c.start < cue.start)
    a, b = cue.start + before + 0.1, cue.start + before + cue.hold - 0.1
    with av.open(str(video)) as c:
        frames = [f.to_ndarray(format="gray") for f in c.decode(video=0) if a <= float(f.time) <= b]
    assert len(frames) >= 3
    assert max(float(np.abs(f.astype(int) - frames[0]).mean()) for f in frames) < 1.0
    original, with_ad = audio_tracks(video)
    assert rms(original[round(a * AUDIO_RATE) : round(b * AUDIO_RATE)]) < 0.01
    assert rms(with_ad[round(a * AUDIO_RATE) : round(b * AUDIO_RATE)]) > 0.1  # the narration


def test_summarize_exports_audio_description_with_the_tiny_model(
    talk: DialogueVideo, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["summarize", str(talk.path), "--model", str(tiny_model), "--out", str(tmp_path)]
    args += ["--export", "descriptions,described-video", "--frames-per-segment", "2", "--detail", "line"]
    code = main(args)
    _out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.described.mp4", "talk.descriptions.vtt"]
    assert "Audio description (espeak" in err and "placed" in err
    text = (tmp_path / "talk.descriptions.vtt").read_text()
    assert text.startswith("WEBVTT") and "pause in the dialogue of 2 seconds" in text


def test_without_a_voice_the_track_is_still_written_and_the_video_refused_up_front(
    talk: DialogueVideo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no espeak-ng to be found
    code = main(["summarize", str(talk.path), "--export", "described-video", "--model", str(tmp_path)])
    _out, err = capsys.readouterr()
    assert code == ExitCode.INPUT
    assert "can't make a described video: no offline voice" in err and "espeak-ng" in err
    made = write_audio_description(summary_for(talk), tmp_path, voice=None)
    assert [p.name for p in made.paths] == ["talk.descriptions.vtt"]
    assert "no offline voice" in made.notes[0] and "180 words a minute" in made.notes[0]
