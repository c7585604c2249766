"""A bounded load test of an OpenAI-compatible server: many clients at once, plain and streamed.

Each client is a thread with its own connection that sends `requests` chat completions one after
another (a picture and a question, as the app and NVDA's add-on send them), waiting for each
answer before the next, as a person's client does. Everything is bounded: the number of
requests, each request's time, and the whole run's. Every streamed answer is checked as a client
would parse it (each `data:` line valid JSON, then `[DONE]`); a 429 is counted apart from errors
(the server said "busy, retry"). `benchmarks/serve_load.py` runs it against a server it starts
or one you name; the tests run it against a fake engine.
"""

from __future__ import annotations

import base64
import json
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class LoadPlan:
    """What to send: how many clients, how many requests each, streamed or not, and the bounds."""

    clients: int = 16
    requests: int = 4  # per client, one after another
    stream: bool = False
    max_tokens: int = 20
    question: str = "Describe this picture in one sentence."
    request_timeout_s: float = 120.0
    run_timeout_s: float = 900.0
    api_keys: tuple[str, ...] = ()  # client n sends api_keys[n % len] (none: no key)
    model: str | None = None
    # Client n sends from local_addresses[n % len]: on Linux all of 127.0.0.0/8 is this machine,
    # so 16 loopback addresses play 16 desks (a server takes turns by address). Empty: the default.
    local_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """One request: who sent it, how it ended, how long it took (to the first chunk too, when streamed)."""

    client: int
    status: int  # HTTP status; 0 when the connection failed or timed out
    seconds: float
    first_event_s: float | None = None  # streamed: when the first chunk came (the wait in line + prefill)
    error: str = ""  # why it failed, for a failed one

    @property
    def ok(self) -> bool:
        """Whether it was answered in full."""
        return self.status == 200 and not self.error


@dataclass
class LoadReport:
    """What a run measured: every request's outcome and the run's wall time."""

    plan: LoadPlan
    wall_s: float
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def answered(self) -> list[Outcome]:
        """The requests answered in full."""
        return [o for o in self.outcomes if o.ok]

    @property
    def busy(self) -> int:
        """Requests the server turned away with 429 (busy, retry later)."""
        return sum(1 for o in self.outcomes if o.status == 429)

    @property
    def errors(self) -> list[Outcome]:
        """Every request that failed other than with 429."""
        return [o for o in self.outcomes if not o.ok and o.status != 429]

    def summary(self) -> dict[str, object]:
        """The figures: counts, p50/p95/max latency, time to first token, throughput, per-client spread."""
        latencies = [o.seconds for o in self.answered]
        firsts = [o.first_event_s for o in self.answered if o.first_event_s is not None]
        per_client = [
            statistics.median([o.seconds for o in self.answered if o.client == c] or [0.0])
            for c in range(self.plan.clients)
        ]
        return {
            "clients": self.plan.clients,
            "requests": len(self.outcomes),
            "stream": self.plan.stream,
            "answered": len(latencies),
            "busy_429": self.busy,
            "errors": len(self.errors),
            "error_examples": sorted({o.error for o in self.errors})[:3],
            "p50_s": percentile(latencies, 50),
            "p95_s": percentile(latencies, 95),
            "max_s": max(latencies, default=0.0),
            "first_event_p50_s": percentile(firsts, 50) if firsts else None,
            "first_event_p95_s": percentile(firsts, 95) if firsts else None,
            "answers_per_s": round(len(latencies) / self.wall_s, 3) if self.wall_s else 0.0,
            "wall_s": round(self.wall_s, 2),
            "slowest_client_median_s": round(max(per_client), 3),
            "fastest_client_median_s": round(min(per_client), 3),
        }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank: a value that was measured), 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n·q/100), at least 1
    return round(ordered[int(rank) - 1], 3)


def data_url(jpeg: bytes) -> str:
    """A JPEG as the data URL clients send."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def distinct_pictures(jpeg: bytes, count: int) -> list[bytes]:
    """`count` JPEGs of one photograph, each with its own number stamped in a corner.

    Engines keep the last pictures they saw (llama.cpp's slots reuse a prompt they hold):
    the same picture sent again would be answered from that, not measured.
    """
    import io

    import numpy as np
    from PIL import Image

    base = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")).copy()
    pictures = []
    for n in range(count):
        stamped = base.copy()
        for bit in range(16):  # the number in 16 black or white 8 px squares, top left
            stamped[:8, bit * 8 : bit * 8 + 8] = 255 if (n >> bit) & 1 else 0
        buffer = io.BytesIO()
        Image.fromarray(stamped).save(buffer, format="JPEG", quality=90)
        pictures.append(buffer.getvalue())
    return pictures


def run_load(base_url: str, pictures: Sequence[bytes], plan: LoadPlan) -> LoadReport:
    """Run `plan` against the server whose API root is `base_url` (…/v1); every thread is joined.

    Request j of client c sends `pictures[(c · requests + j) % len(pictures)]` (JPEG bytes):
    give as many different pictures as requests so that no engine answers from its cache.
    """

    def body_for(picture: bytes) -> dict[str, object]:
        body: dict[str, object] = {
            "max_tokens": plan.max_tokens,
            "temperature": 0,
            "stream": plan.stream,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": plan.question},
                        {"type": "image_url", "image_url": {"url": data_url(picture)}},
                    ],
                }
            ],
        }
        if plan.model:
            body["model"] = plan.model
        return body

    url = base_url.rstrip("/") + "/chat/completions"
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    deadline = time.monotonic() + plan.run_timeout_s
    start = threading.Barrier(plan.clients + 1)  # every client starts together

    def client(number: int) -> None:
        key = plan.api_keys[number % len(plan.api_keys)] if plan.api_keys else None
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        address = plan.local_addresses[number % len(plan.local_addresses)] if plan.local_addresses else None
        transport = httpx.HTTPTransport(local_address=address) if address else None
        with httpx.Client(timeout=plan.request_timeout_s, headers=headers, transport=transport) as http:
            start.wait()
            for sent in range(plan.requests):
                if time.monotonic() > deadline:
                    outcome = Outcome(number, 0, 0.0, error="not sent: the run's time bound ran out")
                else:
                    picture = pictures[(number * plan.requests + sent) % len(pictures)]
                    outcome = _one_request(http, url, body_for(picture), number, plan.stream)
                with lock:
                    outcomes.append(outcome)

    threads = [
        threading.Thread(target=client, args=(n,), name=f"smolsight-load-{n}", daemon=True)
        for n in range(plan.clients)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + plan.request_timeout_s)
    wall = time.perf_counter() - began
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError("a load-test client did not finish within its bounds")
    return LoadReport(plan, wall, outcomes)


def _one_request(http: httpx.Client, url: str, body: dict[str, object], number: int, stream: bool) -> Outcome:
    began = time.perf_counter()
    try:
        if not stream:
            response = http.post(url, json=body)
            seconds = time.perf_counter() - began
            if response.status_code != 200:
                return Outcome(number, response.status_code, seconds, error=_reason(response.text))
            message = response.json()["choices"][0]["message"]
            if not isinstance(message.get("content"), str):
                return Outcome(number, 200, seconds, error="no text in the answer")
            return Outcome(number, 200, seconds)
        with http.stream("POST", url, json=body) as response:
            if response.status_code != 200:
                response.read()
                seconds = time.perf_counter() - began
                return Outcome(number, response.status_code, seconds, error=_reason(response.text))
            first, problem = _read_events(response, began)
        seconds = time.perf_counter() - began
        return Outcome(number, 200, seconds, first, problem)
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        return Outcome(number, 0, time.perf_counter() - began, error=f"{type(exc).__name__}: {exc}")


def _read_events(response: httpx.Response, began: float) -> tuple[float | None, str]:
    """Read an SSE answer as a client parses it: (time of the first chunk, what was wrong or "")."""
    first: float | None = None
    done = False
    for line in response.iter_lines():
        if not line or line.startswith(":"):
            continue
        if not line.startswith("data: "):
            return first, f"not an SSE data line: {line[:60]!r}"
        data = line[len("data: ") :]
        if data == "[DONE]":
            done = True
            continue
        if done:
            return first, "data after [DONE]"
        event = json.loads(data)
        if "error" in event:
            return first, f"error in the stream: {event['error'].get('message', '')}"
        if first is None and event.get("choices"):  # sent with the first token (after the queue)
            first = time.perf_counter() - began
        if event.get("choices") and not isinstance(event["choices"][0].get("delta"), dict):
            return first, "a chunk without a delta"
    return first, "" if done else "the stream ended without [DONE]"


def _reason(text: str) -> str:
    try:
        return str(json.loads(text)["error"]["message"])[:200]
    except (ValueError, KeyError, TypeError):
        return text[:200]
