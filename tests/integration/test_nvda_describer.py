"""NVDA's AI Content Describer, pointed at `smolsight serve`: its exact requests get answers.

The add-on's "LiteLLM Proxy" provider (cartertemm/AI-content-describer,
description_service.py, class LiteLLMProxy) is a plain OpenAI client: it lists models with
GET `urljoin(base_url, "v1/models")`, then POSTs `urljoin(base_url, "v1/chat/completions")`
with `"stream": false`, `max_tokens` 1024 (its default), every message's content as a list of
parts (the assistant's too), the picture always labelled `data:image/jpeg` whatever it is,
`model` only when the user picked one, a follow-up that sends the original picture again,
the headers `Content-Type: application/json` and `User-Agent: curl/8.4.0`, and a 30 s
timeout (urllib). `Describer` below sends exactly that, through urllib as the add-on does.
"""

from __future__ import annotations

import base64
import io
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from app.server.api import create_app
from tests.fakes import FakeBackend
from tests.servers import served_model, serving, transformers_backend, wait_ready

ROOT = Path(__file__).resolve().parents[2]
HEADERS = {"Content-Type": "application/json", "User-Agent": "curl/8.4.0"}
PROMPT = "Describe this image succinctly, but in as much detail as possible."


class Describer:
    """The add-on's LiteLLM Proxy provider, request for request."""

    def __init__(self, base_url: str, chosen_model: str = "", api_key: str = "") -> None:
        self.base_url = base_url
        self.chosen_model = chosen_model
        # Its "API key" field: sent as a bearer key only when filled in.
        self.headers = {**HEADERS, **({"Authorization": f"Bearer {api_key}"} if api_key else {})}
        self.messages: list[dict[str, str]] = []

    def list_model_names(self) -> list[str]:
        url = urllib.parse.urljoin(self.base_url, "v1/models")
        request = urllib.request.Request(url, headers=self.headers)
        content = json.loads(urllib.request.urlopen(request).read())
        return [model["id"] for model in content.get("data", [])]

    def _payload(self) -> dict[str, object]:
        formatted = []
        for msg in self.messages:
            parts: list[dict[str, object]] = []
            if msg.get("content"):
                parts.append({"type": "text", "text": msg["content"]})
            if msg.get("image"):
                parts.append(
                    {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{msg['image']}"}}
                )
            formatted.append({"role": msg["role"], "content": parts})
        payload: dict[str, object] = {"messages": formatted, "stream": False, "max_tokens": 1024}
        if self.chosen_model:
            payload["model"] = self.chosen_model
        return payload

    def _post(self) -> str:
        request = urllib.request.Request(
            urllib.parse.urljoin(self.base_url, "v1/chat/completions"),
            data=json.dumps(self._payload()).encode("utf-8"),
            headers=self.headers,
            method="POST",
        )
        body = json.loads(urllib.request.urlopen(request, timeout=30).read().decode("utf-8"))
        answer = str(body["choices"][0]["message"]["content"])
        self.messages.append({"role": "assistant", "content": answer})
        return answer

    def process(self, image: bytes) -> str:
        self.messages = [{"role": "user", "content": PROMPT, "image": base64.b64encode(image).decode()}]
        return self._post()

    def follow_up(self, question: str) -> str:
        original = next(m["image"] for m in self.messages if m.get("image"))
        self.messages.append({"role": "user", "content": question, "image": original})
        return self._post()


def full_hd_screenshot() -> bytes:
    """A 1920×1080 PNG, as NVDA's screen capture gives the add-on (which still calls it JPEG)."""
    with Image.open(ROOT / "resources" / "sample.jpg") as photo:
        screen = photo.convert("RGB").resize((1920, 1080))
    out = io.BytesIO()
    screen.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def tiny_server(tiny_model: Path) -> Iterator[str]:
    served = served_model(lambda model: transformers_backend(model or str(tiny_model)), name=str(tiny_model))
    with serving(create_app(served)) as base:
        wait_ready(base)
        yield base + "/"  # the base URL a person types into the add-on's settings
    assert served.shutdown()


def test_the_describer_lists_the_model_describes_a_screenshot_and_answers_a_follow_up(
    tiny_server: str,
) -> None:
    describer = Describer(tiny_server)
    models = describer.list_model_names()
    assert len(models) == 1
    assert describer.process(full_hd_screenshot()).strip()
    assert describer.follow_up("What colour is the cup?").strip()
    chosen = Describer(tiny_server, chosen_model=models[0])  # "model" sent once the user picks it
    assert chosen.process(full_hd_screenshot()).strip()


def test_a_follow_up_shows_the_model_the_picture_once_with_the_conversation_so_far() -> None:
    backend = FakeBackend(seconds_per_call=0.05, tokens=4)
    served = served_model(lambda _m: backend, name="fake-model")
    with serving(create_app(served)) as base:
        wait_ready(base, 10)
        describer = Describer(base + "/")
        first = describer.process(full_hd_screenshot())
        describer.follow_up("Is there any text?")
    assert served.shutdown()
    prompt = backend.calls[-1].prompt
    assert len(backend.calls[-1].frame_times) == 1  # the repeated picture is one picture, not a clip
    assert first.strip() in prompt and "Is there any text?" in prompt


def test_each_desk_s_describer_gets_in_with_its_own_key_and_only_with_one() -> None:
    import urllib.error

    from app.server.api import ApiPolicy

    served = served_model(lambda _m: FakeBackend(seconds_per_call=0.0), name="fake-model")
    with serving(create_app(served, ApiPolicy(client_keys=("desk-01", "desk-02")))) as base:
        wait_ready(base, 10)
        for key in ("desk-01", "desk-02"):
            describer = Describer(base + "/", api_key=key)
            assert describer.list_model_names() == ["fake-model"]
            assert describer.process(full_hd_screenshot()).strip()
        for key in ("", "desk-03"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                Describer(base + "/", api_key=key).process(full_hd_screenshot())
            assert refused.value.code == 401
            refused.value.close()
    assert served.shutdown()
