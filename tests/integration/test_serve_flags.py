"""Every `smolsight serve` flag, through the path the command takes: parse, check, build, serve.

`parse_args` → `configured` → `build_server` is what `smolsight serve` runs before handing the
app to uvicorn; here a fake engine and a recording network stand in for the model and the
internet, and a real client asks the real server. Each flag is shown changing what the built
server does (what it fetches, whom it lets in, how many it queues).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
from PIL import Image

from app.cli import parse_args
from app.commands.serve import ServeProblem, configured, run
from app.exit_codes import ExitCode
from tests.fakes import FakeBackend
from tests.media import photo
from tests.servers import RecordingConnector, ask, http_server, png_bytes, served

KEY = "a-key-of-twenty-chars"  # keys shorter than 16 characters are refused


def data_url_of(data: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


class Pictures(BaseHTTPRequestHandler):
    """A picture server on this machine that counts its requests."""

    requests = 0

    def do_GET(self) -> None:
        type(self).requests += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(png_bytes())

    def log_message(self, *args: object) -> None:
        pass


def test_api_key_lets_in_only_who_sends_it() -> None:
    with served("--api-key", "s3cret-for-the-tests") as (base, _):
        assert ask(base).status_code == 401
        assert ask(base, Authorization="Bearer wrong").status_code == 401
        assert ask(base, Authorization="Bearer s3cret-for-the-tests").status_code == 200
    with served() as (base, _):
        assert ask(base).status_code == 200
    with served("--api-key", "desk-1-key-for-tests", "--api-key", "desk-2-key-for-tests") as (
        base,
        _,
    ):  # one key per desk
        assert [
            ask(base, Authorization=f"Bearer {k}").status_code
            for k in ("desk-1-key-for-tests", "desk-2-key-for-tests", "desk-3-key-for-tests")
        ] == [
            200,
            200,
            401,
        ]
        assert (
            ask(base, Authorization="bearer desk-2-key-for-tests").status_code == 200
        )  # the scheme is case-insensitive


def test_a_host_beyond_this_machine_needs_a_key_or_no_auth() -> None:
    with pytest.raises(ServeProblem, match="without an API key") as refused:
        configured(parse_args(["serve", "--host", "0.0.0.0"]))
    assert refused.value.code == ExitCode.INPUT
    for flags in (["--api-key", "a-key-of-twenty-chars"], ["--no-auth"]):
        options, _ = configured(parse_args(["serve", "--host", "0.0.0.0", *flags]))
        assert options.host == "0.0.0.0"


def test_cors_origin_lets_that_page_read_the_answers_only() -> None:
    with served("--cors-origin", "http://a.example") as (base, _):
        allowed = httpx.get(f"{base}/health", headers={"Origin": "http://a.example"})
        other = httpx.get(f"{base}/health", headers={"Origin": "http://b.example"})
    assert allowed.headers.get("access-control-allow-origin") == "http://a.example"
    assert "access-control-allow-origin" not in other.headers


def webcam_page_requests(base: str, origin: str, **headers: str) -> tuple[httpx.Response, httpx.Response]:
    """What a browser sends for the SmolVLM real-time webcam page: the preflight, then its request."""
    preflight = httpx.options(
        f"{base}/v1/chat/completions",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ", ".join(["content-type", *(h.lower() for h in headers)]),
        },
    )
    content = [
        {"type": "text", "text": "What do you see?"},
        {"type": "image_url", "image_url": {"url": data_url_of(png_bytes(), "image/png")}},
    ]
    body = {"max_tokens": 100, "messages": [{"role": "user", "content": content}]}
    request = httpx.post(f"{base}/v1/chat/completions", json=body, headers={"Origin": origin, **headers})
    return preflight, request


@pytest.mark.parametrize("origin", ["http://localhost:8000", "null"])  # served, or opened as a file
def test_the_webcam_page_works_as_the_readme_says(origin: str) -> None:
    for flags, headers in ((), {}), (("--api-key", KEY), {"Authorization": f"Bearer {KEY}"}):
        with served("--cors-origin", origin, *flags) as (base, _):
            preflight, request = webcam_page_requests(base, origin, **headers)
            assert preflight.status_code == 200, preflight.text  # a browser sends no key with a preflight
            assert preflight.headers["access-control-allow-origin"] == origin
            assert "POST" in preflight.headers["access-control-allow-methods"]
            assert request.status_code == 200, request.text
            assert request.headers["access-control-allow-origin"] == origin
            assert request.json()["choices"][0]["message"]["content"]  # what the page shows
    with served() as (base, _):  # without the flag the browser is refused: the README says to add it
        preflight, _ = webcam_page_requests(base, "http://localhost:8000")
        assert "access-control-allow-origin" not in preflight.headers


def test_allow_files_lets_image_urls_name_files_in_that_folder_only(tmp_path: Path) -> None:
    shared, private = tmp_path / "shared", tmp_path / "private"
    shared.mkdir(), private.mkdir()
    for folder in (shared, private):
        Image.fromarray(photo()).save(folder / "photo.png")
    with served("--allow-files", str(shared)) as (base, _):
        assert ask(base, f"file://{shared / 'photo.png'}").status_code == 200
        outside = ask(base, f"file://{private / 'photo.png'}")
        assert outside.status_code == 403 and outside.json()["error"]["code"] == "forbidden_path"
    with served() as (base, _):
        off = ask(base, f"file://{shared / 'photo.png'}")
        assert off.status_code == 400 and "local files are not enabled" in off.json()["error"]["message"]


def test_private_urls_are_fetched_only_when_allowed_and_never_with_no_remote_images() -> None:
    Pictures.requests = 0
    with http_server(Pictures) as port:
        url = f"http://127.0.0.1:{port}/photo.png"
        with served() as (base, _):
            refused = ask(base, url)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "unsafe_image_url"
        assert Pictures.requests == 0
        with served("--allow-private-urls") as (base, _):
            assert ask(base, url).status_code == 200
        assert Pictures.requests == 1
        with served("--allow-private-urls", "--no-remote-images") as (base, _):
            assert ask(base, url).status_code == 400
        assert Pictures.requests == 1  # not fetched


def test_link_local_urls_need_their_own_flag_on_top_of_private_ones() -> None:
    url = "http://169.254.169.254/latest/photo.png"  # where cloud machines serve their credentials
    with pytest.raises(ServeProblem, match="goes with --allow-private-urls") as refused:
        configured(parse_args(["serve", "--allow-link-local-urls"]))
    assert refused.value.code == ExitCode.USAGE
    network = RecordingConnector()
    with served("--allow-private-urls", network=network) as (base, _):
        assert ask(base, url).json()["error"]["code"] == "unsafe_image_url"
    assert network.attempts == []
    with served("--allow-private-urls", "--allow-link-local-urls", network=network) as (base, _):
        ask(base, url)  # the recording network fails it, but it was attempted
    assert network.attempts == [("169.254.169.254", 80)]


def test_queue_size_bounds_the_waiting_requests() -> None:
    busy = FakeBackend(seconds_per_call=30.0, tokens=3000)  # cancelled when the server stops
    answers: list[int] = []
    with served("--queue-size", "1", backend=busy) as (base, _):
        waiting = [threading.Thread(target=lambda: answers.append(ask(base).status_code)) for _ in range(2)]

        def until(condition: Callable[[], bool], what: str) -> None:
            deadline = time.monotonic() + 10
            while not condition():
                assert time.monotonic() < deadline, what
                time.sleep(0.02)

        # One after the other: sent together, the second could find the first still queued.
        waiting[0].start()
        until(lambda: bool(busy.calls), "the first request never reached the model")
        waiting[1].start()
        until(lambda: httpx.get(f"{base}/health").json()["queued"] == 1, "the second was never queued")
        third = ask(base)
        assert third.status_code == 429 and third.headers["Retry-After"]
    for thread in waiting:
        thread.join(10)


def test_engine_flags_reach_the_engine_it_builds() -> None:
    flags = ["--model", "/models/smol", "--backend", "transformers", "--dtype", "float32", "--device", "cpu"]
    with served(*flags, "--offline") as (base, built):
        assert httpx.get(f"{base}/health").status_code == 200
    first = built[0]
    assert (first.model, first.backend, first.dtype, first.device) == (
        "/models/smol",
        "transformers",
        "float32",
        "cpu",
    )
    assert first.allow_download is False


def test_a_busy_port_is_one_clear_line_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run(parse_args(["serve", "--port", str(port)])) == ExitCode.INPUT
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err


def test_no_response_carries_the_servers_folder_path(tmp_path: Path) -> None:
    folder = tmp_path / "private-home" / "models" / "my-smolvlm"
    folder.mkdir(parents=True)
    secret = str(tmp_path)
    with served("--model", str(folder)) as (base, _):
        bodies = [
            httpx.get(f"{base}/v1/models", timeout=10).text,
            httpx.get(f"{base}/health", timeout=10).text,
            httpx.get(f"{base}/api/v1/config", timeout=10).text,
        ]
        wrong = httpx.post(
            f"{base}/v1/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]},
            timeout=10,
        )
        assert wrong.status_code == 404
        bodies.append(wrong.text)
        by_name = ask_model(base, "my-smolvlm")  # the name clients see is the one they can use
        assert by_name.status_code == 200, by_name.text
        bodies.append(by_name.text)
    assert httpx.Response(200, text=bodies[0]).json()["data"][0]["id"] == "my-smolvlm"
    assert all(secret not in body for body in bodies), [b for b in bodies if secret in b]


def test_the_served_model_name_flag_names_the_model_for_clients(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "smolvlm2-500m-local"
    folder.mkdir(parents=True)
    with served("--model", str(folder), "--served-model-name", "classroom") as (base, _):
        models = httpx.get(f"{base}/v1/models", timeout=10).json()
        assert [m["id"] for m in models["data"]] == ["classroom"]
        assert httpx.get(f"{base}/health", timeout=10).json()["model"] == "classroom"
        assert ask_model(base, "classroom").status_code == 200
        # Naming the model already served (by its alias) is not a switch.
        same = httpx.patch(f"{base}/api/v1/config", json={"active_model": "classroom"}, timeout=10)
        assert same.status_code == 200 and same.json()["status"] == "ready"


def ask_model(base: str, model: str) -> httpx.Response:
    body = {"model": model, "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]}
    return httpx.post(f"{base}/v1/chat/completions", json=body, timeout=30)
