"""Hostile and careless input: context and body limits, health while loading, field errors, CLI errors."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from app.files import write_text_atomic
from app.server.api import ApiPolicy, create_app
from tests.commands import smolsight
from tests.fakes import FakeBackend
from tests.media import photo
from tests.servers import free_port, served_model, serving, transformers_backend

CHAT = "/v1/chat/completions"


def chat(text: object, **extra: object) -> dict[str, object]:
    return {"max_tokens": 4, "messages": [{"role": "user", "content": text}], **extra}


# --- context limits -------------------------------------------------------------------------------
def test_a_huge_prompt_is_refused_at_once_and_the_server_goes_on(fake_server) -> None:  # type: ignore[no-untyped-def]
    base, _backend, served = fake_server
    start = time.monotonic()
    response = httpx.post(f"{base}{CHAT}", json=chat("word " * 40_000), timeout=30)  # 200,000 characters
    assert time.monotonic() - start < 1.0
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded" and "200000 characters" in error["message"]
    assert served.model_thread.busy is False  # the model never saw it
    assert httpx.post(f"{base}{CHAT}", json=chat("Hello"), timeout=30).status_code == 200


@pytest.fixture(scope="module")
def tiny_limited_server(tiny_model: Path) -> Iterator[str]:
    served = served_model(lambda m: transformers_backend(m or str(tiny_model)), name=str(tiny_model))
    with serving(create_app(served, ApiPolicy(max_context_tokens=120))) as base:
        deadline = time.monotonic() + 120
        while httpx.get(f"{base}/health").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield base
    assert served.shutdown()


@pytest.mark.parametrize("stream", [False, True])
def test_prompt_plus_max_tokens_beyond_the_context_is_a_400_with_both_numbers(
    tiny_limited_server: str, stream: bool
) -> None:
    body = chat("Tell me about the picture " * 20, max_tokens=50, stream=stream)
    response = httpx.post(f"{tiny_limited_server}{CHAT}", json=body, timeout=60)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded"
    numbers = [int(n) for n in re.findall(r"\d+", error["message"])]
    assert 120 in numbers and 50 in numbers  # the limit and the completion's tokens
    short = httpx.post(f"{tiny_limited_server}{CHAT}", json=chat("Hi", max_tokens=4), timeout=60)
    assert short.status_code == 200


# --- body limits ------------------------------------------------------------------------------------
BIG = 60 * 1024 * 1024


def test_an_oversized_body_is_a_readable_413_for_urllib(fake_server) -> None:  # type: ignore[no-untyped-def]
    base, _backend, _served = fake_server
    request = urllib.request.Request(
        f"{base}{CHAT}", data=b"x" * BIG, headers={"Content-Type": "application/json"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=60)
    assert caught.value.code == 413
    assert b'"request_too_large"' in caught.value.read()


def test_an_oversized_chunked_body_is_a_413_too(fake_server) -> None:  # type: ignore[no-untyped-def]
    base, _backend, _served = fake_server

    def chunks() -> Iterator[bytes]:
        piece = b"x" * (1024 * 1024)
        for _ in range(BIG // len(piece)):
            yield piece

    response = httpx.post(f"{base}{CHAT}", content=chunks(), timeout=60)  # no Content-Length: chunked
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert httpx.post(f"{base}{CHAT}", json=chat("Hello"), timeout=30).status_code == 200


# --- field errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "param", "words"),
    [
        ([{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": 5}],
         "messages[0].content[1].image_url", 'must be an object with a "url"'),
        ([{"type": "text", "text": "hi"}, {"type": "audio", "audio": "x"}],
         "messages[0].content[1]", 'type must be one of "text", "image_url" (got "audio")'),
        ([{"type": "image_url", "image_url": {"link": "x"}}],
         "messages[0].content[0].image_url.url", "is required"),
        (5, "messages[0].content", "must be a string or a list of content parts"),
    ],
)  # fmt: skip
def test_validation_errors_name_the_field_and_what_was_expected(
    fake_server, content: object, param: str, words: str
) -> None:  # type: ignore[no-untyped-def]
    base, _backend, _served = fake_server
    response = httpx.post(f"{base}{CHAT}", json=chat(content), timeout=30)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param and words in error["message"] and param in error["message"]
    assert ".str" not in error["message"]


# --- health ------------------------------------------------------------------------------------------
def test_health_is_503_while_loading_and_after_a_failed_load_then_200() -> None:
    slow = served_model(lambda _m: FakeBackend(load_seconds=1.5), name="fake")
    with serving(create_app(slow)) as base:
        loading = httpx.get(f"{base}/health")
        assert loading.status_code == 503 and loading.json()["status"] == "loading"
        deadline = time.monotonic() + 10
        while (ready := httpx.get(f"{base}/health")).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert ready.json()["status"] == "ready"
        assert httpx.post(f"{base}{CHAT}", json=chat("Hi"), timeout=30).status_code == 200  # right away
    assert slow.shutdown()

    from app.inference.backend import BackendError

    def broken(_model: str | None) -> FakeBackend:
        raise BackendError("The model 'x' is not on this computer.")

    failed = served_model(broken, name="x")
    with serving(create_app(failed)) as base:
        deadline = time.monotonic() + 10
        while (health := httpx.get(f"{base}/health")).json()["status"] == "loading":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert health.status_code == 503 and "not on this computer" in health.json()["error"]
    assert failed.shutdown()


def test_the_openai_client_waits_on_health_and_then_succeeds(tiny_model: Path) -> None:
    from openai import OpenAI

    served = served_model(lambda m: transformers_backend(m or str(tiny_model)), name=str(tiny_model))
    with serving(create_app(served)) as base:
        deadline = time.monotonic() + 120
        while httpx.get(f"{base}/health").status_code != 200:  # what a script or orchestrator does
            assert time.monotonic() < deadline
            time.sleep(0.05)
        client = OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
        reply = client.chat.completions.create(
            model="smolsight", max_tokens=4, messages=[{"role": "user", "content": "Hi"}]
        )
        assert reply.choices[0].finish_reason in ("stop", "length")
    assert served.shutdown()


# --- offline API docs ------------------------------------------------------------------------------------
def test_the_api_docs_need_no_other_host(fake_server) -> None:  # type: ignore[no-untyped-def]
    base, _backend, _served = fake_server
    page = httpx.get(f"{base}/docs").text
    links = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page) + re.findall(r"url: ?['\"]([^'\"]+)", page)
    assert links, page
    assert not [link for link in links if "://" in link or link.startswith("//")]
    for link in links:
        assert httpx.get(f"{base}{link}").status_code == 200, link


# --- the command line ---------------------------------------------------------------------------------------
def assert_short_error(done: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert done.returncode == code, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 3, done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr


def test_a_giant_image_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    giant = tmp_path / "giant.png"
    Image.new("1", (16000, 16000)).save(giant)
    assert_short_error(smolsight("describe", str(giant)), 1, "giant.png", "megapixels")
    big = tmp_path / "big.png"
    Image.new("L", (8000, 6000)).save(big)  # 48 megapixels: over the default limit, under PIL's own
    assert_short_error(smolsight("describe", str(big)), 1, "8000×6000", "max_image_pixels")


def test_an_unwritable_output_folder_is_found_before_any_work(tmp_path: Path) -> None:
    from tests.media import write_video

    video = write_video(tmp_path / "v.mp4", [((200, 30, 30), 2.0)])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    start = time.monotonic()
    done = smolsight("summarize", str(video), "--out", str(blocker / "notes"))
    assert_short_error(done, 1, "can't save the results")
    assert time.monotonic() - start < 30  # no model was loaded


def test_a_busy_port_is_one_line_without_a_banner() -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = smolsight("serve", "--port", str(port))
    assert_short_error(done, 1, f"port {port}", "already in use")
    assert "SmolSight server on" not in done.stderr


def test_an_unknown_choice_names_the_valid_ones_in_short() -> None:
    done = smolsight("describe", "x.png", "--backend", "tpu")
    assert_short_error(done, 2, "invalid choice: 'tpu'", "openvino")


def test_a_too_long_prompt_is_refused_before_loading_anything(tmp_path: Path) -> None:
    picture = tmp_path / "p.png"
    Image.fromarray(photo()).save(picture)
    assert_short_error(
        smolsight("describe", str(picture), "--prompt", "x" * 70_000), 1, "--prompt is too long"
    )


def test_an_export_that_fails_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "notes.md"
    write_text_atomic(target, "the first version\n")
    with pytest.raises(OSError):
        write_text_atomic(target / "impossible", "x")  # a folder that can't exist: nothing is written
    assert target.read_text() == "the first version\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.md"]  # no temporary file left behind


def test_odd_local_paths_are_a_400_not_a_crash(tmp_path: Path) -> None:
    from app.server.errors import ApiError
    from app.server.images import ImageLimits, load_image_url

    for url in ("~0", "~no-such-user-here/x.png", "file://~0"):  # found by the fuzzer: expanduser() raised
        with pytest.raises(ApiError) as caught:
            load_image_url(url, ImageLimits(allowed_dirs=(tmp_path,)), "p")
        assert caught.value.status in (400, 403)
