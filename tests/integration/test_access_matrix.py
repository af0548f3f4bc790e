"""Who may call what: every admin and metrics route of the generated OpenAPI document x (no token,
wrong token, revoked token, viewer, editor, admin), and every client route x (no key, another app's
key, revoked key, a valid key). A refused call answers 401/403 in the spec's error shape and
changes nothing (every table is compared before and after)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from liveops import aws, wiring
from liveops.models.app_config import load_app_config
from liveops.services.apps import apply_config, create_key
from liveops.services.tokens import ROLES, create_token
from tests.integration.conftest import GAME_CONFIG, AwsStack
from tests.integration.helpers import Api

APP = "test-game"
DOCUMENT = json.loads(
    (Path(__file__).resolve().parents[2] / "layers" / "liveops" / "api" / "openapi.json").read_text()
)
NOW = datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


RANGE = {"app": APP, "from": iso(NOW - timedelta(days=2)), "to": iso(NOW)}
THRESHOLD = {"id": "many-events", "metric": "events.count", "op": ">", "value": 1000, "notify": []}
EXPERIMENT = {
    "name": "Waves",
    "start_at": iso(NOW - timedelta(days=1)),
    "end_at": iso(NOW + timedelta(days=7)),
    "config": {"variants": [{"id": "a", "weight": 1}, {"id": "b", "weight": 1}]},
}
LIVE_EVENT = {
    "type": "event",
    "start_at": iso(NOW),
    "end_at": iso(NOW + timedelta(hours=1)),
    "content_version": "*",
}
CONTENT = {"version": "1.0.1", "content_hash": "sha256:abc", "min_supported_client_version": "1.0.0"}

# one valid request per operation: (path, query, body); a new route must be added here
SAMPLES: dict[str, tuple[str, dict[str, str], Any]] = {
    "GET /v1/admin/apps": ("/v1/admin/apps", {}, None),
    "GET /v1/admin/apps/{app_id}": (f"/v1/admin/apps/{APP}", {}, None),
    "PUT /v1/admin/apps/{app_id}": (f"/v1/admin/apps/{APP}", {}, GAME_CONFIG),
    "GET /v1/admin/apps/{app_id}/content": (f"/v1/admin/apps/{APP}/content", {}, None),
    "PUT /v1/admin/apps/{app_id}/content": (f"/v1/admin/apps/{APP}/content", {}, CONTENT),
    "POST /v1/admin/apps/{app_id}/content/rollback": (f"/v1/admin/apps/{APP}/content/rollback", {}, None),
    "GET /v1/admin/apps/{app_id}/events": (f"/v1/admin/apps/{APP}/events", {}, None),
    "PUT /v1/admin/apps/{app_id}/events/{event_id}": (f"/v1/admin/apps/{APP}/events/spring", {}, LIVE_EVENT),
    "DELETE /v1/admin/apps/{app_id}/events/{event_id}": (f"/v1/admin/apps/{APP}/events/spring", {}, None),
    "GET /v1/admin/apps/{app_id}/experiments": (f"/v1/admin/apps/{APP}/experiments", {}, None),
    "GET /v1/admin/apps/{app_id}/experiments/{experiment_id}": (
        f"/v1/admin/apps/{APP}/experiments/waves",
        {},
        None,
    ),
    "PUT /v1/admin/apps/{app_id}/experiments/{experiment_id}": (
        f"/v1/admin/apps/{APP}/experiments/waves",
        {},
        EXPERIMENT,
    ),
    "POST /v1/admin/apps/{app_id}/experiments/{experiment_id}/status": (
        f"/v1/admin/apps/{APP}/experiments/waves/status",
        {},
        {"status": "running"},
    ),
    "GET /v1/admin/apps/{app_id}/incidents": (f"/v1/admin/apps/{APP}/incidents", {}, None),
    "GET /v1/admin/apps/{app_id}/incidents/{incident_id}": (
        f"/v1/admin/apps/{APP}/incidents/inc-20261130120000000-0123abcd",
        {},
        None,
    ),
    "POST /v1/admin/apps/{app_id}/incidents/{incident_id}/acknowledge": (
        f"/v1/admin/apps/{APP}/incidents/inc-20261130120000000-0123abcd/acknowledge",
        {},
        {"note": "on it"},
    ),
    "POST /v1/admin/apps/{app_id}/incidents/{incident_id}/resolve": (
        f"/v1/admin/apps/{APP}/incidents/inc-20261130120000000-0123abcd/resolve",
        {},
        {"note": "fixed"},
    ),
    "GET /v1/admin/apps/{app_id}/thresholds": (f"/v1/admin/apps/{APP}/thresholds", {}, None),
    "GET /v1/admin/apps/{app_id}/thresholds/{threshold_id}": (
        f"/v1/admin/apps/{APP}/thresholds/many-events",
        {},
        None,
    ),
    "PUT /v1/admin/apps/{app_id}/thresholds/{threshold_id}": (
        f"/v1/admin/apps/{APP}/thresholds/many-events",
        {},
        THRESHOLD,
    ),
    "DELETE /v1/admin/apps/{app_id}/thresholds/{threshold_id}": (
        f"/v1/admin/apps/{APP}/thresholds/many-events",
        {},
        None,
    ),
    "POST /v1/admin/apps/{app_id}/keys": (f"/v1/admin/apps/{APP}/keys", {}, None),
    "GET /v1/admin/apps/{app_id}/keys": (f"/v1/admin/apps/{APP}/keys", {}, None),
    "DELETE /v1/admin/apps/{app_id}/keys/{key_id}": (f"/v1/admin/apps/{APP}/keys/nokey", {}, None),
    "GET /v1/admin/tokens": ("/v1/admin/tokens", {}, None),
    "POST /v1/admin/tokens": ("/v1/admin/tokens", {}, {"role": "viewer"}),
    "DELETE /v1/admin/tokens/{token_id}": ("/v1/admin/tokens/notoken", {}, None),
    "GET /v1/metrics/timeseries": (
        "/v1/metrics/timeseries",
        {**RANGE, "metric": "events.count", "granularity": "day"},
        None,
    ),
    "GET /v1/metrics/overview": ("/v1/metrics/overview", RANGE, None),
    "GET /v1/metrics/kpis": ("/v1/metrics/kpis", RANGE, None),
    "GET /v1/metrics/funnel": ("/v1/metrics/funnel", {**RANGE, "funnel": "none"}, None),
    "GET /v1/metrics/experiment": ("/v1/metrics/experiment", {**RANGE, "experiment": "waves"}, None),
    "GET /v1/metrics/storage": ("/v1/metrics/storage", {"app": APP}, None),
}


def protected_operations() -> dict[str, str]:
    """label -> the role its documented 403 names, for every admin and metrics operation."""
    found = {}
    for path, operations in DOCUMENT["paths"].items():
        if not path.startswith(("/v1/admin/", "/v1/metrics/")):
            continue
        for method, operation in operations.items():
            denied = operation["responses"]["403"]["description"]
            found[f"{method.upper()} {path}"] = next(
                role for role in ROLES if denied.endswith(f"below {role}")
            )
    return found


def snapshot(stack: AwsStack) -> dict[str, Any]:
    """Every item of every table and the queue's depth: a refused call must leave them as they were."""
    db = aws.client("dynamodb")
    tables = sorted(
        name for key, name in stack.env.items() if key.endswith("_TABLE") and key != "RAW_EVENTS_TABLE"
    )
    state: dict[str, Any] = {
        table: sorted(json.dumps(item, sort_keys=True) for item in db.scan(TableName=table).get("Items", []))
        for table in tables
    }
    queue = aws.client("sqs").get_queue_attributes(
        QueueUrl=stack.env["EVENTS_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    state["events queue"] = queue["Attributes"]["ApproximateNumberOfMessages"]
    return state


def test_every_admin_and_metrics_route_has_a_sample() -> None:
    assert set(SAMPLES) == set(protected_operations())


@pytest.fixture
def callers(stack: AwsStack, game: str) -> dict[str, str]:
    store = wiring.tokens_store()
    tokens = {role: create_token(store, role).token for role in ROLES}
    revoked = create_token(store, "admin")
    assert store.revoke(revoked.token_id)
    return {**tokens, "revoked": revoked.token}


@pytest.mark.parametrize("label", sorted(SAMPLES))
def test_route_access(label: str, stack: AwsStack, callers: dict[str, str]) -> None:
    needs = protected_operations()[label]
    method = label.split(" ", 1)[0]
    path, query, body = SAMPLES[label]
    api = Api()
    target = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    def call(authorization: str | None) -> tuple[int, dict[str, str], Any]:
        headers = {"authorization": authorization} if authorization else {}
        return api.call(method, target, body, headers)

    refused = [
        (None, 401),
        ("Bearer lot_0123456789ab_" + "x" * 43, 401),
        (f"Bearer {callers['revoked']}", 401),
        *((f"Bearer {callers[role]}", 403) for role in ROLES if ROLES.index(role) < ROLES.index(needs)),
    ]
    for authorization, expected in refused:
        before = snapshot(stack)
        status, headers, answer = call(authorization)
        assert status == expected, (label, authorization and authorization[:12], answer)
        assert set(answer["error"]) == {"code", "message", "details"}
        assert answer["error"]["code"] == ("unauthorized" if expected == 401 else "forbidden")
        assert ("www-authenticate" in headers) == (expected == 401)
        assert snapshot(stack) == before, f"a refused {label} changed something"
    for role in ROLES[ROLES.index(needs) :]:
        status, _, answer = call(f"Bearer {callers[role]}")
        assert status not in (401, 403), (label, role, answer)
        assert status < 500, (label, role, answer)


# ---------------------------------------------------------------------------- client routes


@pytest.fixture
def other_app_key(stack: AwsStack) -> str:
    store = wiring.apps_store()
    apply_config(store, load_app_config({**GAME_CONFIG, "app_id": "other-game", "name": "Other"}))
    return create_key(store, "other-game").api_key


CLIENT_ROUTES = [
    ("GET", "/v1/events/active"),
    ("GET", "/v1/experiments/assignments?user_id=player-1"),
    ("GET", "/v1/content/manifest?client_version=1.0.0"),
    ("POST", "/v1/telemetry/batch"),
]


def test_client_routes_are_documented_here() -> None:
    documented = {
        f"{method.upper()} {path}"
        for path, operations in DOCUMENT["paths"].items()
        if path.startswith(("/v1/events", "/v1/experiments", "/v1/content", "/v1/telemetry"))
        for method in operations
    }
    assert documented == {f"{m} {p.split('?')[0]}" for m, p in CLIENT_ROUTES}


@pytest.mark.parametrize(("method", "path"), CLIENT_ROUTES, ids=[p for _, p in CLIENT_ROUTES])
def test_client_route_keys(method: str, path: str, stack: AwsStack, game: str, other_app_key: str) -> None:
    api = Api()
    body = (
        {
            "session_id": "s-1",
            "platform": "web",
            "user_id": "player-1",
            "events": [
                {
                    "event_id": "3f1c7a52-2b1d-4c35-9b8e-0d7c9a1b2c3d",
                    "event_type": "session_start",
                    "event_time": iso(NOW),
                    "payload": {},
                }
            ],
        }
        if method == "POST"
        else None
    )
    store = wiring.apps_store()
    revoked = create_key(store, APP)
    assert store.revoke_key(APP, revoked.key_id)
    wiring.app_directory.cache_clear()  # a new container: no cached key lookups

    status, _, answer = api.call(method, path, body, {"x-api-key": game})
    assert status in (200, 202) or answer["error"]["code"] == "no_content", answer
    for key in (None, "lo_nope_" + "x" * 40, revoked.api_key):
        before = snapshot(stack)
        status, _, answer = api.call(method, path, body, {"x-api-key": key} if key else {})
        assert status == 401, (path, key and key[:8], answer)
        assert answer["error"]["code"] == ("invalid_api_key" if key else "missing_api_key")
        assert snapshot(stack) == before
    # another app's key is valid, but for its own app: it never reads or writes test-game's data
    status, _, answer = api.call(method, path, body, {"x-api-key": other_app_key})
    assert status in (200, 202) or answer["error"]["code"] == "no_content", answer


def test_another_apps_key_never_sees_this_apps_live_events(
    stack: AwsStack, game: str, other_app_key: str
) -> None:
    api = Api()
    bearer = {"authorization": f"Bearer {create_token(wiring.tokens_store(), 'editor').token}"}
    status, _, answer = api.call("PUT", f"/v1/admin/apps/{APP}/events/only-here", LIVE_EVENT_NOW, bearer)
    assert status == 200, answer
    wiring.client_service.cache_clear()  # a new container: no cached live events

    mine = api.call("GET", "/v1/events/active", None, {"x-api-key": game})[2]
    theirs = api.call("GET", "/v1/events/active", None, {"x-api-key": other_app_key})[2]
    assert [e["id"] for e in mine["events"]] == ["only-here"], mine
    assert theirs["events"] == []


LIVE_EVENT_NOW = {
    "type": "event",
    "start_at": iso(NOW - timedelta(hours=1)),
    "end_at": iso(NOW + timedelta(hours=1)),
    "content_version": "*",
}


def test_another_apps_key_sends_telemetry_to_its_own_app_only(
    stack: AwsStack, game: str, other_app_key: str
) -> None:
    """A batch sent with other-game's key is other-game's: its queue message and its lake rows
    name other-game, never test-game (a body cannot name an app: extra fields are refused)."""
    api = Api()
    event_id = "5d0c1b7e-9a41-4f0e-8a43-1c2d3e4f5a6b"
    body = {
        "session_id": "s-1",
        "platform": "web",
        "user_id": "player-1",
        "events": [
            {"event_id": event_id, "event_type": "session_start", "event_time": iso(NOW), "payload": {}}
        ],
    }
    status, _, answer = api.call(
        "POST", "/v1/telemetry/batch", {**body, "app_id": APP}, {"x-api-key": other_app_key}
    )
    assert status == 400, answer  # naming another app in the body is refused, not obeyed
    status, _, answer = api.call("POST", "/v1/telemetry/batch", body, {"x-api-key": other_app_key})
    assert status == 202 and answer["accepted"] == 1, answer

    sqs, url = aws.client("sqs"), stack.env["EVENTS_QUEUE_URL"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["app_id"] for m in messages] == ["other-game"]
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {},
        }
        for m in messages
    ]
    assert api.functions["WriterFunction"].invoke({"Records": records})["batchItemFailures"] == []

    s3, bucket = aws.client("s3"), stack.env["LAKE_BUCKET"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="raw/").get("Contents", [])]
    assert keys and all(k.startswith("raw/events/app_id=other-game/") for k in keys), keys
    rows = [
        row
        for k in keys
        for row in pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).to_pylist()
    ]
    assert [r["event_id"] for r in rows] == [event_id]  # app_id is the partition (the key's app)
