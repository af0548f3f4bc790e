"""Hostile bodies at every function that reads one: oversized, deeply nested, invalid UTF-8, huge
numbers, NaN and Infinity, wrong JSON types, control characters. Each gets a clear 4xx in the
spec's error shape and changes nothing (no message queued, no item of any table written: app
configs, thresholds, experiments, live events, content). Hostile query values on the client routes:
every invalid one is a 4xx; merely unusual but valid ones are answered."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from liveops import aws, wiring
from liveops.services.tokens import create_token
from tests.integration.conftest import GAME_CONFIG, AwsStack
from tests.integration.helpers import Api
from tests.integration.test_access_matrix import DOCUMENT, snapshot

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
ADMIN_PUTS = {
    "/v1/admin/apps/test-game": GAME_CONFIG,
    "/v1/admin/apps/test-game/thresholds/t-1": {
        "metric": "events.count",
        "op": ">",
        "value": 5,
        "notify": [],
        "description": "",
    },
    "/v1/admin/apps/test-game/events/e-1": {
        "type": "event",
        "start_at": "2026-01-01T00:00:00Z",
        "end_at": "2026-02-01T00:00:00Z",
        "content_version": "*",
        "rules": {},
    },
    "/v1/admin/apps/test-game/experiments/x-1": {
        "name": "x",
        "description": "",
        "config": {"variants": [{"id": "a", "weight": 1}, {"id": "b", "weight": 1}]},
    },
    "/v1/admin/apps/test-game/content": {
        "version": "1.0.0",
        "content_hash": "sha256:" + "0" * 64,
        "min_supported_client_version": "1.0.0",
    },
}


@pytest.fixture
def admin_token(stack: AwsStack, game: str) -> str:
    """An admin token, and one item behind every PUT route (what a hostile body must not replace)."""
    api = Api()
    token = create_token(wiring.tokens_store(), "admin").token
    for path, body in ADMIN_PUTS.items():
        status, _, answer = api.call("PUT", path, body, {"authorization": f"Bearer {token}"})
        assert status < 300, (path, answer)
    return token


def test_every_admin_put_route_is_exercised() -> None:
    documented = {
        path.replace("{app_id}", "test-game")
        .replace("{threshold_id}", "t-1")
        .replace("{event_id}", "e-1")
        .replace("{experiment_id}", "x-1")
        for path, operations in DOCUMENT["paths"].items()
        if path.startswith("/v1/admin/") and "put" in operations
    }
    assert documented == set(ADMIN_PUTS)


@pytest.mark.parametrize("name", sorted(ADMIN_BODIES))
def test_admin_refuses_hostile_bodies(name: str, stack: AwsStack, admin_token: str) -> None:
    api = Api()
    before = snapshot(stack)  # configs, thresholds, experiments, live events, content, keys...
    for path in ADMIN_PUTS:
        status, _, answer = api.call(
            "PUT", path, headers={"authorization": f"Bearer {admin_token}"}, raw=ADMIN_BODIES[name]
        )
        assert 400 <= status < 500, (name, path, status, answer)
        assert set(answer["error"]) == {"code", "message", "details"} and answer["error"]["message"]
    assert snapshot(stack) == before, f"{name} changed something"


def test_admin_refuses_bodies_over_1_mib(stack: AwsStack, admin_token: str) -> None:
    """A valid body padded past 1 MiB (in a free-text field) is refused before it is read."""
    api = Api()
    padding = "x" * (1024 * 1024)
    before = snapshot(stack)
    for path, body in ADMIN_PUTS.items():
        field = "name" if "description" not in body else "description"
        if path.endswith("/content"):
            field = "content_hash"
        status, _, answer = api.call(
            "PUT", path, {**body, field: padding}, headers={"authorization": f"Bearer {admin_token}"}
        )
        assert status == 413, (path, status, answer)
        assert set(answer["error"]) == {"code", "message", "details"}
        assert answer["error"]["code"] == "payload_too_large"
    assert snapshot(stack) == before


# (route, query) pairs: each invalid value must be refused with a 4xx in the error shape ...
INVALID_QUERIES = [
    ("/v1/experiments/assignments", ""),  # user_id is required
    ("/v1/experiments/assignments", "user_id="),
    ("/v1/experiments/assignments", "user_id=" + "x" * 257),
    ("/v1/experiments/assignments", "user_id=" + "x" * 5000),
    ("/v1/experiments/assignments", "user_id=a&user_id=b"),
    ("/v1/experiments/assignments", "user_id=%ff%fe"),  # invalid UTF-8
    ("/v1/experiments/assignments", "user_id=%ed%a0%80"),  # an encoded lone surrogate
    ("/v1/experiments/assignments", "user_id=a%00b"),
    ("/v1/experiments/assignments", "user_id=a%0Ab"),
    ("/v1/experiments/assignments", "user_id=a&platform=" + "p" * 33),
    ("/v1/experiments/assignments", "user_id=a&platform=web%00"),
    ("/v1/experiments/assignments", "user_id=a&client_version=1.0.0.0.0.0"),
    ("/v1/experiments/assignments", "user_id=a&client_version=" + "9" * 400 + ".0.0"),
    ("/v1/content/manifest", ""),
    ("/v1/content/manifest", "client_version="),
    ("/v1/content/manifest", "client_version=1.0.0.0.0.0"),
    ("/v1/content/manifest", "client_version=" + "9" * 400 + ".0.0"),
    ("/v1/content/manifest", "client_version=v1.0.0"),
    ("/v1/content/manifest", "client_version=01.0.0"),
    ("/v1/content/manifest", "client_version=%ff"),
    ("/v1/content/manifest", "client_version=1.0.0%00"),
    ("/v1/events/active", "content_version="),
    ("/v1/events/active", "content_version=" + "1" * 65),
    ("/v1/events/active", "content_version=%ff%fe"),
    ("/v1/events/active", "content_version=a%00b"),
]
# ... and values that are merely unusual are valid: answered (200)
UNUSUAL_VALID_QUERIES = [
    ("/v1/experiments/assignments", "user_id=" + "x" * 256),  # the longest allowed
    ("/v1/experiments/assignments", "user_id=" + "%E3%83%A6" * 256),  # 256 non-ASCII characters
    ("/v1/experiments/assignments", "user_id=%F0%9F%98%80-%E7%A7%98%E5%AF%86"),  # emoji and CJK
    ("/v1/experiments/assignments", "user_id=mail.someone%40example.com"),
    ("/v1/experiments/assignments", "user_id=a,b%20c%2Bd"),
    ("/v1/experiments/assignments", "user_id=a&platform=smart-fridge"),  # no experiment targets it
    ("/v1/experiments/assignments", "user_id=a&client_version=1.0.0-beta.1%2Bbuild.5"),
    ("/v1/content/manifest", "client_version=1.0.0-rc.1%2Bbuild.7"),
    ("/v1/content/manifest", "client_version=" + "9" * 60 + ".0.0"),  # a huge but valid version
    ("/v1/content/manifest", "client_version=1.0.0&user_id=" + "x" * 5000),  # an unknown parameter
    ("/v1/events/active", "content_version=*"),
    ("/v1/events/active", "content_version=1.0.0.0"),  # live events' versions are free tags
    ("/v1/events/active", "user_id=" + "x" * 5000),
]


@pytest.mark.parametrize(
    ("path", "query"), INVALID_QUERIES, ids=[f"{p}?{q[:40]}" for p, q in INVALID_QUERIES]
)
def test_client_routes_refuse_invalid_queries(
    path: str, query: str, stack: AwsStack, game: str, admin_token: str
) -> None:
    api = Api()
    status, _, answer = api.call("GET", f"{path}?{query}", headers={"x-api-key": game})
    assert 400 <= status < 500, (path, query, status, answer)
    assert set(answer["error"]) == {"code", "message", "details"} and answer["error"]["message"]


@pytest.mark.parametrize(
    ("path", "query"), UNUSUAL_VALID_QUERIES, ids=[f"{p}?{q[:40]}" for p, q in UNUSUAL_VALID_QUERIES]
)
def test_client_routes_answer_unusual_but_valid_queries(
    path: str, query: str, stack: AwsStack, game: str, admin_token: str
) -> None:
    api = Api()  # (admin_token: test-game has a content manifest, a live event, an experiment)
    status, _, answer = api.call("GET", f"{path}?{query}", headers={"x-api-key": game})
    assert status == 200, (path, query, status, answer)


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


def run_end(payload: str, event_id: str | None = None) -> str:
    """A run_end event with its payload spliced in as raw text."""
    head = {"event_id": event_id or str(uuid.uuid4()), "event_type": "run_end", "event_time": NOW}
    return json.dumps(head)[:-1] + ', "payload": ' + payload + "}"


def batch_text(*events: str, head: str = '"session_id": "s-1", "platform": "web"') -> bytes:
    return ("{" + head + ', "events": [' + ", ".join(events) + "]}").encode()


# each repeats one key somewhere; the fast parsers would silently keep the last value
DUPLICATED_KEYS: dict[str, tuple[bytes, str]] = {
    "envelope": (
        batch_text(
            run_end('{"run_id": "r", "outcome": "win"}'),
            head='"session_id": "s-1", "platform": "web", "platform": "ios"',
        ),
        "platform",
    ),
    "event": (
        batch_text(run_end('{"run_id": "r", "outcome": "win"}', "e-1")[:-1] + ', "event_id": "e-2"}'),
        "event_id",
    ),
    "payload": (batch_text(run_end('{"run_id": "r", "outcome": "win", "outcome": "loss"}')), "outcome"),
    "compact": (batch_text(run_end('{"run_id":"r","outcome":"win","score":1,"score":2}')), "score"),
    "second of many events": (
        batch_text(
            run_end('{"run_id": "a", "outcome": "win"}'),
            run_end('{"run_id": "b", "outcome": "win", "run_id": "c"}'),
        ),
        "run_id",
    ),
    # the dropped value's colon count is made up by an escaped colon in the kept one
    "escaped colon making up the count": (
        batch_text(
            run_end('{"run_id": "r", "outcome": "win", "challenge_id": "a", "challenge_id": "\\u003a"}')
        ),
        "challenge_id",
    ),
    "an event the reference path reads": (
        batch_text(run_end('{"run_id": "r", "outcome": "draw", "outcome": "win"}')),
        "outcome",
    ),
}


@pytest.mark.parametrize("name", sorted(DUPLICATED_KEYS))
def test_ingest_refuses_duplicate_keys(name: str, stack: AwsStack, game: str) -> None:
    raw, key = DUPLICATED_KEYS[name]
    api = Api()
    before = queue_depth(stack)
    status, _, answer = api.call("POST", "/v1/telemetry/batch", headers={"x-api-key": game}, raw=raw)
    assert status == 400 and answer["error"]["code"] == "invalid_request", (name, status, answer)
    assert f"duplicate key {key!r}" in answer["error"]["message"], answer
    assert queue_depth(stack) == before, f"{name} queued something"


def test_ingest_accepts_colons_and_escapes_without_duplicates(stack: AwsStack, game: str) -> None:
    """Colons in strings, escaped colons and the same key in different objects are no duplicate."""
    raw = batch_text(
        run_end('{"run_id": "a:b::c", "outcome": "win", "challenge_id": "\\u003a\\u003A:"}'),
        run_end('{"run_id" : "a", "outcome" :"win"}'),
        head='"session_id": "s:1", "platform": "web", "user_id": "\\u003auser"',
    )
    status, _, answer = Api().call("POST", "/v1/telemetry/batch", headers={"x-api-key": game}, raw=raw)
    assert status == 202 and answer["accepted"] == 2 and not answer["rejected"], answer
