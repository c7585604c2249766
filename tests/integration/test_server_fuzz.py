"""Property-based fuzzing of the server against its own OpenAPI document.

No 5xx, ever; every status is one the document lists; every body (answers and errors alike)
matches the schema the document gives for it.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.inference.model_thread import BoundedFifo, ModelThread
from app.server.api import ApiPolicy, ServedModel, create_app
from tests.fakes import FakeBackend

# The app is built at import (schemathesis reads its schema); the model thread starts with the module.
_served = ServedModel(
    ModelThread(lambda: FakeBackend(seconds_per_call=0.0, tokens=2), policy=BoundedFifo(64)),
    name="fake-model",
)
app = create_app(_served, ApiPolicy(allowed_hosts=("testserver",)))  # the ASGI client's Host header


def setup_module() -> None:
    _served.model_thread.start()


schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
# derandomize: the same examples every run (a red run is reproducible, never chance).
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    import time

    deadline = time.monotonic() + 10
    while not _served.model_thread.model_state.ready and time.monotonic() < deadline:
        time.sleep(0.01)
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    case.validate_response(
        response, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
    )
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}  # OpenAI's error shape


def teardown_module() -> None:
    assert _served.shutdown()
