"""The alerts job, incidents and thresholds against moto and the fake Discord: one incident and
one message per breach, edits instead of duplicates, retried notifications, auto-resolve, the
admin routes (role matrix, idempotency, 400s) and the Lambda handler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from liveops import aws, wiring
from liveops.jobs.alerts import AlertsJob
from liveops.local.fake_discord import Call, FakeDiscord
from liveops.models.app_config import load_app_config
from liveops.rollups.schema import ROLLUP, TOTAL
from liveops.services.apps import apply_config
from liveops.services.tokens import create_token
from liveops.settings import get_settings
from liveops.storage.tokens_store import TokensStore
from tests.integration.conftest import AwsStack
from tests.integration.helpers import Api

APP = "alerting"
CHANNEL = "123456789012345678"
NOW = datetime(2026, 11, 30, 10, 20, tzinfo=UTC)
CURRENT, PREVIOUS = NOW.replace(minute=0), NOW.replace(minute=0) - timedelta(hours=1)
ROLES = ("viewer", "editor", "admin")


def app_config(webhook_url: str | None) -> dict[str, Any]:
    thresholds: list[dict[str, Any]] = [
        {
            "id": "max-digest-ms",
            "metric": "digest_ms.max",
            "op": ">",
            "value": 30000,
            "severity": "critical",
            "suggested_actions": ["check LLM latency"],
            "notify": ["discord", "webhook"] if webhook_url else ["discord"],
        },
        {"id": "min-digests", "metric": "digest_ms.count", "op": "<", "value": 1, "for_minutes": 360},
    ]
    discord: dict[str, Any] = {"alerts_channel_id": CHANNEL}
    if webhook_url:
        discord["webhook_url"] = webhook_url
    return {
        "app_id": APP,
        "name": "Alerting",
        "platforms": ["web", "android"],
        "events": {
            "digest": {"fields": {"ms": {"type": "number"}, "ok": {"type": "boolean"}}},
            "queue": {"fields": {"depth": {"type": "integer"}}},
        },
        "dimensions": ["platform"],
        "measures": {
            "digest_ms": {"event": "digest", "field": "ms", "aggs": ["count", "max", "p95"]},
            "queue_depth": {"event": "queue", "field": "depth", "aggs": ["max"]},
        },
        "kpis": {
            "ok_rate": {
                "numerator": {"event": "digest", "where": {"ok": True}},
                "denominator": {"event": "digest"},
            }
        },
        "thresholds": thresholds,
        "discord": discord,
    }


def alerts_job(now: datetime) -> AlertsJob:
    """The alerts job on the stack's stores, its clock stopped at `now`."""
    return AlertsJob(
        wiring.apps_store(),
        wiring.threshold_service(),
        wiring.incident_service(),
        wiring.incidents_store(),
        wiring.curated_lake(),
        wiring.job_state(),
        clock=lambda: now,
    )


@dataclass
class Env:
    stack: AwsStack
    fake: FakeDiscord
    api: Api
    tokens: dict[str, str]
    token_ids: dict[str, str]

    def call(self, method: str, path: str, role: str | None, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        status, _, out = self.api.call(method, path, body, headers)
        return status, out

    def alerts(self, now: datetime = NOW, **options: Any) -> dict[str, Any]:
        report = alerts_job(now).run(APP, options)
        assert report["apps"][APP]["status"] == "ok", report
        return report["apps"][APP]

    def channel_calls(self, method: str) -> list[Call]:
        return [c for c in self.fake.calls if c.method == method and f"/channels/{CHANNEL}/" in c.path]

    def webhook_posts(self) -> list[Call]:
        return [
            c for c in self.fake.calls if c.method == "POST" and "/webhooks/" in c.path and c.status == 200
        ]


@pytest.fixture
def env(stack: AwsStack, monkeypatch: pytest.MonkeyPatch, webhook: bool) -> Iterator[Env]:
    with FakeDiscord() as fake:
        aws.client("ssm").put_parameter(
            Name=stack.ctx.parameters["DiscordBotTokenParameterName"], Value="bot-token", Type="SecureString"
        )
        monkeypatch.setenv("DISCORD_API_BASE_URL", fake.url)
        get_settings.cache_clear()
        wiring.reset()
        real = wiring.discord_rest

        def no_waiting():  # type: ignore[no-untyped-def]
            rest = real()
            rest.sleep = lambda seconds: None  # retries and backoff without real waiting
            return rest

        no_waiting.cache_clear = real.cache_clear  # type: ignore[attr-defined]
        monkeypatch.setattr(wiring, "discord_rest", no_waiting)
        apply_config(
            wiring.apps_store(), load_app_config(app_config(fake.webhook_url() if webhook else None))
        )
        store = TokensStore(aws.client("dynamodb"), stack.env["APPS_TABLE"])
        created = {role: create_token(store, role) for role in ROLES}
        yield Env(
            stack,
            fake,
            Api(),
            {role: t.token for role, t in created.items()},
            {role: t.token_id for role, t in created.items()},
        )


@pytest.fixture
def webhook() -> bool:
    return False


def rollup_row(
    ts: datetime, name: str, n: int, top: float, dim: tuple[str, str] = (TOTAL, TOTAL)
) -> dict[str, Any]:
    return {
        "ts": ts,
        "kind": "measure",
        "name": name,
        "dim_name": dim[0],
        "dim_value": dim[1],
        "n": n,
        "num": top * n,
        "min": top,
        "max": top,
        "p50": top,
        "p95": top,
        "p99": top,
        "users": 1,
    }


def write_hourly(*rows: dict[str, Any]) -> None:
    """Replace the day's rollup_hourly partition (all test rows are on NOW's day)."""
    wiring.curated_lake().write(
        "rollup_hourly", APP, NOW.date(), pa.Table.from_pylist(list(rows), schema=ROLLUP)
    )


def digest(top: float, ts: datetime = CURRENT) -> list[dict[str, Any]]:
    """Digest rows: enough of them in the previous hour (min-digests stays quiet), the max in `ts`."""
    return [rollup_row(PREVIOUS, "digest_ms", 3, 100.0), rollup_row(ts, "digest_ms", 1, top)]


def only_incident(env: Env) -> dict[str, Any]:
    status, body = env.call("GET", f"/v1/admin/apps/{APP}/incidents", "viewer")
    assert status == 200
    (incident,) = body["incidents"]
    return incident


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["custom_id"] for row in message["components"] for b in row["components"]]


# ---------------------------------------------------------------------------- the job


def test_a_breach_opens_one_incident_and_posts_one_message_with_buttons(env: Env) -> None:
    write_hourly(*digest(45000))
    report = env.alerts()
    assert report["actions"] == {"fire": 1, "ok": 1}
    incident = only_incident(env)
    assert incident["status"] == "new" and incident["severity"] == "critical"
    assert incident["observed_value"] == 45000 and incident["threshold_value"] == 30000
    assert incident["suggested_actions"] == ["check LLM latency"]
    assert incident["notification_pending"] is False
    (post,) = env.channel_calls("POST")
    assert post.headers["authorization"] == "Bot bot-token"
    assert post.json["allowed_mentions"] == {"parse": []}
    message = env.fake.message(incident["discord_message_id"])
    assert message is not None
    iid = incident["incident_id"]
    assert buttons(message) == [f"ack:{APP}:{iid}", f"resolve:{APP}:{iid}"]
    assert incident["discord_channel_id"] == CHANNEL


def test_rerunning_never_duplicates_and_edits_when_the_value_changes(env: Env) -> None:
    write_hourly(*digest(45000))
    env.alerts()
    env.alerts(NOW + timedelta(minutes=5))
    assert env.alerts(NOW + timedelta(minutes=5))["actions"]["update"] == 1
    assert len(env.channel_calls("POST")) == 1
    assert env.channel_calls("PATCH") == []  # same value: nothing to edit
    write_hourly(*digest(52000))
    env.alerts(NOW + timedelta(minutes=10))
    incident = only_incident(env)
    assert incident["observed_value"] == 52000
    (edit,) = env.channel_calls("PATCH")
    assert edit.path.endswith(f"/messages/{incident['discord_message_id']}")
    assert "52,000" in str(env.fake.message(incident["discord_message_id"]))
    assert len(env.channel_calls("POST")) == 1
    # someone deletes the alert message: the next change cannot edit it, and a new one is posted
    with env.fake._lock:
        del env.fake._messages[incident["discord_message_id"]]
    write_hourly(*digest(60000))
    env.alerts(NOW + timedelta(minutes=15))
    assert only_incident(env)["discord_message_id"] is None
    env.alerts(NOW + timedelta(minutes=20))
    reposted = only_incident(env)
    assert reposted["discord_message_id"] not in (None, incident["discord_message_id"])
    assert not reposted["notification_pending"]
    assert "60,000" in str(env.fake.message(reposted["discord_message_id"]))


def test_auto_resolve_edits_the_message_and_a_new_breach_opens_a_new_incident(env: Env) -> None:
    write_hourly(*digest(45000))
    env.alerts()
    first = only_incident(env)
    write_hourly(*digest(1000))
    assert env.alerts(NOW + timedelta(minutes=5))["actions"]["resolve"] == 1
    resolved = only_incident(env)
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "system:auto-resolve"
    assert resolved["time_to_resolve_seconds"] is not None
    assert env.fake.message(first["discord_message_id"])["components"] == []  # type: ignore[index]
    write_hourly(*digest(47000))
    env.alerts(NOW + timedelta(minutes=10))
    _status, body = env.call("GET", f"/v1/admin/apps/{APP}/incidents", "viewer")
    assert [i["status"] for i in body["incidents"]] == ["new", "resolved"]
    assert body["incidents"][0]["incident_id"] != first["incident_id"]
    assert len(env.channel_calls("POST")) == 2


def test_for_minutes_across_runs(env: Env) -> None:
    # no digest at all in the previous hour: min-digests (count < 1 for 360 minutes) starts waiting
    write_hourly(rollup_row(CURRENT, "digest_ms", 1, 10.0))
    assert env.alerts()["actions"] == {"ok": 1, "wait": 1}
    assert env.alerts(NOW + timedelta(minutes=359))["actions"]["wait"] == 1
    assert env.alerts(NOW + timedelta(minutes=360))["actions"]["fire"] == 1
    assert only_incident(env)["threshold_id"] == "min-digests"


def test_a_failed_notification_is_kept_pending_and_delivered_once_by_the_next_run(env: Env) -> None:
    write_hourly(*digest(45000))
    env.fake.fail_next(4, status=503)  # the first try and every retry
    env.alerts()
    incident = only_incident(env)
    assert incident["notification_pending"] is True
    assert incident["discord_message_id"] is None
    assert "discord" in incident["notification_error"]
    assert env.fake.messages(CHANNEL) == []
    env.fake.fail_next(4, status=429, retry_after=0.01)  # rate limited on every retry as well
    assert env.alerts(NOW + timedelta(minutes=5))["notifications"] == {"delivered": 0, "still_pending": 1}
    assert "rate limited" in only_incident(env)["notification_error"].lower()
    report = env.alerts(NOW + timedelta(minutes=10))
    assert report["notifications"] == {"delivered": 1, "still_pending": 0}
    delivered = only_incident(env)
    assert delivered["notification_pending"] is False and delivered["notification_error"] is None
    assert len(env.fake.messages(CHANNEL)) == 1
    env.alerts(NOW + timedelta(minutes=15))
    assert len(env.fake.messages(CHANNEL)) == 1
    assert len([c for c in env.channel_calls("POST") if c.status == 200]) == 1


def test_a_rejected_message_is_retried_too(env: Env) -> None:
    write_hourly(*digest(45000))
    env.fake.fail_next(1, status=403, message="Missing Access")
    env.alerts()
    assert "Missing Access" in only_incident(env)["notification_error"]
    env.alerts(NOW + timedelta(minutes=5))
    assert only_incident(env)["notification_pending"] is False
    assert len(env.fake.messages(CHANNEL)) == 1


@pytest.mark.parametrize("webhook", [True])
def test_the_webhook_announces_each_status_once(env: Env) -> None:
    write_hourly(*digest(45000))
    env.alerts()
    env.alerts(NOW + timedelta(minutes=5))
    (post,) = env.webhook_posts()
    assert "authorization" not in post.headers and post.query.get("wait") == "true"
    assert "components" not in post.json and "max-digest-ms" in str(post.json["embeds"])
    write_hourly(*digest(1000))
    env.alerts(NOW + timedelta(minutes=10))
    assert len(env.webhook_posts()) == 2
    assert "Resolved" in str(env.webhook_posts()[-1].json["embeds"])


@pytest.mark.parametrize("webhook", [True])
def test_a_failed_webhook_does_not_repost_to_discord(env: Env) -> None:
    write_hourly(*digest(45000))
    env.fake.fail_next(1, status=400, message="webhook refused")  # the bot post comes first: it fails
    env.fake.clear_calls()
    env.alerts()
    assert only_incident(env)["notification_pending"] is True
    env.alerts(NOW + timedelta(minutes=5))
    assert only_incident(env)["notification_pending"] is False
    assert len(env.fake.messages(CHANNEL)) == 1 and len(env.webhook_posts()) == 1


def test_racing_runs_make_one_incident_and_one_message(env: Env) -> None:
    """The interleavings two overlapping runs can produce, played one after the other."""
    from liveops.domain.alerts import incident_dedupe_key
    from liveops.models.app_config import ThresholdSpec
    from liveops.services.incidents import IncidentService

    service = wiring.incident_service()
    threshold = ThresholdSpec(id="max-digest-ms", metric="digest_ms.max", op=">", value=1)
    key = incident_dedupe_key(threshold.id, {})
    first, new = service.open_threshold_incident(APP, threshold, key, 5, "s")
    second, again = service.open_threshold_incident(APP, threshold, key, 6, "s")  # the lock exists
    assert new and not again and second.incident_id == first.incident_id
    store = wiring.incidents_store()
    # another run holds the claim on the first post: this one posts nothing and stays pending
    stored = store.get(APP, first.incident_id)
    claimed = stored.incident.model_copy(
        update={"notify_claim_until": datetime.now(UTC) + timedelta(seconds=60)}
    )
    store.replace(claimed, stored.version)
    held = service.deliver(APP, first.incident_id)
    assert held.notification_pending and "another run" in (held.notification_error or "")
    assert env.fake.messages(CHANNEL) == []
    # that run died: once its claim expired, the next run posts
    later = IncidentService(
        store, wiring.apps_store(), wiring.discord_rest, lambda: datetime.now(UTC) + timedelta(minutes=5)
    )
    posted = later.deliver(APP, first.incident_id)
    assert posted.discord_message_id is not None and not posted.notification_pending
    # a run that read the incident before the post still sees pending: it must not post again
    stored = store.get(APP, first.incident_id)
    store.replace(stored.incident.model_copy(update={"notification_pending": True}), stored.version)
    assert not service.deliver(APP, first.incident_id).notification_pending
    assert len(env.fake.messages(CHANNEL)) == 1
    assert env.channel_calls("PATCH") == []


def test_dry_run_changes_nothing(env: Env) -> None:
    write_hourly(*digest(45000))
    assert env.alerts(dry_run=True)["actions"] == {"fire": 1, "ok": 1}
    _status, body = env.call("GET", f"/v1/admin/apps/{APP}/incidents", "viewer")
    assert body["incidents"] == [] and env.fake.calls == []


def test_the_lambda_handler_runs_the_job(env: Env) -> None:
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    rows = [
        rollup_row(hour - timedelta(hours=1), "digest_ms", 3, 45000.0),
        rollup_row(hour, "digest_ms", 1, 45000.0),
    ]
    for day in sorted({hour.date(), (hour - timedelta(hours=1)).date()}):
        table = pa.Table.from_pylist([r for r in rows if r["ts"].date() == day], schema=ROLLUP)
        wiring.curated_lake().write("rollup_hourly", APP, day, table)
    report = env.stack.function("AlertsFunction").invoke({"job": "alerts", "app_id": APP})
    assert report["apps"][APP]["actions"]["fire"] == 1
    assert len(env.fake.messages(CHANNEL)) == 1


def test_job_incidents_are_opened_once_and_notified(env: Env) -> None:
    service = wiring.incident_service()
    first = service.open_job_incident(APP, "publish", "publish failed: S3 access denied")
    second = service.open_job_incident(APP, "publish", "publish failed again")
    assert second.incident_id == first.incident_id and second.summary == "publish failed again"
    assert first.source == "publish" and first.threshold_id is None
    assert len(env.fake.messages(CHANNEL)) == 1
    assert len(env.channel_calls("PATCH")) == 1  # the new summary edited the message
    resolved = service.resolve(APP, first.incident_id, by="token:x")
    third = service.open_job_incident(APP, "publish", "publish failed once more")
    assert third.incident_id != resolved.incident_id


def test_stats_and_prune(env: Env) -> None:
    write_hourly(*digest(45000))
    env.alerts()
    incident = only_incident(env)
    service = wiring.incident_service()
    service.acknowledge(APP, incident["incident_id"], by="discord:42")
    service.resolve(APP, incident["incident_id"], by="discord:43")
    day = datetime.now(UTC) - timedelta(days=1)
    stats = service.stats(APP, day, day + timedelta(days=2))
    assert stats["total"] == 1 and stats["by_status"]["resolved"] == 1
    assert [r["actor"] for r in stats["responders"]] == ["discord:42", "discord:43"]
    assert stats["time_to_resolve_seconds"]["mean"] is not None
    assert service.stats(APP, day - timedelta(days=5), day)["total"] == 0
    future = datetime.now(UTC) + timedelta(days=1)
    count, size = service.prune(APP, future, dry_run=True)
    assert count == 1 and size > 0
    assert service.prune(APP, datetime.now(UTC) - timedelta(days=1), dry_run=False) == (0, 0)
    start, end = (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    status, overview = env.call("GET", f"/v1/metrics/overview?app={APP}&from={start}&to={end}", "viewer")
    assert status == 200
    assert [i["incident_id"] for i in overview["latest_incidents"]] == [incident["incident_id"]]
    assert overview["latest_incidents"][0]["status"] == "resolved"
    assert service.prune(APP, future, dry_run=False)[0] == 1
    assert service.list(APP) == []


# ---------------------------------------------------------------------------- incidents admin


def test_acknowledge_and_resolve_role_matrix_and_idempotency(env: Env) -> None:
    write_hourly(*digest(45000))
    env.alerts()
    incident = only_incident(env)
    base = f"/v1/admin/apps/{APP}/incidents/{incident['incident_id']}"
    assert env.call("POST", f"{base}/acknowledge", None, {})[0] == 401
    assert env.call("POST", f"{base}/acknowledge", "viewer", {})[0] == 403
    assert only_incident(env)["status"] == "new"
    status, acked = env.call("POST", f"{base}/acknowledge", "editor", {"note": "looking"})
    assert status == 200 and acked["status"] == "acknowledged"
    assert acked["acknowledged_by"] == f"token:{env.token_ids['editor']}"
    assert acked["time_to_acknowledge_seconds"] is not None
    assert acked["notes"][0]["text"] == "looking"
    message = env.fake.message(incident["discord_message_id"])
    assert message is not None and [b.split(":")[0] for b in buttons(message)] == ["resolve"]
    status, again = env.call("POST", f"{base}/acknowledge", "admin", {})
    assert status == 200 and again["acknowledged_by"] == acked["acknowledged_by"]
    assert again["acknowledged_at"] == acked["acknowledged_at"]
    assert env.call("POST", f"{base}/resolve", "viewer")[0] == 403
    status, resolved = env.call("POST", f"{base}/resolve", "admin")  # no body at all
    assert status == 200 and resolved["status"] == "resolved"
    assert resolved["resolved_by"] == f"token:{env.token_ids['admin']}"
    assert env.fake.message(incident["discord_message_id"])["components"] == []  # type: ignore[index]
    edits = len(env.channel_calls("PATCH"))
    for action in ("resolve", "acknowledge"):
        status, same = env.call("POST", f"{base}/{action}", "editor", {"note": "again"})
        assert (
            status == 200 and same["status"] == "resolved" and same["resolved_at"] == resolved["resolved_at"]
        )
        assert len(same["notes"]) == 1
    assert len(env.channel_calls("PATCH")) == edits


def test_incident_routes_refuse_bad_input(env: Env) -> None:
    write_hourly(*digest(45000))
    env.alerts()
    incident = only_incident(env)
    base = f"/v1/admin/apps/{APP}/incidents"
    unknown = "inc-20200101000000000-00000000"
    status, body = env.call("POST", f"{base}/{unknown}/acknowledge", "editor", {})
    assert status == 404 and body["error"]["code"] == "unknown_incident"
    assert env.call("POST", f"{base}/not-an-id/acknowledge", "editor", {})[0] == 400
    assert env.call("POST", f"{base}/{incident['incident_id']}/acknowledge", "editor", {"nope": 1})[0] == 400
    assert (
        env.call("POST", f"{base}/{incident['incident_id']}/acknowledge", "editor", {"note": "x" * 1001})[0]
        == 400
    )
    assert env.call("GET", f"{base}?status=bogus", "viewer")[0] == 400
    assert env.call("GET", "/v1/admin/apps/no-such-app/incidents", "viewer")[0] == 404
    assert env.call("GET", base, None)[0] == 401
    assert only_incident(env)["status"] == "new"  # nothing changed
    status, body = env.call("GET", f"{base}?status=resolved", "viewer")
    assert status == 200 and body["incidents"] == []
    status, body = env.call("GET", f"{base}?status=new&limit=1", "viewer")
    assert [i["incident_id"] for i in body["incidents"]] == [incident["incident_id"]]
    status, one = env.call("GET", f"{base}/{incident['incident_id']}", "viewer")
    assert status == 200 and one == incident


# ---------------------------------------------------------------------------- thresholds admin


def test_threshold_crud_and_precedence(env: Env) -> None:
    base = f"/v1/admin/apps/{APP}/thresholds"
    status, listed = env.call("GET", base, "editor")
    assert status == 200
    assert [(t["id"], t["source"]) for t in listed["thresholds"]] == [
        ("max-digest-ms", "config"),
        ("min-digests", "config"),
    ]
    deep = {
        "metric": "queue_depth.max",
        "op": ">=",
        "value": 25,
        "for_minutes": 0,
        "where": {"platform": "web"},
    }
    status, stored = env.call("PUT", f"{base}/max-queue-depth", "editor", deep)
    assert status == 200 and stored["source"] == "api" and stored["overrides_config"] is False
    assert stored["notify"] == ["discord"] and stored["auto_resolve"] is True
    status, override = env.call(
        "PUT",
        f"{base}/min-digests",
        "editor",
        {"metric": "digest_ms.count", "op": "<", "value": 1, "enabled": False},
    )
    assert status == 200 and override["overrides_config"] is True
    status, listed = env.call("GET", base, "editor")
    assert [(t["id"], t["source"], t["enabled"]) for t in listed["thresholds"]] == [
        ("max-digest-ms", "config", True),
        ("min-digests", "api", False),
        ("max-queue-depth", "api", True),
    ]
    status, one = env.call("GET", f"{base}/max-queue-depth", "editor")
    assert status == 200 and one["where"] == {"platform": "web"}
    # the job evaluates the effective set: min-digests is switched off, max-queue-depth added
    write_hourly(rollup_row(CURRENT, "queue_depth", 2, 30.0, ("platform", "web")))
    report = env.alerts()
    assert {e["threshold_id"] for e in report["evaluations"]} == {"max-digest-ms", "max-queue-depth"}
    assert only_incident(env)["scope"] == {"platform": "web"}
    status, deleted = env.call("DELETE", f"{base}/min-digests", "editor")
    assert status == 200 and deleted["effective"]["source"] == "config"  # the default is back
    status, deleted = env.call("DELETE", f"{base}/max-queue-depth", "editor")
    assert status == 200 and deleted["effective"] is None
    assert env.call("GET", f"{base}/max-queue-depth", "editor")[0] == 404


BAD_THRESHOLDS: list[tuple[Any, str]] = [
    ({"metric": "nope.max", "op": ">", "value": 1}, "unknown_metric"),
    ({"metric": "digest_ms.avg", "op": ">", "value": 1}, "unknown_metric"),  # not an agg of digest_ms
    ({"metric": "digest_ms.max", "op": ">", "value": 1, "where": {"region": "eu"}}, "unknown_dimension"),
    (
        {"metric": "digest_ms.max", "op": ">", "value": 1, "where": {"platform": "web", "region": "eu"}},
        "unknown_dimension",
    ),
    ({"metric": "digest_ms.max", "op": "~", "value": 1}, "invalid_threshold"),
    ({"metric": "digest_ms.max", "op": ">", "value": "high"}, "invalid_threshold"),
    ({"metric": "digest_ms.max", "op": ">", "value": 1, "severity": "meh"}, "invalid_threshold"),
    ({"metric": "digest_ms.max", "op": ">", "value": 1, "for_minutes": -5}, "invalid_threshold"),
    ({"metric": "digest_ms.max", "op": ">", "value": 1, "notify": ["webhook"]}, "invalid_threshold"),
    ({"metric": "digest_ms.max", "op": ">", "value": 1, "extra": True}, "invalid_threshold"),
    ({"id": "other", "metric": "digest_ms.max", "op": ">", "value": 1}, "threshold_id_mismatch"),
    ([1, 2], "invalid_threshold"),
]


def test_bad_thresholds_are_refused_and_nothing_changes(env: Env) -> None:
    for body, code in BAD_THRESHOLDS:
        status, out = env.call("PUT", f"/v1/admin/apps/{APP}/thresholds/new-one", "editor", body)
        assert status == 400, (body, out)
        assert out["error"]["code"] in (code, "invalid_request"), (body, out)
        if isinstance(body, dict):
            assert out["error"]["code"] == code, (body, out)
            assert out["error"]["details"] or code == "threshold_id_mismatch", (body, out)
    assert env.call("GET", f"/v1/admin/apps/{APP}/thresholds/new-one", "editor")[0] == 404
    status, listed = env.call("GET", f"/v1/admin/apps/{APP}/thresholds", "editor")
    assert [t["id"] for t in listed["thresholds"]] == ["max-digest-ms", "min-digests"]


def test_threshold_routes_roles_and_missing_things(env: Env) -> None:
    base = f"/v1/admin/apps/{APP}/thresholds"
    body = {"metric": "digest_ms.max", "op": ">", "value": 1}
    assert env.call("PUT", f"{base}/x-1", None, body)[0] == 401
    assert env.call("PUT", f"{base}/x-1", "viewer", body)[0] == 403
    assert env.call("DELETE", f"{base}/x-1", "viewer")[0] == 403
    assert env.call("GET", base, None)[0] == 401
    assert env.call("PUT", f"{base}/Bad_Id", "editor", body)[0] == 400
    assert env.call("PUT", "/v1/admin/apps/no-such-app/thresholds/x-1", "editor", body)[0] == 404
    status, out = env.call("DELETE", f"{base}/max-digest-ms", "editor")
    assert status == 409 and out["error"]["code"] == "threshold_from_config"
    status, out = env.call("DELETE", f"{base}/x-1", "editor")
    assert status == 404 and out["error"]["code"] == "unknown_threshold"
    assert env.call("PUT", f"{base}/x-1", "admin", body)[0] == 200


# ---------------------------------------------------------------------------- CLI


def cli(*argv: str) -> int:
    from liveops.cli.main import build_parser

    args = build_parser().parse_args(list(argv))
    return int(args.run(args))


def test_thresholds_cli(env: Env, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("thresholds", "list", "--app", APP) == 0
    assert "max-digest-ms\tdigest_ms.max > 30000" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- {id: queue-a, metric: queue_depth.max, op: '>', value: 25}\n"
        "- {id: queue-b, metric: queue_depth.p99, op: '>', value: 25}\n"
    )
    assert cli("thresholds", "put", "--app", APP, "-f", str(bad)) == 1
    err = capsys.readouterr().err
    assert "unknown metric 'queue_depth.p99'" in err and "nothing was stored" in err
    good = tmp_path / "good.yaml"
    good.write_text("id: queue-a\nmetric: queue_depth.max\nop: '>'\nvalue: 25\nwhere: {platform: web}\n")
    assert cli("thresholds", "put", "--app", APP, "-f", str(good), "--json") == 0
    assert '"source": "api"' in capsys.readouterr().out
    assert cli("thresholds", "list", "--app", APP, "--json") == 0
    assert [t["id"] for t in json.loads(capsys.readouterr().out)["thresholds"]] == [
        "max-digest-ms",
        "min-digests",
        "queue-a",
    ]
    assert cli("thresholds", "delete", "--app", APP, "queue-a") == 0
    assert cli("thresholds", "delete", "--app", APP, "queue-a") == 1
    assert "no threshold 'queue-a'" in capsys.readouterr().err
    assert cli("thresholds", "delete", "--app", APP, "max-digest-ms") == 1
    assert cli("thresholds", "list", "--app", "no-such-app") == 1
    assert cli("thresholds", "put", "--app", APP, "-f", str(tmp_path / "missing.yaml")) == 1
