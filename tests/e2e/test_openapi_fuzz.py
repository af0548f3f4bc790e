"""Hostile input for every route of the generated OpenAPI document, over real HTTP.

schemathesis generates requests from docs/openapi.json (valid ones and schema-violating ones:
wrong types, missing fields, huge numbers, odd unicode) and sends them to a fresh local stack with
credentials attached, so that they reach past authentication. Every answer must be a documented
status with a body that matches its documented schema, and never a 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from liveops.local.process import StackProcess, start_stack_process

DOCUMENT = json.loads(
    (Path(__file__).resolve().parents[2] / "layers" / "liveops" / "api" / "openapi.json").read_text()
)
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 20


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    # a stack of its own: generated requests create, change and delete things
    stack = start_stack_process(Path(tmp_path_factory.mktemp("fuzz-state")))
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def credentials(stack: StackProcess) -> dict[str, str]:
    app_key = next(iter(stack.info["apps"].values()))["api_key"]
    return {"authorization": f"Bearer {stack.info['tokens']['admin']}", "x-api-key": app_key}


def test_every_route_is_covered() -> None:
    paths = {label.split(" ", 1)[1] for label in OPERATIONS}
    assert {"/v1/telemetry/batch", "/v1/events/active", "/discord/interactions"} <= paths
    assert any(p.startswith("/v1/admin/") for p in paths) and any(p.startswith("/v1/metrics/") for p in paths)


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_generated_requests_get_documented_answers(
    label: str, target: StackProcess, session: requests.Session
) -> None:
    operation = OPERATIONS[label]
    headers = credentials(target)
    seen: list[int] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def check(data: Any) -> None:
        case = data.draw(operation.as_strategy())
        # generated values for declared credential headers would only ever get 401
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in headers}
        response = case.call_and_validate(
            base_url=target.info["api_url"], session=session, headers=headers, checks=CHECKS, timeout=30
        )
        seen.append(response.status_code)

    check()
    assert seen, "no request was sent"
    assert all(status < 500 for status in seen), seen
