"""Hostile bodies at every function that reads one: oversized, deeply nested, invalid UTF-8, huge
numbers, NaN and Infinity, wrong JSON types, control characters. Each gets a clear 4xx in the
spec's error shape and changes nothing (no message queued, no item written)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from liveops import aws, wiring
from liveops.services.tokens import create_token
from tests.integration.conftest import AwsStack
from tests.integration.helpers import Api

NOW = datetime.now(UTC).isoformat().replace("+00:00", "Z")


def envelope(payload: str = "{}") -> bytes:
    head = {"session_id": "s-1", "platform": "web", "user_id": "u"}
    event = {"event_id": str(uuid.uuid4()), "event_type": "session_start", "event_time": NOW}
    # the payload is spliced in as raw text: it is what the test makes hostile
    return (
        json.dumps(head)[:-1] + ', "events": [' + json.dumps(event)[:-1] + ', "payload": ' + payload + "}]}"
    ).encode()


HOSTILE_BODIES: dict[str, bytes] = {
    "invalid utf-8": b'{"session_id": "\xff\xfe", "events": []}',
    "lone surrogate escape": envelope('{"a": "\\ud800"}'),
    "deeply nested payload": envelope("[" * 5000 + "]" * 5000),
    "deeply nested object": b'{"a":' * 3000 + b"1" + b"}" * 3000,
    "NaN": envelope('{"score": NaN}'),
    "Infinity": envelope('{"score": Infinity}'),
    "huge integer": envelope('{"score": ' + "9" * 400 + "}"),
    "huge exponent": envelope('{"score": 1e400}'),
    "not an object": b'["session_id", "events"]',
    "truncated": envelope()[:-7],
    "empty": b"",
    "null": b"null",
    "nul bytes": b'{"session_id": "s\x00", "events": []}',
    "events not a list": b'{"session_id": "s-1", "platform": "web", "events": {"0": {}}}',
    "too many events": json.dumps(
        {
            "session_id": "s",
            "platform": "web",
            "events": [
                {
                    "event_id": str(uuid.uuid4()),
                    "event_type": "session_start",
                    "event_time": NOW,
                    "payload": {},
                }
            ]
            * 501,
        }
    ).encode(),
}


def queue_depth(stack: AwsStack) -> str:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=stack.env["EVENTS_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    return str(attributes["Attributes"]["ApproximateNumberOfMessages"])


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_ingest_refuses_hostile_bodies(name: str, stack: AwsStack, game: str) -> None:
    api = Api()
    before = queue_depth(stack)
    status, _, answer = api.call(
        "POST", "/v1/telemetry/batch", headers={"x-api-key": game}, raw=HOSTILE_BODIES[name]
    )
    if status == 202:  # a per-event problem: the envelope is fine, the event is refused alone
        assert answer["accepted"] == 0 and answer["rejected"], (name, answer)
    else:
        assert 400 <= status < 500, (name, status, answer)
        assert set(answer["error"]) == {"code", "message", "details"} and answer["error"]["message"]
    assert queue_depth(stack) == before, f"{name} queued something"


def test_oversized_body_is_413_before_parsing(stack: AwsStack, game: str) -> None:
    api = Api()
    raw = envelope('{"pad": "' + "x" * (2 * 1024 * 1024) + '"}')
    status, _, answer = api.call("POST", "/v1/telemetry/batch", headers={"x-api-key": game}, raw=raw)
    assert status == 413 and answer["error"]["code"] == "payload_too_large"


ADMIN_BODIES = {k: v for k, v in HOSTILE_BODIES.items() if k not in ("too many events", "events not a list")}


@pytest.mark.parametrize("name", sorted(ADMIN_BODIES))
def test_admin_refuses_hostile_bodies(name: str, stack: AwsStack, game: str) -> None:
    api = Api()
    token = create_token(wiring.tokens_store(), "admin").token
    apps_before = wiring.apps_store().get_config("test-game")
    for path in (
        "/v1/admin/apps/test-game",
        "/v1/admin/apps/test-game/thresholds/t-1",
        "/v1/admin/apps/test-game/events/e-1",
        "/v1/admin/apps/test-game/experiments/x-1",
        "/v1/admin/apps/test-game/content",
    ):
        status, _, answer = api.call(
            "PUT", path, headers={"authorization": f"Bearer {token}"}, raw=ADMIN_BODIES[name]
        )
        assert 400 <= status < 500, (name, path, status, answer)
        assert answer["error"]["code"] and answer["error"]["message"]
    assert wiring.apps_store().get_config("test-game") == apps_before
    assert wiring.liveops_store().list_events("test-game") == []


@pytest.mark.parametrize(
    "query",
    [
        "user_id=" + "x" * 5000,
        "user_id=%ff%fe",
        "user_id=a%00b",
        "client_version=1.0.0.0.0.0",
        "client_version=" + "9" * 400 + ".0.0",
    ],
)
def test_client_routes_refuse_hostile_queries(query: str, stack: AwsStack, game: str) -> None:
    api = Api()
    for path in ("/v1/experiments/assignments", "/v1/content/manifest", "/v1/events/active"):
        status, _, answer = api.call("GET", f"{path}?{query}", headers={"x-api-key": game})
        assert status < 500, (path, query, answer)
        if status >= 400:
            assert answer["error"]["code"] and answer["error"]["message"]


def test_admin_refuses_duplicate_keys(stack: AwsStack, game: str) -> None:
    api = Api()
    token = create_token(wiring.tokens_store(), "editor").token
    valid = b'{"id": "t-1", "metric": "events.count", "op": ">", "value": 5, "notify": []}'
    duplicated = b'{"id": "t-1", "metric": "events.count", "op": ">", "op": "<", "value": 5, "notify": []}'
    path = "/v1/admin/apps/test-game/thresholds/t-1"
    status, _, answer = api.call("PUT", path, headers={"authorization": f"Bearer {token}"}, raw=duplicated)
    assert status == 400 and answer["error"]["code"] == "invalid_request", answer
    assert "duplicate key 'op'" in json.dumps(answer)
    assert api.call("GET", path, headers={"authorization": f"Bearer {token}"})[0] == 404
    status, _, answer = api.call("PUT", path, headers={"authorization": f"Bearer {token}"}, raw=valid)
    assert status in (200, 201), answer
