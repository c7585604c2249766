"""The server is safe by default: a web page, a blank key or a careless request can't take it over.

Each test runs the server `smolsight serve FLAGS` builds (a fake engine in place of the model)
on 127.0.0.1 and talks to it with a real client, as a hostile page, a client with an empty key,
or a client without the administrator's key would.
"""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.fakes import FakeBackend
from tests.servers import served

CLIENT, ADMIN = "client-key-for-the-tests", "admin-key-for-the-tests"
ENDPOINTS = [
    ("GET", "/health"),
    ("GET", "/v1/models"),
    ("POST", "/v1/chat/completions"),
    ("GET", "/api/v1/config"),
    ("PATCH", "/api/v1/config"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
    ("OPTIONS", "/v1/chat/completions"),
]
HELLO = {"max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]}


def model_folder(folder: Path) -> Path:
    """A folder that holds what a model folder must (the fake engine loads nothing from it)."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}", encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"")
    return folder


def test_a_foreign_host_gets_403_from_every_endpoint_and_this_machines_names_work() -> None:
    with served("--cors-origin", "http://localhost:8000", "--allowed-host", "box.lan") as (base, _):
        port = base.rsplit(":", 1)[1]
        for method, path in ENDPOINTS:
            body = HELLO if method == "POST" else {"max_tokens": 8} if method == "PATCH" else None
            for host in (
                "evil.example",
                f"evil.example:{port}",
                "rebind.attacker.test.",
                "localhost.evil.example",
            ):
                answer = httpx.request(method, base + path, json=body, headers={"Host": host}, timeout=10)
                assert answer.status_code == 403, (method, path, host, answer.status_code)
                assert answer.json()["error"]["code"] == "host_not_allowed"
                assert "DNS rebinding" in answer.json()["error"]["message"]
        for host in (
            f"localhost:{port}",
            f"127.0.0.1:{port}",
            "[::1]",
            f"box.lan:{port}",
            f"app.localhost:{port}",
        ):
            assert httpx.get(f"{base}/v1/models", headers={"Host": host}, timeout=10).status_code == 200, host
        assert httpx.post(f"{base}/v1/chat/completions", json=HELLO, timeout=10).status_code == 200


def test_an_empty_key_stops_the_server_at_once_in_one_line() -> None:
    for keys, said in (
        (["--api-key", ""], "--api-key is empty"),
        (["--api-key", "   "], "--api-key is empty"),
        (["--api-key", "short"], "--api-key is 5 characters long"),
        (["--api-key", CLIENT, "--admin-key", ""], "--admin-key is empty"),
        (["--api-key", CLIENT, "--admin-key", CLIENT], "--admin-key must differ"),
        (["--admin-key", ADMIN], "--admin-key and --models go with --api-key"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "app", "serve", "--host", "0.0.0.0", *keys],
            capture_output=True,
            text=True,
            timeout=60,
        )
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and said in lines[0], (keys, done.stderr)


def raw_post(base: str, authorization: str) -> int:
    """POST HELLO with this Authorization header byte for byte (httpx refuses trailing spaces); the status."""
    import json
    import socket

    host, port = base.removeprefix("http://").split(":")
    body = json.dumps(HELLO).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: {authorization}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head.encode() + body)
        return int(connection.recv(64).split()[1])


def test_an_empty_bearer_is_no_key() -> None:
    with served("--api-key", CLIENT) as (base, _):
        for header in ("Bearer ", "Bearer", "Bearer    ", ""):  # what clients with an empty key send
            assert raw_post(base, header) == 401, repr(header)
        assert raw_post(base, f"Bearer {CLIENT}") == 200
        ok = httpx.post(
            f"{base}/v1/chat/completions", json=HELLO, headers={"Authorization": f"Bearer {CLIENT}"}
        )
        assert ok.status_code == 200


def test_switching_models_is_the_administrators_and_only_to_listed_models(tmp_path: Path) -> None:
    listed, unlisted = model_folder(tmp_path / "listed-model"), model_folder(tmp_path / "unlisted-model")
    flags = ("--api-key", CLIENT, "--admin-key", ADMIN, "--models", str(listed))
    with served(*flags) as (base, built):

        def patch(key: str, model: str) -> httpx.Response:
            return httpx.patch(
                f"{base}/api/v1/config",
                json={"active_model": model},
                headers={"Authorization": f"Bearer {key}"},
            )

        by_client = patch(CLIENT, str(listed))
        assert by_client.status_code == 403 and by_client.json()["error"]["code"] == "admin_only"
        defaults = httpx.patch(
            f"{base}/api/v1/config", json={"max_tokens": 9}, headers={"Authorization": f"Bearer {CLIENT}"}
        )
        assert defaults.status_code == 403  # nor everyone's defaults
        refused = patch(ADMIN, str(unlisted))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "model_not_offered"
        refused = patch(ADMIN, "SomeOrg/any-repository")  # never downloaded on a client's word
        assert refused.status_code == 403
        assert [s.model for s in built] == [None]  # nothing was built for the refused ones
        switched = patch(ADMIN, str(listed))
        assert switched.status_code == 200 and switched.json()["switch"]["model"] == "listed-model"
        deadline = time.monotonic() + 10
        while httpx.get(f"{base}/health").json()["model"] != "listed-model":
            assert time.monotonic() < deadline, "the listed model never took over"
            time.sleep(0.02)
        assert [s.model for s in built] == [None, str(listed)]
        admin_asks = httpx.post(
            f"{base}/v1/chat/completions", json=HELLO, headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert admin_asks.status_code == 200  # the administrator's key is a key too


def test_the_loopback_default_still_switches_as_the_seeds_api_does(tmp_path: Path) -> None:
    other = model_folder(tmp_path / "other-model")
    with served() as (base, built):
        switched = httpx.patch(f"{base}/api/v1/config", json={"active_model": str(other)})
        assert switched.status_code == 200 and switched.json()["switch"]["model"] == "other-model"
        deadline = time.monotonic() + 10
        while httpx.get(f"{base}/health").json()["model"] != "other-model":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert [s.model for s in built] == [None, str(other)]


def test_a_switch_keeps_the_served_name_and_requests_naming_the_old_model_are_told_why(
    tmp_path: Path,
) -> None:
    first, second = model_folder(tmp_path / "first-model"), model_folder(tmp_path / "second-model")
    with served("--model", str(first), "--served-model-name", "classroom") as (base, _):

        def ask(model: str) -> httpx.Response:
            return httpx.post(f"{base}/v1/chat/completions", json={**HELLO, "model": model}, timeout=30)

        assert ask("classroom").status_code == 200 and ask("first-model").status_code == 200
        assert httpx.patch(f"{base}/api/v1/config", json={"active_model": str(second)}).status_code == 200
        deadline = time.monotonic() + 10
        while httpx.get(f"{base}/api/v1/config").json()["switch"] is not None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert httpx.get(f"{base}/v1/models").json()["data"][0]["id"] == "classroom"  # the name stays
        assert ask("classroom").status_code == 200
        gone = ask("first-model")  # the old model finished its queue and closed
        deadline = time.monotonic() + 10
        while gone.status_code == 200 and time.monotonic() < deadline:
            gone = ask("first-model")
        assert gone.status_code == 404
        assert "no longer served here: this server switched to 'classroom'" in gone.json()["error"]["message"]


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def chat_with(*urls: str, text: str = "What is it?") -> dict[str, object]:
    parts: list[dict[str, object]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return {"max_tokens": 4, "messages": [{"role": "user", "content": parts}]}


def test_a_request_over_the_pixel_budget_is_refused_before_decoding() -> None:
    whole = png(800, 800)
    cut = whole[: len(whole) // 2]  # its header says 800×800; the rest could never be decoded
    with served("--max-request-pixels", "1000000") as (base, _):
        assert httpx.post(f"{base}/v1/chat/completions", json=chat_with(data_url(whole))).status_code == 200
        over = httpx.post(f"{base}/v1/chat/completions", json=chat_with(data_url(whole), data_url(cut)))
        assert over.status_code == 413, over.text  # not "not a readable image": it was never decoded
        error = over.json()["error"]
        assert error["code"] == "images_too_large" and error["param"] == "messages[0].content[2].image_url"
        assert "come to 1.3 million pixels" in error["message"] and "at most 1.0 million" in error["message"]


@pytest.mark.parametrize(
    "url", ["http://bücher.example/x.png", "http://example.com/café.png", "http://example.com/x.png?q=ü"]
)
def test_international_urls_are_fetched_or_refused_as_a_400(url: str) -> None:
    with served(backend=FakeBackend(seconds_per_call=0.0)) as (base, _):
        answer = httpx.post(f"{base}/v1/chat/completions", json=chat_with(url))
    assert answer.status_code == 400, answer.text  # no such host here: said, not a 500
    assert answer.json()["error"]["param"] == "messages[0].content[1].image_url"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"messages":[{"role":"user","content":"a\\ud800b"}]}', "messages[0].content"),
        (
            '{"messages":[{"role":"user","content":[{"type":"text","text":"\\udfff"}]}]}',
            "messages[0].content[0].text",
        ),
        ('{"messages":[{"role":"user","content":"a"}],"max_tokens":true}', "max_tokens"),
        ('{"messages":[{"role":"user","content":"a"}],"stream":"yes"}', "stream"),
        ('{"messages":[{"role":"user","content":"a"}],"temperature":false}', "temperature"),
        ("[1, 2]", None),
    ],
)
def test_malformed_input_is_a_400_naming_the_field(raw: str, field: str | None) -> None:
    with served() as (base, _):
        answer = httpx.post(
            f"{base}/v1/chat/completions",
            content=raw,
            headers={"content-type": "application/json"},
            timeout=30,
        )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == field
    assert error["message"].startswith(field or "The request body must be a JSON object")
