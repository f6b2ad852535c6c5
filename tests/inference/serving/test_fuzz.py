"""The server fuzzed from its own OpenAPI description (schemathesis), over real HTTP.

Schemathesis reads GET /openapi.json and sends requests that fit it (which must be answered
200, with a body that fits the response schema) and requests that break it in every way it
can think of (which must be answered 4xx); no request may get a 5xx or an answer outside the
contract. The server must still answer /ping afterwards.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from serving_process import Served, free_port, server_command, serving

EXAMPLES = 100  # per operation and mode


@pytest.fixture(scope="module")
def server(model_dir: Path) -> Iterator[Served]:
    port = free_port()
    with serving(server_command(model_dir, port, "--workers", "2"), port) as served:
        yield served


@pytest.fixture(scope="module")
def contract(server: Served):
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


# Schemathesis' own pytest plugin does not run on this pytest (9.2); its strategies are plain
# hypothesis strategies, driven here one operation and generation mode at a time.
@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
def test_every_request_is_answered_within_the_contract(contract, server: Served, mode) -> None:
    operations = [result.ok() for result in contract.get_all_operations()]
    # Every path but the description itself, which schemathesis leaves out.
    assert {f"{op.method.upper()} {op.path}" for op in operations} == {
        "GET /ping",
        "GET /execution-parameters",
        "POST /invocations",
    }
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET":
            continue  # no body, no parameters: nothing to break

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def answered_within_the_contract(case) -> None:
            case.call_and_validate(base_url=server.url)

        answered_within_the_contract()


def test_the_server_serves_on_after_the_fuzzing(server: Served) -> None:
    with urllib.request.urlopen(server.url + "/ping", timeout=10) as response:
        assert response.status == 200
