"""Remote engines as people run them: llama.cpp's server (a recorded stand-in, and the real one if on PATH).

Clips too long for the server's context go again with fewer frames, said once; a summary
that failed is not a success; answers are cleaned before they are shown or exported, which
name the model, not a path or a server address; SmolSight's words reach the server as it
wrote them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pysrt
import pytest
import webvtt

from app.capture.frames import Frame
from app.exit_codes import ExitCode
from app.inference.answer import collect
from app.inference.chat_format import MEDIA_OUTRO, frame_stamp, video_intro
from app.inference.openai_backend import OpenAIBackend
from app.inference.types import GenerationRequest
from tests.llama_standin import MEDIA, LlamaServerStandIn, llama_server
from tests.media import write_video

ROOT = Path(__file__).resolve().parents[2]

NOISY = "\x05A cat\ufffd sits\x14 on a mat\x00 by the door.\x7f"


def clip(count: int) -> tuple[Frame, ...]:
    rng = np.random.default_rng(0)
    return tuple(Frame(rng.integers(0, 255, (384, 512, 3), dtype=np.uint8), float(i)) for i in range(count))


def connected(base: str) -> OpenAIBackend:
    backend = OpenAIBackend(base_url=base + "/v1")
    backend.load()
    return backend


def test_a_clip_too_long_for_the_servers_context_goes_with_fewer_frames_said_once() -> None:
    standin = LlamaServerStandIn()  # 895 tokens a frame, 8192 of context: 8 frames fit, 16 don't
    with llama_server(standin) as base:
        backend = connected(base)
        try:
            request = GenerationRequest("What happens?", frames=clip(16), max_tokens=20, as_video=True)
            first = collect(backend.stream(request))
            again = collect(backend.stream(request))
        finally:
            backend.close()
    assert [s.images for s in standin.seen] == [16, 8, 8]  # refused once, then what fits, from then on
    assert first.text and first.stats.note == (
        "The server's context is too small for clips of 16 frames; SmolSight sends it 8 per clip."
    )
    assert again.text and again.stats.note == ""  # said once


def test_smolsights_words_reach_the_server_as_one_text_part_each() -> None:
    standin = LlamaServerStandIn(image_tokens=64)
    frames = clip(3)
    with llama_server(standin) as base:
        backend = connected(base)
        try:
            collect(backend.stream(GenerationRequest("What happens?", frames=frames, as_video=True)))
        finally:
            backend.close()
    seen = standin.seen[-1]
    assert seen.adjacent_text_parts == 0  # nothing for the server to join with its own newlines
    words = video_intro([f.timestamp for f in frames]) + frame_stamp(0.0) + MEDIA
    words += frame_stamp(1.0) + MEDIA + frame_stamp(2.0) + MEDIA + MEDIA_OUTRO + "What happens?"
    assert seen.texts[-1] == words  # exactly what the local prompt builder writes, pictures in place


def summarize(video: Path, base: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("smolsight")
    return subprocess.run(
        [
            str(exe),
            "summarize",
            str(video),
            "--backend",
            "openai",
            "--base-url",
            base,
            "--out",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return write_video(
        tmp_path / "street.mp4", [((200, 40, 40), 4.0), ((40, 40, 200), 4.0), ((40, 200, 40), 4.0)]
    )


def test_a_summary_that_failed_whole_writes_nothing_and_says_so(video: Path, tmp_path: Path) -> None:
    standin = LlamaServerStandIn(refuse_all=True)
    out = tmp_path / "notes"
    with llama_server(standin) as base:
        done = summarize(video, base, out)
    assert done.returncode == 3, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("smolsight: no scene of street.mp4 could be described, so nothing was written:")
    assert not out.exists() or not any(out.iterdir())  # no caption track of error messages


def test_a_partly_failed_summary_keeps_what_worked_and_marks_the_gaps_plainly(
    video: Path, tmp_path: Path
) -> None:
    standin = LlamaServerStandIn(image_tokens=64, fail_every=2, answer=NOISY)
    out = tmp_path / "notes"
    with llama_server(standin) as base:
        done = summarize(video, base, out, "--max-segment", "4")
    assert done.returncode == ExitCode.GAPS, done.stderr  # finished, with gaps: said in its exit code
    data = json.loads((out / "street.smolsight.json").read_text(encoding="utf-8"))
    failed = [s for s in data["segments"] if s["error"]]
    described = [s for s in data["segments"] if not s["error"]]
    assert failed and described
    assert "HTTP 500" in failed[0]["error"]  # the reason is in the JSON…
    assert f"smolsight: {len(failed)} of {len(data['segments'])} scenes not described: " in done.stderr
    cues = [c.text for c in webvtt.read(str(out / "street.smolsight.vtt"))]
    assert "(not described)" in cues and not any("HTTP" in c for c in cues)  # …never in a caption cue
    assert "A cat sits on a mat by the door." in cues  # clean: no control or replacement characters


def test_a_summary_the_server_failed_to_write_is_said_missing_with_the_gaps_code(
    video: Path, tmp_path: Path
) -> None:
    standin = LlamaServerStandIn(image_tokens=64, fail_text_only=True)
    out = tmp_path / "notes"
    with llama_server(standin) as base:
        done = summarize(video, base, out)
    assert done.returncode == ExitCode.GAPS, done.stderr
    said = "summary missing: The server answered HTTP 500: slot unavailable"
    assert f"smolsight: {said}" in done.stderr.splitlines()
    data = json.loads((out / "street.smolsight.json").read_text(encoding="utf-8"))
    assert data["summary"] == "" and data["summary_error"] == "The server answered HTTP 500: slot unavailable"
    assert all(s["description"] for s in data["segments"])  # every scene is kept
    md = (out / "street.smolsight.md").read_text(encoding="utf-8")
    assert "## Summary\n\n*Summary missing: The server answered HTTP 500: slot unavailable*" in md


def test_describe_waits_for_a_busy_server_as_it_asks_and_succeeds() -> None:
    standin = LlamaServerStandIn(image_tokens=64, busy=1, retry_after="1")
    exe = Path(sys.executable).with_name("smolsight")
    picture = str(ROOT / "resources" / "sample.jpg")
    with llama_server(standin) as base:
        done = subprocess.run(
            [str(exe), "describe", picture, "--backend", "openai", "--base-url", base, "--no-read-text"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "A person walks past a red wall."
    assert len(standin.busy_answered) == 1 and len(standin.seen) == 2


def test_exports_of_noisy_answers_are_valid_and_name_the_model_not_a_path_or_server(
    video: Path, tmp_path: Path
) -> None:
    standin = LlamaServerStandIn(image_tokens=64, answer=NOISY)
    out = tmp_path / "notes"
    with llama_server(standin) as base:
        done = summarize(video, base, out)
    assert done.returncode == 0, done.stderr
    vtt = (out / "street.smolsight.vtt").read_text(encoding="utf-8")
    texts = [c.text for c in webvtt.read(str(out / "street.smolsight.vtt"))]
    texts += [s.text for s in pysrt.open(str(out / "street.smolsight.srt"))]
    data = json.loads((out / "street.smolsight.json").read_text(encoding="utf-8"))
    texts += [s["description"] for s in data["segments"]] + [data["summary"]]
    for text in texts:
        assert not any((ord(ch) < 32 and ch not in "\n\t") or ch == "\ufffd" for ch in text), repr(text)
    md = (out / "street.smolsight.md").read_text(encoding="utf-8")
    assert "Described by SmolSight (SmolVLM2-500M-Video-Instruct-Q8_0.gguf)." in vtt
    for exported in (vtt, md, json.dumps(data)):
        assert "/models/" not in exported and "127.0.0.1" not in exported


@pytest.mark.skipif(shutil.which("llama-server") is None, reason="llama-server is not on PATH")
def test_the_real_llama_server_describes_a_clip_with_fewer_frames(tmp_path: Path) -> None:
    """Opt-in: a real llama-server; SMOLSIGHT_TEST_GGUF and SMOLSIGHT_TEST_MMPROJ name its files."""
    model, mmproj = os.environ.get("SMOLSIGHT_TEST_GGUF"), os.environ.get("SMOLSIGHT_TEST_MMPROJ")
    if not (model and mmproj):
        pytest.skip("set SMOLSIGHT_TEST_GGUF and SMOLSIGHT_TEST_MMPROJ to a SmolVLM GGUF and its mmproj")
    from tests.servers import free_port

    port = free_port()
    server = subprocess.Popen(
        ["llama-server", "-m", model, "--mmproj", mmproj, "--port", str(port), "-c", "2048", "-t", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                backend = connected(base)
                break
            except Exception:
                assert time.monotonic() < deadline, "llama-server did not start"
                time.sleep(0.5)
        try:
            request = GenerationRequest("What happens?", frames=clip(8), max_tokens=8, as_video=True)
            out = collect(backend.stream(request))
        finally:
            backend.close()
        assert "SmolSight sends it" in out.stats.note  # 8 tiled frames can't fit 2048 tokens
    finally:
        server.terminate()
        server.wait(30)
