"""The load test (`app/devtools/serve_load.py`): 16 clients at once against the real server.

Also what it reports when a server misbehaves, so that its "no errors" means something.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler

import pytest

from app.devtools.serve_load import LoadPlan, distinct_pictures, percentile, run_load
from app.paths import resource_file
from app.server.api import ApiPolicy, create_app
from tests.fakes import FakeBackend
from tests.servers import http_server, served_model, serving, wait_ready

PICTURES = [resource_file("sample.jpg").read_bytes()]


DESKS = tuple(f"127.0.0.{n}" for n in range(2, 18))  # 16 loopback addresses: 16 desks


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS answers on 127.0.0.1 only")
def test_sixteen_desks_plain_and_streamed_are_all_answered_in_turn() -> None:
    backend = FakeBackend(seconds_per_call=0.01, tokens=4)
    served = served_model(lambda _m: backend, name="fake-model", queue_size=1)
    with serving(create_app(served)) as base:
        wait_ready(base, 10)
        reports = [
            run_load(
                f"{base}/v1",
                PICTURES,
                LoadPlan(clients=16, requests=2, stream=stream, run_timeout_s=60, local_addresses=DESKS),
            )
            for stream in (False, True)
        ]
    assert served.shutdown()
    for report in reports:
        figures = report.summary()
        counts = (figures["requests"], figures["answered"], figures["errors"], figures["busy_429"])
        assert counts == (32, 32, 0, 0)
        assert {o.client for o in report.outcomes} == set(range(16))
        assert 0 < figures["p50_s"] <= figures["p95_s"] <= figures["max_s"]  # type: ignore[operator]
    assert reports[1].summary()["first_event_p50_s"] is not None  # streamed text was seen arriving
    assert len(backend.calls) == 64  # every request reached the model once, none twice


def test_behind_one_address_desks_take_turns_by_key_when_each_has_its_own() -> None:
    backend = FakeBackend(seconds_per_call=0.1, tokens=4)  # 16 requests at once overlap
    served = served_model(lambda _m: backend, name="fake-model", queue_size=1)
    keys = tuple(f"desk-{n}-key" for n in range(16))
    with serving(create_app(served, ApiPolicy(client_keys=keys))) as base:
        wait_ready(base, 10)
        own_keys = run_load(f"{base}/v1", PICTURES, LoadPlan(clients=16, requests=2, api_keys=keys))
        one_key = run_load(f"{base}/v1", PICTURES, LoadPlan(clients=16, requests=2, api_keys=keys[:1]))
    assert served.shutdown()
    assert (len(own_keys.answered), own_keys.busy, len(own_keys.errors)) == (32, 0, 0)
    # One key from one address is one client: its queue of one is full while the others wait.
    assert one_key.busy > 0 and len(one_key.errors) == 0


class Misbehaving(BaseHTTPRequestHandler):
    """A server that answers every third request 500, busies some with 429, and breaks its streams."""

    count = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).count += 1
        number = type(self).count
        if number % 3 == 0:
            self._send(500, "application/json", b'{"error": {"message": "engine crashed"}}')
        elif number % 3 == 1 and not body["stream"]:
            self._send(429, "application/json", b'{"error": {"message": "busy"}}')
        elif body["stream"]:  # a stream cut short: valid events but never [DONE]
            chunk = {"choices": [{"delta": {"content": "A cup"}}]}
            self._send(200, "text/event-stream", f"data: {json.dumps(chunk)}\n\n".encode())
        else:
            answer = {"choices": [{"message": {"role": "assistant", "content": "A cup."}}]}
            self._send(200, "application/json", json.dumps(answer).encode())

    def _send(self, status: int, kind: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_failures_busy_answers_and_broken_streams_are_counted_not_hidden() -> None:
    Misbehaving.count = 0
    with http_server(Misbehaving) as port:
        plain = run_load(f"http://127.0.0.1:{port}/v1", PICTURES, LoadPlan(clients=3, requests=3)).summary()
        Misbehaving.count = 0
        streamed = run_load(
            f"http://127.0.0.1:{port}/v1", PICTURES, LoadPlan(clients=3, requests=3, stream=True)
        ).summary()
    assert (plain["answered"], plain["busy_429"], plain["errors"]) == (3, 3, 3)
    assert plain["error_examples"] == ["engine crashed"]
    assert (streamed["answered"], streamed["errors"]) == (0, 9)
    assert "the stream ended without [DONE]" in streamed["error_examples"]  # type: ignore[operator]


def test_percentiles_are_measured_values_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (10.0, 19.0, 20.0)
    assert percentile([3.0], 95) == 3.0 and percentile([], 50) == 0.0


def test_every_request_can_carry_a_picture_of_its_own() -> None:
    pictures = distinct_pictures(PICTURES[0], 64)
    assert len(set(pictures)) == 64  # no engine can answer one from its cache of another
