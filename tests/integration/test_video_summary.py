"""Video summarization on OpenCV-written videos with known cuts: segments, prompts, exports."""

from __future__ import annotations

import dataclasses
import itertools
import re
from pathlib import Path

import pysrt
import pytest
import webvtt

from app.capture.media import MediaError
from app.cli import main
from app.config import SummarySettings
from app.exit_codes import ExitCode
from app.inference.backend import BackendError
from app.inference.types import CancelToken, GenerationRequest
from app.video.export import export, to_json
from app.video.segments import SegmentSettings, iter_segments
from app.video.summarize import Progress, VideoSummary, summarize
from tests.conftest import needs_mlx
from tests.fakes import FakeBackend
from tests.media import write_video

# A few minutes of solid-colour scenes with a moving square; the cuts are where colours change.
SCENES = [
    ((200, 40, 40), 17.0),
    ((40, 180, 40), 24.5),
    ((40, 40, 200), 38.7),
    ((220, 220, 60), 42.5),
    ((30, 30, 30), 27.3),
    ((230, 230, 230), 30.0),
]
CUTS = [sum(d for _, d in SCENES[: i + 1]) for i in range(len(SCENES) - 1)]


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "scenes.mp4", SCENES, fps=5.0, size=(96, 64))


def test_segment_boundaries_fall_within_a_second_of_the_true_cuts(long_video: Path) -> None:
    segments = list(iter_segments(long_video, SegmentSettings(fps=1.0, max_segment_s=30.0)))
    starts = [s.start for s in segments[1:]]
    for cut in CUTS:
        assert min(abs(s - cut) for s in starts) <= 1.0, f"no boundary near the cut at {cut} s"
    for seg, nxt in itertools.pairwise(segments):
        assert seg.end == nxt.start  # contiguous
        near_cut = any(abs(nxt.start - c) <= 1.0 for c in CUTS)
        assert near_cut or nxt.start - seg.start == pytest.approx(30.0, abs=0.5)  # else a forced split
        assert len(seg.frames) <= 31
    assert segments[-1].end == pytest.approx(sum(d for _, d in SCENES), abs=0.3)


def test_prompt_timestamps_match_frame_times(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", [((200, 40, 40), 12.0), ((40, 40, 200), 9.0)], fps=5.0)
    backend = FakeBackend(seconds_per_call=0.0, tokens=4)
    result = summarize(video, backend, SummarySettings(frames_per_segment=4))
    clip_calls = [c for c in backend.calls if c.frame_times]
    assert len(clip_calls) == len(result.segments) == 2
    for call, seg in zip(clip_calls, result.segments, strict=True):
        stamps = re.findall(r"Frame from (\d\d):(\d\d):", call.prompt)
        assert [int(m) * 60 + int(s) for m, s in stamps] == [int(t) for t in call.frame_times]
        assert call.frame_times == seg.frame_times
        assert seg.start <= call.frame_times[0] and call.frame_times[-1] <= seg.end
    assert backend.calls[-1].frame_times == ()  # the summary is a text-only pass
    assert result.summary and not result.partial


def seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_exports_parse_back_and_agree_with_the_result(long_video: Path, tmp_path: Path) -> None:
    result = summarize(
        long_video, FakeBackend(seconds_per_call=0.0, tokens=4), SummarySettings(frames_per_segment=2)
    )
    paths = export(result, tmp_path, ["vtt", "srt", "md", "json"])
    assert [p.suffix for p in paths] == [".vtt", ".srt", ".md", ".json"]
    cues = webvtt.read(str(paths[0]))
    subs = pysrt.open(str(paths[1]))
    assert len(cues) == len(subs) == len(result.segments)
    previous_end = 0.0
    for cue, sub, seg in zip(cues, subs, result.segments, strict=True):
        start, end = seconds(cue.start), seconds(cue.end)  # webvtt-py's *_in_seconds drop the ms
        assert start == pytest.approx(seg.start, abs=0.001)
        assert sub.start.ordinal / 1000 == pytest.approx(seg.start, abs=0.001)
        assert end == pytest.approx(seg.end, abs=0.001) and sub.end.ordinal / 1000 == pytest.approx(
            seg.end, abs=0.001
        )
        assert start >= previous_end - 1e-6 and end > start  # monotonic, no overlap
        previous_end = end
        assert cue.text == sub.text == seg.description
    again = VideoSummary.from_dict(__import__("json").loads(paths[3].read_text()))
    assert again == dataclasses.replace(result, video=long_video.name)  # the file's name, not its path
    assert str(long_video.parent) not in paths[3].read_text()
    assert "## Scenes" in paths[2].read_text()


def test_cancel_keeps_the_finished_segments(long_video: Path, tmp_path: Path) -> None:
    cancel = CancelToken()
    finished: list[Progress] = []

    def progress(p: Progress) -> None:
        if p.segment is not None:
            finished.append(p)
            if len(finished) == 2:
                cancel.cancel()

    result = summarize(
        long_video, FakeBackend(seconds_per_call=0.0, tokens=4), progress=progress, cancel=cancel
    )
    assert result.partial and len(result.segments) == 2 and result.summary == ""
    paths = export(result, tmp_path, ["vtt", "md"])
    assert paths[0].name == "scenes.partial.smolsight.vtt"
    assert "Partial result" in paths[0].read_text() and "Partial result" in paths[1].read_text()
    assert finished[-1].eta_s is not None and 0 < finished[-1].fraction < 1


def test_a_failing_segment_is_reported_and_the_rest_continue(tmp_path: Path) -> None:
    video = write_video(
        tmp_path / "v.mp4", [((200, 40, 40), 5.0), ((40, 40, 200), 5.0), ((40, 200, 40), 5.0)]
    )

    def answer(request: GenerationRequest) -> str:
        if request.frames and 4.5 < request.frames[0].timestamp < 6:
            raise BackendError("the model ran out of memory on this scene")
        return "A coloured wall."

    result = summarize(video, FakeBackend(answer=answer, seconds_per_call=0.0, tokens=4))
    assert [s.error is None for s in result.segments] == [True, False, True]
    assert "out of memory" in (result.segments[1].error or "")
    vtt = export(result, tmp_path, ["vtt"])[0].read_text()
    assert "(not described)" in vtt and "out of memory" not in vtt  # a gap, not an error message, in a cue
    assert "the model ran out of memory on this scene" in to_json(result)  # the reason stays in the JSON


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: (d / "a.mp4").write_text("hello") and d / "a.mp4", "can't be opened as a video"),
        (lambda d: (d / "b.mp4").write_bytes(b"") or d / "b.mp4", "is empty"),
        (lambda d: _truncated(d), "damaged or incomplete"),
    ],
    ids=["text-file", "zero-length", "truncated"],
)
def test_bad_videos_get_a_clear_message(
    make, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    with pytest.raises(MediaError, match=message):
        summarize(path, FakeBackend())
    assert main(["summarize", str(path), "--model", str(tmp_path)]) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def _truncated(d: Path) -> Path:
    full = write_video(d / "full.mp4", [((200, 40, 40), 2.0)]).read_bytes()
    (d / "cut.mp4").write_bytes(full[:600])
    return d / "cut.mp4"


@pytest.mark.parametrize("backend", ["transformers", pytest.param("mlx", marks=needs_mlx)])
def test_cli_summarizes_with_the_tiny_model(
    backend: str, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = write_video(tmp_path / "trip.mp4", [((200, 40, 40), 4.0), ((40, 40, 200), 4.0)])
    code = main(
        [
            "summarize",
            str(video),
            "--model",
            str(tiny_model),
            "--backend",
            backend,
            "--out",
            str(tmp_path / "out"),
            "--frames-per-segment",
            "2",
            "--detail",
            "line",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "[00:00-00:04]" in out and "[00:04-00:08]" in out
    assert "100%" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "trip.smolsight.json",
        "trip.smolsight.md",
        "trip.smolsight.srt",
        "trip.smolsight.vtt",
    ]


HOSTILE = (
    "<script>alert(1)</script> A **bold** [link](http://evil.example) # heading\n"
    "- a list item\u2028next\u2029para \u202eevil\u202c \x1b[31mred\x07 --> end & more"
)


def test_a_hostile_engines_answers_are_clean_in_every_export(long_video: Path, tmp_path: Path) -> None:
    import json

    result = summarize(
        long_video,
        FakeBackend(answer=lambda _request: HOSTILE, seconds_per_call=0.0, tokens=64),
        SummarySettings(frames_per_segment=2),
    )
    vtt, srt, md, js = export(result, tmp_path, ["vtt", "srt", "md", "json"])
    raw = {p.suffix: p.read_text(encoding="utf-8") for p in (vtt, srt, md, js)}
    for suffix, text in raw.items():
        for bad in ("\u2028", "\u2029", "\u202e", "\x1b", "\x07"):
            assert bad not in text, (suffix, repr(bad))
    scenes = len(result.segments)
    # WebVTT: one cue per scene, one line each, the markup shown as text (entities), never a tag.
    cues = webvtt.read(str(vtt))
    assert len(cues) == scenes
    assert all("\n" not in c.raw_text and "<script>" not in c.raw_text for c in cues)
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in cues[0].raw_text
        and "-&gt; end &amp; more" in cues[0].raw_text
    )
    # SubRip: no tags a player would apply; one line per cue.
    subs = pysrt.open(str(srt))
    assert len(subs) == scenes and all("<" not in s.text and "\n" not in s.text for s in subs)
    # Markdown: each scene is one list item; nothing is markup.
    items = [line for line in raw[".md"].splitlines() if line.startswith("- **")]
    assert len(items) == scenes
    assert "<script>" not in raw[".md"] and "&lt;script&gt;" in raw[".md"]
    assert "\\*\\*bold\\*\\*" in items[0] and "\\[link\\]\\(http://evil.example\\)" in items[0]
    assert not any(line.startswith(("- a list", "# heading")) for line in raw[".md"].splitlines())
    # JSON: every word the engine gave, its lines kept; nothing invisible, not even escaped.
    description = json.loads(raw[".json"])["segments"][0]["description"]
    assert "\\u2028" not in raw[".json"] and "\\u202e" not in raw[".json"]
    assert (
        description.startswith("<script>alert(1)</script> A **bold**")
        and "\n- a list item\nnext" in description
    )
