"""A remote server in trouble: busy, answering in another form, or unreadable; never an empty success.

Each server is llama.cpp's stand-in (`tests/llama_standin.py`) on 127.0.0.1, with the real
remote backend as its client.
"""

from __future__ import annotations

import threading
import time

import pytest

from app.inference.answer import collect
from app.inference.backend import BackendError
from app.inference.openai_backend import OpenAIBackend
from app.inference.types import CancelToken, GenerationRequest
from tests.llama_standin import LlamaServerStandIn, llama_server

ANSWER = "A person walks past a red wall."


def connected(base: str) -> OpenAIBackend:
    backend = OpenAIBackend(base_url=base, timeout_s=30)
    backend.load()
    return backend


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_server_is_asked_again_when_it_says(status: int) -> None:
    standin = LlamaServerStandIn(busy=2, busy_status=status, retry_after="1")
    with llama_server(standin) as base:
        backend = connected(base)
        try:
            out = collect(backend.stream(GenerationRequest("What is this?")))
        finally:
            backend.close()
    assert out.text.strip() == ANSWER
    assert len(standin.seen) == 3  # two busy answers, then the answer
    first, second = standin.busy_answered
    assert second - first >= 0.9  # it waited the second the server asked for


def test_a_server_that_stays_busy_is_said_plainly_after_a_bounded_wait() -> None:
    standin = LlamaServerStandIn(busy=1000, retry_after="1")
    with llama_server(standin) as base:
        backend = connected(base)
        started = time.monotonic()
        try:
            with pytest.raises(BackendError, match=r"busy \(HTTP 429\).*asked 5 times"):
                collect(backend.stream(GenerationRequest("What is this?")))
        finally:
            backend.close()
    assert len(standin.seen) == 5 and time.monotonic() - started < 10


def test_a_wait_longer_than_sensible_is_not_waited() -> None:
    standin = LlamaServerStandIn(busy=1000, retry_after="600")
    with llama_server(standin) as base:
        backend = connected(base)
        try:
            with pytest.raises(BackendError, match="asks to wait 600 s"):
                collect(backend.stream(GenerationRequest("What is this?")))
        finally:
            backend.close()
    assert len(standin.seen) == 1


def test_cancel_ends_the_wait_for_a_busy_server_within_a_second() -> None:
    standin = LlamaServerStandIn(busy=1000, retry_after="20")
    cancel = CancelToken()
    with llama_server(standin) as base:
        backend = connected(base)
        try:
            timer = threading.Timer(0.3, cancel.cancel)
            timer.start()
            started = time.monotonic()
            out = collect(backend.stream(GenerationRequest("What is this?"), cancel))
            took = time.monotonic() - started
            timer.join()
        finally:
            backend.close()
    assert out.stats.finish_reason == "cancelled" and out.text == ""
    assert took < 1.3


def test_a_plain_completion_where_a_stream_was_asked_is_read() -> None:
    standin = LlamaServerStandIn(plain_json=True)
    with llama_server(standin) as base:
        backend = connected(base)
        try:
            out = collect(backend.stream(GenerationRequest("What is this?")))
        finally:
            backend.close()
    assert out.text == ANSWER
    assert out.stats.finish_reason == "stop" and out.stats.prompt_tokens > 0


def test_an_answer_that_cannot_be_read_is_an_error_not_an_empty_success() -> None:
    standin = LlamaServerStandIn(unreadable=True)
    with llama_server(standin) as base:
        backend = connected(base)
        try:
            with pytest.raises(BackendError, match=r"could not be read \(text/html\)"):
                collect(backend.stream(GenerationRequest("What is this?")))
        finally:
            backend.close()
