"""The ingest function against moto, called through the gateway as API Gateway would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from liveops import aws, wiring
from liveops.api.ingest import metrics as ingest_metrics
from liveops.domain.hashing import app_user_hash_key
from tests.integration.conftest import AwsStack
from tests.integration.helpers import Api, batch, drain, event

PATH = "/v1/telemetry/batch"


@pytest.fixture
def api(stack: AwsStack) -> Api:
    return Api()


def post(api: Api, key: str | None, body: Any = None, **headers: str) -> tuple[int, dict[str, str], Any]:
    if key is not None:
        headers["x-api-key"] = key
    headers.setdefault("content-type", "application/json")
    return api.call("POST", PATH, body, {k.replace("_", "-"): v for k, v in headers.items()})


def queued_events(stack: AwsStack) -> list[dict[str, Any]]:
    """Every queued event, as its message carries it."""
    return [event for message in drain(stack.env["EVENTS_QUEUE_URL"]) for event in message["events"]]


def test_valid_batch_is_accepted_and_enqueued_with_hashed_user(api: Api, game: str, stack: AwsStack) -> None:
    events = [event() for _ in range(3)]
    status, _, body = post(api, game, batch(events))
    assert status == 202
    assert body["accepted"] == 3 and body["rejected"] == []
    messages = drain(stack.env["EVENTS_QUEUE_URL"])
    assert len(messages) == 1
    message = messages[0]
    assert message["batch_id"] == body["batch_id"]
    assert message["v"] == 2
    assert [e["event_id"] for e in message["events"]] == [e["event_id"] for e in events]
    assert "player-42" not in json.dumps(message)
    expected = hmac.new(
        app_user_hash_key(b"test-secret", "test-game"), b"player-42", hashlib.sha256
    ).hexdigest()
    assert message["user_hash"] == expected
    assert (message["platform"], message["client_version"], message["session_id"]) == ("web", "1.2.0", "s-1")
    assert [e["payload"] for e in message["events"]] == [e["payload"] for e in events]
    assert [e["event_time"] for e in message["events"]] == [e["event_time"] for e in events]


def test_mixed_batch_rejects_bad_events_and_keeps_the_good(api: Api, game: str, stack: AwsStack) -> None:
    good = event()
    events = [good, event("nope"), event(run_id="r", outcome="draw"), {"event_type": "run_end"}]
    status, _, body = post(api, game, batch(events))
    assert status == 202
    assert body["accepted"] == 1
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [
        (1, "unknown_event_type"),
        (2, "invalid_value"),
        (3, "invalid_event_id"),
    ]
    assert all(r["message"] for r in body["rejected"])
    assert [e["event_id"] for e in queued_events(stack)] == [good["event_id"]]


@pytest.mark.parametrize(
    ("key", "code"), [(None, "missing_api_key"), ("lo_nope_xyz", "invalid_api_key"), ("", "missing_api_key")]
)
def test_bad_keys_get_401(api: Api, game: str, stack: AwsStack, key: str | None, code: str) -> None:
    status, _, body = post(api, key, batch([event()]))
    assert status == 401
    assert body["error"]["code"] == code
    assert queued_events(stack) == []


def test_revoked_key_gets_401(api: Api, game: str, stack: AwsStack) -> None:
    store = wiring.apps_store()
    key_id = store.list_keys("test-game")[0].key_id
    assert store.revoke_key("test-game", key_id)
    wiring.reset()  # a new container: the running one trusts its cache for config_cache_seconds
    status, _, body = post(Api(), game, batch([event()]))
    assert status == 401 and body["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "web", "events": []}, "session_id"),
        ({"session_id": "s", "platform": "web", "events": [{}] * 501}, "events"),
        ({"session_id": "s", "platform": "web", "events": [], "extra": 1}, ""),
        ({"session_id": "s", "events": [{}]}, "platform"),
        ({"session_id": "s", "platform": "web", "sent_at": "yesterday", "events": [{}]}, "sent_at"),
    ],
)
def test_envelope_errors_are_400_and_store_nothing(
    api: Api, game: str, stack: AwsStack, body: Any, field: str
) -> None:
    status, _, answer = post(api, game, body)
    assert status == 400
    assert answer["error"]["code"] == "invalid_request"
    assert field in json.dumps(answer["error"]["details"])
    assert queued_events(stack) == []


def test_bad_json_and_unknown_platform_are_400(api: Api, game: str, stack: AwsStack) -> None:
    status, _, answer = api.call("POST", PATH, raw=b'{"session_id": ', headers={"x-api-key": game})
    assert status == 400 and "error" in answer
    status, _, answer = post(api, game, batch([event()], platform="ps5"))
    assert status == 400 and answer["error"]["code"] == "unknown_platform"
    assert queued_events(stack) == []


def test_oversized_body_is_413(api: Api, game: str, stack: AwsStack) -> None:
    events = [event(run_id="r", outcome="win", challenge_id="x" * 3000) for _ in range(400)]
    status, _, answer = post(api, game, batch(events))
    assert status == 413 and answer["error"]["code"] == "payload_too_large"
    assert queued_events(stack) == []


def test_idempotency_key_replays_the_first_response(api: Api, game: str, stack: AwsStack) -> None:
    body = batch([event(), event()])
    first = post(api, game, body, idempotency_key="retry-1")
    second = post(api, game, body, idempotency_key="retry-1")
    assert first[0] == second[0] == 202
    assert first[2] == second[2]
    assert len(queued_events(stack)) == 2
    other = post(api, game, batch([event()]), idempotency_key="retry-1")
    assert other[0] == 422 and other[2]["error"]["code"] == "idempotency_key_reused"
    assert queued_events(stack) == []


def test_queue_outage_is_503_and_a_retry_succeeds(api: Api, game: str, stack: AwsStack) -> None:
    sqs = aws.client("sqs")
    url = stack.env["EVENTS_QUEUE_URL"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    sqs.delete_queue(QueueUrl=url)
    body = batch([event()])
    status, headers, answer = post(api, game, body, idempotency_key="k-503")
    assert status == 503
    assert int(headers["retry-after"]) > 0
    assert answer["error"]["code"] == "service_unavailable"
    sqs.create_queue(
        QueueName=url.rsplit("/", 1)[-1], Attributes={"VisibilityTimeout": attributes["VisibilityTimeout"]}
    )
    status, _, answer = post(api, game, body, idempotency_key="k-503")
    assert status == 202 and answer["accepted"] == 1
    assert len(queued_events(stack)) == 1


def test_base64_body_and_wrong_method_and_unknown_route(api: Api, game: str, stack: AwsStack) -> None:
    fn = api.functions["IngestFunction"]
    raw = json.dumps(batch([event()])).encode()
    v2 = {
        "version": "2.0",
        "routeKey": "ANY /v1/telemetry/batch",
        "rawPath": PATH,
        "rawQueryString": "",
        "headers": {"x-api-key": game, "content-type": "application/json"},
        "requestContext": {
            "http": {"method": "POST", "path": PATH, "sourceIp": "127.0.0.1"},
            "stage": "$default",
        },
        "body": base64.b64encode(raw).decode(),
        "isBase64Encoded": True,
    }
    result = fn.invoke(v2)
    assert result["statusCode"] == 202
    status, headers, answer = api.call("GET", PATH, headers={"x-api-key": game})
    assert status == 405 and "POST" in headers["allow"] and answer["error"]["code"] == "method_not_allowed"
    status, _, answer = api.call("GET", "/v1/nothing-here")
    assert status == 404 and answer["error"]["code"] == "not_found"


def test_idempotency_key_too_long_is_400(api: Api, game: str) -> None:
    status, _, answer = post(api, game, batch([event()]), idempotency_key="k" * 300)
    assert status == 400 and answer["error"]["code"] == "invalid_request"


def test_every_answer_is_counted_by_status_class(
    api: Api, game: str, stack: AwsStack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # the tests keep metrics off elsewhere
    ingest_metrics.clear_metrics()  # what earlier tests added while metrics were off
    capsys.readouterr()
    answers = [
        post(api, game, batch([event()]))[0],
        post(api, "wrong-key", batch([event()]))[0],
        post(api, game, "{not json")[0],
    ]
    assert answers == [202, 401, 400]
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    counted = [name for m in metrics for name in ("Responses2xx", "Responses4xx") if name in m]
    assert counted == ["Responses2xx", "Responses4xx", "Responses4xx"]
    assert [m["EventsAccepted"] for m in metrics if "EventsAccepted" in m] == [[1.0]]
    drain(stack.env["EVENTS_QUEUE_URL"])
