"""Property-based fuzzing of the server against its own OpenAPI document: no 5xx, ever."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from app.inference.engine import BoundedFifo, Engine
from app.server.api import ServedModel, create_app
from tests.fakes import FakeBackend

# The app is built at import (schemathesis reads its schema); the model thread starts with the module.
_served = ServedModel(
    Engine(lambda: FakeBackend(seconds_per_call=0.0, tokens=2), policy=BoundedFifo(64)), name="fake-model"
)
app = create_app(_served)


def setup_module() -> None:
    _served.engine.start()


schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
# derandomize: the same examples every run (a red run is reproducible, never chance).
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    import time

    deadline = time.monotonic() + 10
    while not _served.engine.model_state.ready and time.monotonic() < deadline:
        time.sleep(0.01)
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert "error" in response.json()  # OpenAI's error shape, always


def teardown_module() -> None:
    assert _served.engine.shutdown()
