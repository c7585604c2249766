"""The OpenAI-compatible server: real HTTP on 127.0.0.1, the official openai client, bad input."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from app.commands.serve import check_exposure
from app.server.api import ApiPolicy, create_app
from app.server.images import ImageLimits
from tests.fakes import FakeBackend
from tests.media import photo
from tests.servers import served_model, serving, transformers_backend, wait_ready


def data_uri(array: np.ndarray | None = None, fmt: str = "JPEG") -> str:
    buffer = io.BytesIO()
    Image.fromarray(photo() if array is None else array).save(buffer, format=fmt)
    mime = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}[fmt]
    return f"data:image/{mime};base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def tiny_server(tiny_model: Path) -> Iterator[str]:
    served = served_model(lambda model: transformers_backend(model or str(tiny_model)), name=str(tiny_model))
    with serving(create_app(served)) as base:
        wait_ready(base)
        yield base
    assert served.shutdown()


def test_official_openai_client_non_streamed_and_streamed(tiny_server: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{tiny_server}/v1", api_key="unused")
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": data_uri()}},
            ],
        },
    ]
    model = client.models.list().data[0].id
    done = client.chat.completions.create(model=model, messages=messages, max_tokens=8)  # type: ignore[arg-type]
    assert done.choices[0].message.role == "assistant"
    assert done.usage is not None and done.usage.prompt_tokens > 64 and 1 <= done.usage.completion_tokens <= 8
    stream = client.chat.completions.create(
        model=model,
        messages=messages,
        max_tokens=8,
        stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
    )
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    assert finish in {"stop", "length"}
    assert usage is not None and usage.prompt_tokens == done.usage.prompt_tokens
    assert "".join(pieces).strip() == done.choices[0].message.content


def test_the_openapi_document_describes_every_answer(fake_server) -> None:  # type: ignore[no-untyped-def]
    """Clients can generate types from it: each 200 names a schema with its properties."""
    base, _, _ = fake_server
    document = httpx.get(f"{base}/openapi.json").json()
    schemas = document["components"]["schemas"]

    def answer(method: str, path: str) -> dict[str, object]:
        reference = document["paths"][path][method]["responses"]["200"]["content"]["application/json"][
            "schema"
        ]
        return schemas[reference["$ref"].rsplit("/", 1)[-1]]  # type: ignore[no-any-return]

    assert {"choices", "usage", "model"} <= set(answer("post", "/v1/chat/completions")["properties"])  # type: ignore[arg-type]
    assert {"object", "data"} <= set(answer("get", "/v1/models")["properties"])  # type: ignore[arg-type]
    assert {"status", "queued", "error"} <= set(answer("get", "/health")["properties"])  # type: ignore[arg-type]
    assert {"active_model", "max_tokens"} <= set(answer("patch", "/api/v1/config")["properties"])  # type: ignore[arg-type]
    chat = document["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert "text/event-stream" in chat["200"]["content"] and "422" not in chat  # a bad body is a 400
    assert chat["429"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")


def model_folder(folder: Path) -> Path:
    """A folder that holds what a model folder must (the fake engine loads nothing from it)."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}", encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"")
    return folder


def test_health_models_and_config(fake_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, _, _ = fake_server
    health = httpx.get(f"{base}/health").json()
    assert health["status"] == "ready" and health["backend"] == "fake" and health["uptime_s"] >= 0
    assert httpx.get(f"{base}/v1/models").json()["data"][0]["id"] == "fake-model"
    assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "SmolSight"
    patched = httpx.patch(f"{base}/api/v1/config", json={"max_tokens": 20, "temperature": 0.5}).json()
    assert (patched["max_tokens"], patched["temperature"]) == (20, 0.5)
    bad = httpx.patch(f"{base}/api/v1/config", json={"max_tokens": 0})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "max_tokens"
    other = model_folder(tmp_path / "other-model")
    switched = httpx.patch(f"{base}/api/v1/config", json={"active_model": str(other)})
    assert switched.status_code == 200
    wait_ready(base, timeout=5)
    assert httpx.get(f"{base}/health").json()["model"] == "other-model"  # its name, not its path


def test_a_switch_to_a_model_that_cant_load_is_refused_and_serving_goes_on(
    fake_server,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    base, _, _ = fake_server
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    for target in ("/nowhere/at/all", str(empty)):
        refused = httpx.patch(f"{base}/api/v1/config", json={"active_model": target})
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "model_not_loadable" and error["param"] == "active_model"
        assert target in error["message"]
        health = httpx.get(f"{base}/health")
        assert health.status_code == 200 and health.json()["model"] == "fake-model"
        answer = post(base, {"max_tokens": 4, **user({"type": "text", "text": "Still there?"})})
        assert answer.status_code == 200 and answer.json()["model"] == "fake-model"


class GatedBackend(FakeBackend):
    """A model whose load waits for `gate`, and fails (naming its folder) when `broken` is set."""

    def __init__(self, folder: Path, answer: str, *, broken: bool = False) -> None:
        super().__init__(answer=lambda _r: answer)
        self.folder, self.broken, self.gate = folder, broken, threading.Event()

    def load(self, progress=None) -> None:  # type: ignore[no-untyped-def]
        assert self.gate.wait(10), "the test never opened the gate"
        if self.broken:
            from app.inference.backend import BackendError

            raise BackendError(f"{self.folder / 'model.safetensors'} is damaged: unexpected end of file")
        super().load(progress)


def test_a_switch_loads_beside_the_model_in_use_which_answers_until_the_new_one_is_ready(
    tmp_path: Path,
) -> None:
    old = FakeBackend(answer=lambda _r: "Old model here.")
    new = GatedBackend(model_folder(tmp_path / "next-model"), "New model here.")
    broken = GatedBackend(model_folder(tmp_path / "broken-model"), "never", broken=True)
    backends = {str(new.folder): new, str(broken.folder): broken}
    made: list[str] = []  # every model the server built, in order

    def make(model: str | None) -> FakeBackend:
        made.append(model or "fake-model")
        return backends[model] if model else old

    served = served_model(make, name="fake-model")

    def ask() -> dict[str, object]:
        answer = post(base, {"max_tokens": 8, **user({"type": "text", "text": "Who is there?"})})
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body

    with serving(create_app(served)) as base:
        wait_ready(base, 10)
        patched = httpx.patch(f"{base}/api/v1/config", json={"active_model": str(new.folder)})
        assert patched.status_code == 200, patched.text
        config = patched.json()
        assert config["active_model"] == "fake-model" and config["status"] == "ready"
        assert config["switch"]["model"] == "next-model" and config["switch"]["status"] == "loading"
        again = httpx.patch(f"{base}/api/v1/config", json={"active_model": str(new.folder)})
        assert again.json()["switch"]["status"] == "loading"  # asked twice: still the one load
        for _ in range(3):  # while the new model loads, the old one answers and the server is healthy
            health = httpx.get(f"{base}/health")
            assert health.status_code == 200 and health.json()["model"] == "fake-model"
            assert health.json()["switch"]["status"] == "loading"
            answer = ask()
            assert answer["model"] == "fake-model" and "Old model" in str(answer["choices"])
        new.gate.set()
        deadline = time.monotonic() + 10
        while httpx.get(f"{base}/health").json()["model"] != "next-model":
            assert time.monotonic() < deadline, "the new model never took over"
            time.sleep(0.02)
        assert httpx.get(f"{base}/health").json()["switch"] is None
        assert made == ["fake-model", str(new.folder)]  # asked twice, loaded once
        answer = ask()
        assert answer["model"] == "next-model" and "New model" in str(answer["choices"])
        deadline = time.monotonic() + 10
        while not old.closed:  # the old model finished what it had and let its memory go
            assert time.monotonic() < deadline, "the old model was never closed"
            time.sleep(0.02)

        patched = httpx.patch(f"{base}/api/v1/config", json={"active_model": str(broken.folder)})
        assert patched.status_code == 200
        broken.gate.set()
        deadline = time.monotonic() + 10
        while (switch := httpx.get(f"{base}/health").json()["switch"])["status"] != "error":
            assert time.monotonic() < deadline, "the failed switch was never reported"
            time.sleep(0.02)
        assert switch["model"] == "broken-model" and "damaged" in switch["detail"]
        assert str(tmp_path) not in json.dumps(switch)  # the server's folders stay its own
        config = httpx.get(f"{base}/api/v1/config").json()
        assert config["active_model"] == "next-model" and config["switch"] == switch
        assert httpx.get(f"{base}/health").status_code == 200
        assert "New model" in str(ask()["choices"])  # the failed load took nothing down
    assert served.shutdown()


def test_switching_back_to_the_model_in_use_calls_the_load_off(tmp_path: Path) -> None:
    old = FakeBackend(answer=lambda _r: "Old model here.")
    slow = GatedBackend(model_folder(tmp_path / "slow-model"), "Slow model here.")
    served = served_model(lambda model: slow if model else old, name="fake-model")
    with serving(create_app(served)) as base:
        wait_ready(base, 10)
        away = httpx.patch(f"{base}/api/v1/config", json={"active_model": str(slow.folder)})
        assert away.status_code == 200
        assert httpx.get(f"{base}/health").json()["switch"]["model"] == "slow-model"
        back = httpx.patch(f"{base}/api/v1/config", json={"active_model": "fake-model"})
        assert back.status_code == 200 and back.json()["switch"] is None
        slow.gate.set()  # the called-off load ends now: it must not take over
        deadline = time.monotonic() + 5
        while not slow.closed:  # it was stopped and let go of its model
            assert time.monotonic() < deadline, "the called-off model was never closed"
            time.sleep(0.02)
        health = httpx.get(f"{base}/health").json()
        assert (health["model"], health["switch"]) == ("fake-model", None)
        answer = post(base, {"max_tokens": 4, **user({"type": "text", "text": "Who is there?"})})
        assert answer.json()["model"] == "fake-model" and "Old model" in answer.text
    assert served.shutdown()


def post(base: str, body: object, **kw: object) -> httpx.Response:
    if isinstance(body, (bytes, str)):
        return httpx.post(
            f"{base}/v1/chat/completions",
            content=body,
            headers={"content-type": "application/json"},
            timeout=30,
        )
    return httpx.post(f"{base}/v1/chat/completions", json=body, timeout=30)


def user(*parts: object) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": list(parts)}]}


def img(url: str) -> dict[str, object]:
    return {"type": "image_url", "image_url": {"url": url}}


TEXT = {"type": "text", "text": "Describe"}
BAD_INPUT = [
    ("malformed JSON", b"{not json", 400, "invalid_json"),
    ("missing messages", {"model": "fake-model"}, 400, "invalid_request"),
    ("empty messages", {"messages": []}, 400, "invalid_request"),
    ("wrong types", {"messages": [{"role": "user", "content": 5}]}, 400, "invalid_request"),
    ("bad role", {"messages": [{"role": "robot", "content": "hi"}]}, 400, "invalid_request"),
    (
        "bad max_tokens",
        {"messages": [{"role": "user", "content": "hi"}], "max_tokens": -1},
        400,
        "invalid_request",
    ),
    ("bad base64", user(TEXT, img("data:image/png;base64,@@@not-base64@@@")), 400, "invalid_base64"),
    (
        "text file as image",
        user(TEXT, img("data:image/png;base64," + base64.b64encode(b"just some text").decode())),
        400,
        "invalid_image",
    ),
    (
        "huge image",
        user(TEXT, img(data_uri(np.zeros((2500, 2500, 3), np.uint8), "PNG"))),
        413,
        "image_too_large",
    ),
    (
        "too many images",
        user(TEXT, *[img(data_uri(np.zeros((8, 8, 3), np.uint8), "PNG"))] * 65),
        400,
        "too_many_images",
    ),
    (
        "unknown model",
        {"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]},
        404,
        "model_not_found",
    ),
    ("local file not enabled", user(TEXT, img("/etc/passwd")), 400, "invalid_image_url"),
    ("assistant last", {"messages": [{"role": "assistant", "content": "hi"}]}, 400, "invalid_request"),
]


@pytest.mark.parametrize(("name", "body", "status", "code"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_gets_the_documented_status_and_error_body(
    fake_server, name: str, body: object, status: int, code: str
) -> None:  # type: ignore[no-untyped-def]
    base, _, _ = fake_server
    response = post(base, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["type"]
    assert httpx.get(f"{base}/health").json()["status"] == "ready"  # still alive


def test_body_limit_and_wrong_method(fake_server) -> None:  # type: ignore[no-untyped-def]
    base, _, _ = fake_server
    too_big = httpx.post(f"{base}/v1/chat/completions", content=b"x" * (51 * 1024 * 1024), timeout=30)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "request_too_large"
    assert httpx.get(f"{base}/v1/chat/completions").status_code == 405
    assert httpx.get(f"{base}/nope").json()["error"]["code"] == "not_found"


def test_multi_turn_history_and_system_reach_the_model(fake_server) -> None:  # type: ignore[no-untyped-def]
    base, backend, _ = fake_server
    body = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [TEXT, img(data_uri())]},
            {"role": "assistant", "content": "A red circle."},
            {"role": "user", "content": "What colour was it?"},
        ],
        "stop": ["\n"],
    }
    response = post(base, body)
    assert response.status_code == 200
    prompt = backend.calls[-1].prompt
    assert "System: Be brief." in prompt and "Assistant: A red circle." in prompt
    assert prompt.rstrip().endswith("What colour was it?<end_of_utterance>\nAssistant:")
    assert backend.calls[-1].frame_times == (0.0,)
    assert "smolsight_timings" in response.json()


def test_a_client_that_disconnects_cancels_its_generation(fake_server) -> None:  # type: ignore[no-untyped-def]
    base, backend, _ = fake_server
    backend.seconds_per_call, backend.tokens = 10.0, 100
    with httpx.stream(
        "POST", f"{base}/v1/chat/completions", json={**user(TEXT), "stream": True}, timeout=30
    ) as r:
        for line in r.iter_lines():
            if '"content"' in line and "role" not in line:
                break  # got the first words: hang up
    deadline = time.monotonic() + 3
    while not backend.calls[-1].cancelled:
        assert time.monotonic() < deadline, "generation went on after the client left"
        time.sleep(0.05)


def test_bounded_load_no_5xx_queue_full_is_429_and_accepted_requests_complete(fake_server) -> None:  # type: ignore[no-untyped-def]
    import psutil

    base, backend, _ = fake_server
    backend.seconds_per_call, backend.tokens = 0.1, 4
    body = {**user(TEXT, img(data_uri(np.zeros((64, 64, 3), np.uint8), "PNG"))), "max_tokens": 4}
    rss_before = psutil.Process().memory_info().rss

    def one(_: int) -> tuple[int, str | None, str]:
        r = httpx.post(f"{base}/v1/chat/completions", json=body, timeout=60)
        return r.status_code, r.headers.get("retry-after"), r.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(50)))
    statuses = [s for s, _, _ in results]
    assert all(s in (200, 429) for s in statuses), statuses
    assert statuses.count(200) >= 5 and statuses.count(429) >= 1
    assert all(retry for s, retry, _ in results if s == 429)
    assert all(json.loads(text)["choices"][0]["finish_reason"] for s, _, text in results if s == 200)
    assert psutil.Process().memory_info().rss - rss_before < 200 * 1024 * 1024


def test_exposure_needs_a_key() -> None:
    assert check_exposure("127.0.0.1", None, False) is None
    assert "without an API key" in (check_exposure("0.0.0.0", None, False) or "")
    assert check_exposure("0.0.0.0", "secret", False) is None
    assert check_exposure("0.0.0.0", None, True) is None


def test_api_key_is_enforced(tmp_path: Path) -> None:
    served = served_model(lambda _m: FakeBackend(seconds_per_call=0.0), name="fake-model")
    with serving(create_app(served, ApiPolicy(client_keys=("s3cret",)))) as base:
        wait_ready(base, 10)
        assert httpx.get(f"{base}/v1/models").status_code == 401
        ok = httpx.get(f"{base}/v1/models", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert httpx.get(f"{base}/health").status_code == 200
    assert served.shutdown()


def test_local_files_only_inside_allowed_folders(tmp_path: Path) -> None:
    allowed = tmp_path / "pics"
    allowed.mkdir()
    Image.fromarray(photo()).save(allowed / "a.png")
    Image.fromarray(photo()).save(tmp_path / "secret.png")
    served = served_model(lambda _m: FakeBackend(seconds_per_call=0.0), name="fake-model")
    with serving(create_app(served, ApiPolicy(images=ImageLimits(allowed_dirs=(allowed,))))) as base:
        wait_ready(base, 10)
        assert post(base, user(TEXT, img(str(allowed / "a.png")))).status_code == 200
        outside = post(base, user(TEXT, img(str(allowed / ".." / "secret.png"))))
        assert outside.status_code == 403 and outside.json()["error"]["code"] == "forbidden_path"
    assert served.shutdown()


def test_images_fetched_over_http_with_limits() -> None:
    # The image server is on this machine, so this server's operator allows private addresses
    # (refused by default: tests/integration/test_url_safety.py).
    served = served_model(lambda _m: FakeBackend(seconds_per_call=0.0), name="fake-model")
    options = ApiPolicy(images=ImageLimits(max_bytes=200_000, allow_private_urls=True))
    with serving(create_app(served, options)) as base:
        wait_ready(base, 10)
        _fetch_over_http(base)
    assert served.shutdown()


def _fetch_over_http(base: str) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    png = io.BytesIO()
    Image.fromarray(photo()).save(png, format="PNG")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = png.getvalue() if self.path == "/ok.png" else b"x" * 300_000
            self.send_response(200 if self.path != "/missing.png" else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    images = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=images.serve_forever, name="smolsight-test-images", daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{images.server_address[1]}"
        assert post(base, user(TEXT, img(f"{url}/ok.png"))).status_code == 200
        assert post(base, user(TEXT, img(f"{url}/big.png"))).status_code == 413
        assert (
            post(base, user(TEXT, img(f"{url}/missing.png"))).json()["error"]["code"] == "image_fetch_failed"
        )
    finally:
        images.shutdown()
        images.server_close()
        thread.join(5)


def test_a_switch_takes_the_models_names_as_smolsight_models_lists_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accurate = FakeBackend(answer=lambda _r: "Qwen here.")
    made: list[str | None] = []

    def make(model: str | None) -> FakeBackend:
        made.append(model)
        return accurate if model == "qwen3.5-0.8b" else FakeBackend()

    served = served_model(make, name="fake-model")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with serving(create_app(served)) as base:
        wait_ready(base, 10)
        unknown = httpx.patch(f"{base}/api/v1/config", json={"active_model": "qwen-9000"})
        assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "model_not_loadable"
        assert "smolvlm2-256m, smolvlm2-500m, qwen3.5-0.8b" in unknown.json()["error"]["message"]
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline and not downloaded: refused, serving goes on
        offline = httpx.patch(f"{base}/api/v1/config", json={"active_model": "qwen3.5-0.8b"})
        assert (
            offline.status_code == 400 and "is not on this computer yet" in offline.json()["error"]["message"]
        )
        monkeypatch.delenv("HF_HUB_OFFLINE")  # downloads allowed: the name loads (the engine fetches it)
        switched = httpx.patch(f"{base}/api/v1/config", json={"active_model": "qwen3.5-0.8b"})
        assert switched.status_code == 200, switched.text
        deadline = time.monotonic() + 10
        while httpx.get(f"{base}/health").json()["model"] != "qwen3.5-0.8b":
            assert time.monotonic() < deadline, "the named model never took over"
            time.sleep(0.02)
        answer = post(base, {"max_tokens": 4, **user({"type": "text", "text": "Who is there?"})})
        assert answer.json()["model"] == "qwen3.5-0.8b" and "Qwen here." in str(answer.json()["choices"])
        assert made == [None, "qwen3.5-0.8b"]
    assert served.shutdown()
