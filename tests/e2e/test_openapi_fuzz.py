"""Hostile input for every route of the generated OpenAPI document, over real HTTP.

schemathesis generates requests from the document (schema-valid ones with odd values: huge numbers,
odd unicode, boundary lengths) and sends them to a fresh local stack with credentials attached, so
that they reach the handlers instead of stopping at the first refusal:

- `app_id` (path) and `app` (query) are fixed to a real app of the stack; other ids are either
  generated or the id of an item the fixture created, so lookups both miss and hit;
- admin and metrics requests carry an admin token, client requests the app's key, and every
  Discord interaction is signed with the stack's Ed25519 key (dev.json has the private half);
- each operation first gets its positive examples (bodies a generator would never make valid:
  app configs, telemetry batches, Discord commands...), which must succeed.

Every answer must be a documented status with a body that matches its documented schema, never a
5xx, and for every operation at least one request must get past authentication and app lookup (a
2xx, or a 4xx other than 401, 403 and 404 `unknown_app`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.meta import negated_parameters

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
EXAMPLES_PER_OPERATION = 25

APP = "abyssal-architect"  # an example app of the stack, with a Discord guild
SCRATCH = "fuzz-scratch"  # a copy of APP that generated app configs may overwrite
GUILD = "912345678901234567"  # APP's guild (examples/apps/abyssal-architect.yaml)
NOW = datetime.now(UTC).replace(microsecond=0)
INCIDENT = "inc-20261130120000000-0123abcd"  # well-formed; the alerts job never opened it


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


THRESHOLD = {"metric": "run_duration_ms.p95", "op": ">", "value": 1000, "notify": []}
LIVE_EVENT = {
    "type": "event",
    "start_at": iso(NOW - timedelta(hours=1)),
    "end_at": iso(NOW + timedelta(hours=1)),
    "content_version": "*",
}
EXPERIMENT = {
    "name": "Draft weights",
    "start_at": iso(NOW - timedelta(days=1)),
    "config": {"variants": [{"id": "control", "weight": 1}, {"id": "more_relics", "weight": 1}]},
}
RANGE = {"app": APP, "from": iso(NOW - timedelta(days=2)), "to": iso(NOW + timedelta(hours=1))}
BATCH = {
    "session_id": "fuzz-session",
    "platform": "web",
    "client_version": "1.2.0",
    "user_id": "fuzz-player",
    "events": [
        {
            "event_id": "3f1c7a52-2b1d-4c35-9b8e-0d7c9a1b2c3d",
            "event_type": "session_start",
            "event_time": iso(NOW - timedelta(seconds=5)),
            "payload": {"launch": "cold"},
        }
    ],
}


def interaction(kind: int, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": kind,
        "id": "900000000000000001",
        "application_id": "555555555555555555",
        "token": "fuzz-interaction-token",
        "version": 1,
        "guild_id": GUILD,
        "member": {"user": {"id": "777777777777777777", "username": "fuzz"}, "roles": []},
        **({"data": data} if data is not None else {}),
    }


@dataclass
class World:
    """The stack and the items the fixture created for the fuzz to hit."""

    stack: StackProcess
    headers: dict[str, str]
    signing_key: SigningKey
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> a real item's id
    spare_key_id: str = ""
    spare_token_id: str = ""
    config: dict[str, Any] = field(default_factory=dict)  # APP's config as the admin API returns it


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


@pytest.fixture(scope="module")
def world(target: StackProcess, session: requests.Session) -> World:
    """Credentials, and one item of each kind in APP (plus doomed ones for the DELETE routes)."""
    info = target.info
    headers = {
        "authorization": f"Bearer {info['tokens']['admin']}",
        "x-api-key": info["apps"][APP]["api_key"],
    }
    key = SigningKey(bytes.fromhex(info["discord"]["private_key"]))
    world = World(target, headers, key)
    base = f"{info['api_url']}/v1/admin/apps"

    def admin(method: str, url: str, body: Any = None) -> Any:
        response = session.request(method, url, json=body, headers=headers, timeout=30)
        assert response.status_code < 300, (method, url, response.status_code, response.text)
        return response.json()

    world.config = admin("GET", f"{base}/{APP}")["config"]
    admin("PUT", f"{base}/{SCRATCH}", {**world.config, "app_id": SCRATCH, "name": "Fuzz scratch"})
    for threshold in ("fuzz-threshold", "fuzz-threshold-doomed"):
        admin("PUT", f"{base}/{APP}/thresholds/{threshold}", THRESHOLD)
    for event in ("fuzz-event", "fuzz-event-doomed"):
        admin("PUT", f"{base}/{APP}/events/{event}", LIVE_EVENT)
    for experiment in ("fuzz-exp", "fuzz-exp-draft"):
        admin("PUT", f"{base}/{APP}/experiments/{experiment}", EXPERIMENT)
    admin("POST", f"{base}/{APP}/experiments/fuzz-exp/status", {"status": "running"})
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        content = {
            "version": version,
            "content_hash": "sha256:" + "0" * 64,
            "min_supported_client_version": "1.0.0",
        }
        admin("PUT", f"{base}/{APP}/content", content)
    world.spare_key_id = admin("POST", f"{base}/{APP}/keys")["key_id"]
    world.spare_token_id = admin("POST", f"{info['api_url']}/v1/admin/tokens", {"role": "viewer"})["token_id"]
    world.ids = {
        "threshold_id": "fuzz-threshold",
        "event_id": "fuzz-event",
        "experiment_id": "fuzz-exp",
        "key_id": world.spare_key_id,
        "token_id": world.spare_token_id,
    }
    return world


# ------------------------------------------------------------------------ positive examples
# label -> [(path parameters, query, body)]: requests that must succeed (2xx); app_id is APP
# unless given. Operations with no entry still get a request with APP and no body.
NO_BODY: Any = None


def positive_examples(world: World) -> dict[str, list[tuple[dict[str, str], dict[str, str], Any]]]:
    content = {
        "version": "2.0.0",
        "content_hash": "sha256:" + "1" * 64,
        "min_supported_client_version": "1.0.0",
    }
    return {
        "PUT /v1/admin/apps/{app_id}": [
            ({"app_id": SCRATCH}, {}, {**world.config, "app_id": SCRATCH, "name": "Fuzz scratch, renamed"})
        ],
        "PUT /v1/admin/apps/{app_id}/content": [({}, {}, content)],
        "PUT /v1/admin/apps/{app_id}/events/{event_id}": [({"event_id": "fuzz-event-new"}, {}, LIVE_EVENT)],
        "DELETE /v1/admin/apps/{app_id}/events/{event_id}": [
            ({"event_id": "fuzz-event-doomed"}, {}, NO_BODY)
        ],
        "GET /v1/admin/apps/{app_id}/experiments/{experiment_id}": [
            ({"experiment_id": "fuzz-exp"}, {}, NO_BODY)
        ],
        "PUT /v1/admin/apps/{app_id}/experiments/{experiment_id}": [
            ({"experiment_id": "fuzz-exp-new"}, {}, EXPERIMENT)
        ],
        "POST /v1/admin/apps/{app_id}/experiments/{experiment_id}/status": [
            ({"experiment_id": "fuzz-exp-draft"}, {}, {"status": "running"})
        ],
        "GET /v1/admin/apps/{app_id}/thresholds/{threshold_id}": [
            ({"threshold_id": "fuzz-threshold"}, {}, NO_BODY)
        ],
        "PUT /v1/admin/apps/{app_id}/thresholds/{threshold_id}": [
            ({"threshold_id": "fuzz-threshold-new"}, {}, THRESHOLD)
        ],
        "DELETE /v1/admin/apps/{app_id}/thresholds/{threshold_id}": [
            ({"threshold_id": "fuzz-threshold-doomed"}, {}, NO_BODY)
        ],
        "DELETE /v1/admin/apps/{app_id}/keys/{key_id}": [({"key_id": world.spare_key_id}, {}, NO_BODY)],
        "POST /v1/admin/tokens": [({}, {}, {"role": "viewer"})],
        "DELETE /v1/admin/tokens/{token_id}": [({"token_id": world.spare_token_id}, {}, NO_BODY)],
        "GET /v1/admin/apps/{app_id}/incidents": [({}, {"status": "new", "limit": "5"}, NO_BODY)],
        "GET /v1/admin/apps/{app_id}/incidents/{incident_id}": [({"incident_id": INCIDENT}, {}, NO_BODY)],
        "POST /v1/admin/apps/{app_id}/incidents/{incident_id}/acknowledge": [
            ({"incident_id": INCIDENT}, {}, {"note": "on it"})
        ],
        "POST /v1/admin/apps/{app_id}/incidents/{incident_id}/resolve": [
            ({"incident_id": INCIDENT}, {}, {"note": "fixed"})
        ],
        "GET /v1/content/manifest": [({}, {"client_version": "1.0.0"}, NO_BODY)],
        "GET /v1/experiments/assignments": [
            ({}, {"user_id": "フューズ-player-1", "platform": "web"}, NO_BODY)
        ],
        "GET /v1/events/active": [({}, {"content_version": "1.2.0"}, NO_BODY)],
        "POST /v1/telemetry/batch": [({}, {}, BATCH)],
        "GET /v1/metrics/timeseries": [
            ({}, {**RANGE, "metric": "events.count", "granularity": "hour"}, NO_BODY)
        ],
        "GET /v1/metrics/overview": [({}, RANGE, NO_BODY)],
        "GET /v1/metrics/kpis": [({}, {**RANGE, "format": "csv"}, NO_BODY)],
        "GET /v1/metrics/funnel": [({}, {**RANGE, "funnel": "first_run"}, NO_BODY)],
        "GET /v1/metrics/experiment": [({}, {**RANGE, "experiment": "fuzz-exp"}, NO_BODY)],
        "GET /v1/metrics/storage": [({}, {"app": APP}, NO_BODY)],
        "POST /discord/interactions": [
            ({}, {}, {"type": 1}),  # PING
            ({}, {}, interaction(2, {"name": "incidents", "type": 1})),  # deferred to the worker
        ],
    }


# operations whose every 2xx needs an item no route can create (incidents are opened by the
# alerts job): these must still reach their handler, but a 404 for the item is their best answer
NO_SUCCESS_EXPECTED = {
    "GET /v1/admin/apps/{app_id}/incidents/{incident_id}",
    "POST /v1/admin/apps/{app_id}/incidents/{incident_id}/acknowledge",
    "POST /v1/admin/apps/{app_id}/incidents/{incident_id}/resolve",
}


# ------------------------------------------------------------------------ sending


def reached_handler(status: int, body: Any) -> bool:
    """Past authentication and app lookup: a 2xx, or a refusal that is not about credentials or
    an unknown app (the handler, or the validation of an authenticated request, answered)."""
    if status in (401, 403):
        return False
    if status == 404:
        return not (isinstance(body, dict) and body.get("error", {}).get("code") == "unknown_app")
    return True


def fixed_path(operation: Any, world: World, given: dict[str, str]) -> dict[str, str]:
    names = {p.name for p in operation.path_parameters}
    fixed = {"app_id": APP} if "app_id" in names else {}
    return {**fixed, **{k: v for k, v in given.items() if k in names}}


def fixed_query(operation: Any, given: dict[str, str]) -> dict[str, str]:
    names = {p.name for p in operation.query}
    return {**({"app": APP} if "app" in names else {}), **given}


def strategy(operation: Any, world: World) -> st.SearchStrategy[Any]:
    """Generated cases, schema-valid (positive) and schema-violating (negative: wrong types,
    missing or extra fields...), with APP fixed; other ids are generated or a real item's."""
    path = fixed_path(operation, world, {})
    if operation.label == "PUT /v1/admin/apps/{app_id}":  # a generated config that passes replaces the app's
        path = {"app_id": SCRATCH}
    query = fixed_query(operation, {})
    ids = world.ids
    if operation.method.upper() == "DELETE":  # deleting the shared items would starve later tests
        ids = {**ids, "threshold_id": "fuzz-threshold-doomed", "event_id": "fuzz-event-doomed"}
    paths = [path]
    real = {**fixed_path(operation, world, ids), **path}
    if real != path:
        paths.append(real)
    return st.one_of(
        [
            operation.as_strategy(mode, path_parameters=fixed, query=query)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for fixed in paths
        ]
    ).filter(keeps_credentials)


CREDENTIAL_PARAMETERS = {"authorization", "x-api-key"}


def keeps_credentials(case: Any) -> bool:
    """Negative cases that drop or mangle the credentials only ever get 401 (the access matrix
    tests those): spend the requests on the handlers instead."""
    return not any(name.lower() in CREDENTIAL_PARAMETERS for name, _ in negated_parameters(case.meta))


@dataclass
class Outcome:
    statuses: Counter[int] = field(default_factory=Counter)
    reached: int = 0
    refused: list[str] = field(default_factory=list)  # generated requests stopped before the handler

    def record(self, response: Any, generated: bool = True) -> None:
        self.statuses[response.status_code] += 1
        try:
            body = response.json()
        except ValueError:
            body = None
        if reached_handler(response.status_code, body):
            self.reached += 1
        elif generated:
            self.refused.append(f"{response.status_code} {response.request.url}: {response.text[:120]}")


def wire_body(case: Any) -> bytes:
    """The bytes the transport would send for the case's body (none: empty)."""
    kwargs = case.as_transport_kwargs()
    if "json" in kwargs:
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data") or b""
    return data if isinstance(data, bytes) else str(data).encode()


def send(case: Any, world: World, session: requests.Session) -> Any:
    headers = dict(world.headers)
    # generated values for declared credential headers would only ever get 401
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in headers}
    if case.operation.path == "/discord/interactions":
        # Discord signs timestamp + raw body: send the exact bytes that were signed
        raw = wire_body(case)
        stamp = str(int(time.time()))
        case.body = raw
        headers = {
            "x-signature-ed25519": world.signing_key.sign(stamp.encode() + raw).signature.hex(),
            "x-signature-timestamp": stamp,
        }
    return case.call_and_validate(
        base_url=world.stack.info["api_url"], session=session, headers=headers, checks=CHECKS, timeout=30
    )


def test_every_route_is_covered() -> None:
    paths = {label.split(" ", 1)[1] for label in OPERATIONS}
    assert {"/v1/telemetry/batch", "/v1/events/active", "/discord/interactions"} <= paths
    assert any(p.startswith("/v1/admin/") for p in paths) and any(p.startswith("/v1/metrics/") for p in paths)


def test_positive_examples_name_real_operations(world: World) -> None:
    assert set(positive_examples(world)) <= set(OPERATIONS)
    assert set(OPERATIONS) >= NO_SUCCESS_EXPECTED


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_generated_requests_get_documented_answers(
    label: str, world: World, session: requests.Session
) -> None:
    operation = OPERATIONS[label]
    outcome = Outcome()
    generated = strategy(operation, world)

    # the positive examples first: they must succeed
    for path, query, body in positive_examples(world).get(label, [({}, {}, NO_BODY)]):
        case = operation.Case(
            path_parameters=fixed_path(operation, world, path),
            query=fixed_query(operation, query),
            **({"body": body, "media_type": "application/json"} if body is not None else {}),
        )
        response = send(case, world, session)
        outcome.record(response, generated=False)
        if label not in NO_SUCCESS_EXPECTED:
            assert response.status_code < 300, (label, path, query, response.status_code, response.text)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def check(data: Any) -> None:
        outcome.record(send(data.draw(generated), world, session))

    check()
    assert sum(outcome.statuses.values()) > 1, "no generated request was sent"
    assert all(status < 500 for status in outcome.statuses), outcome.statuses
    # every request reached the handler (or the validation of an authenticated request for a
    # real app): none was spent on a refusal of its credentials or its app
    assert outcome.reached, f"{label}: no request got past authentication and app lookup: {outcome.statuses}"
    assert not outcome.refused, (label, outcome.refused[:3])
