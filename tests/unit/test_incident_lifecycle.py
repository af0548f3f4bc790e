"""Incident state changes, their statistics, and the Discord alert message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from liveops.discord.alert_message import parse_custom_id, render_alert_message, render_webhook_message
from liveops.discord.limits import message_problems
from liveops.domain import incident_lifecycle as lifecycle
from liveops.models.incidents import Incident, public_incident

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def incident(**changes: object) -> Incident:
    base: dict[str, object] = {
        "incident_id": "inc-20261130100000000-0123abcd",
        "app_id": "great-work",
        "threshold_id": "max-queue-depth",
        "scope": {"command": "expedition"},
        "metric": "queue_depth.max",
        "op": ">",
        "threshold_value": 25,
        "observed_value": 40,
        "severity": "critical",
        "summary": "max-queue-depth: queue_depth.max = 40 (> 25)",
        "suggested_actions": ["switch long-form cadence presets to flash"],
        "opened_at": T0,
        "updated_at": T0,
        "notify": ["discord"],
    }
    return Incident.model_validate({**base, **changes})


def test_acknowledge_records_who_when_and_time_to_acknowledge() -> None:
    acked = lifecycle.acknowledge(incident(), by="token:t1", at=T0 + timedelta(minutes=3), note="on it")
    assert acked is not None
    assert acked.status == "acknowledged"
    assert (acked.acknowledged_by, acked.acknowledged_at) == ("token:t1", T0 + timedelta(minutes=3))
    assert acked.time_to_acknowledge_seconds == 180
    assert acked.notes[-1].text == "on it" and acked.notes[-1].action == "acknowledge"
    assert acked.revision == 2 and acked.notification_pending


def test_acknowledge_is_idempotent() -> None:
    acked = lifecycle.acknowledge(incident(), by="token:t1", at=T0 + timedelta(minutes=1))
    assert acked is not None
    assert lifecycle.acknowledge(acked, by="token:t2", at=T0 + timedelta(minutes=2)) is None
    resolved = lifecycle.resolve(acked, by="token:t2", at=T0 + timedelta(minutes=9))
    assert resolved is not None
    assert lifecycle.acknowledge(resolved, by="token:t3", at=T0 + timedelta(minutes=10)) is None


def test_resolve_from_new_and_acknowledged() -> None:
    direct = lifecycle.resolve(incident(), by="discord:42", at=T0 + timedelta(hours=1))
    assert direct is not None and direct.status == "resolved"
    assert direct.time_to_resolve_seconds == 3600 and direct.time_to_acknowledge_seconds is None
    assert lifecycle.resolve(direct, by="discord:43", at=T0 + timedelta(hours=2)) is None


def test_a_replayed_interaction_changes_nothing() -> None:
    acked = lifecycle.acknowledge(incident(), by="discord:1", at=T0, interaction_id="i-1")
    assert acked is not None and acked.interaction_ids == ["i-1"]
    assert lifecycle.resolve(acked, by="discord:1", at=T0, interaction_id="i-1") is None
    assert lifecycle.resolve(acked, by="discord:1", at=T0, interaction_id="i-2") is not None


def test_observe_changes_only_a_new_value_of_an_open_incident() -> None:
    assert lifecycle.observe(incident(), 40, T0) is None
    changed = lifecycle.observe(incident(), 55, T0 + timedelta(minutes=5))
    assert changed is not None and changed.observed_value == 55 and changed.revision == 2
    resolved = lifecycle.resolve(incident(), by="x", at=T0)
    assert resolved is not None and lifecycle.observe(resolved, 60, T0) is None


def test_stats_counts_times_and_responders() -> None:
    a = lifecycle.acknowledge(incident(), by="discord:1", at=T0 + timedelta(seconds=60))
    assert a is not None
    a = lifecycle.resolve(a, by="discord:2", at=T0 + timedelta(seconds=600))
    b = lifecycle.acknowledge(incident(severity="warning"), by="discord:1", at=T0 + timedelta(seconds=180))
    c = lifecycle.resolve(incident(source="publish"), by="system:auto-resolve", at=T0 + timedelta(seconds=30))
    stats = lifecycle.stats([a, b, c, incident()])  # type: ignore[list-item]
    assert stats["total"] == 4
    assert stats["by_severity"] == {"warning": 1, "critical": 3}
    assert stats["by_status"] == {"new": 1, "acknowledged": 1, "resolved": 2}
    assert stats["by_source"] == {"publish": 1, "threshold": 3}
    assert stats["time_to_acknowledge_seconds"] == {"mean": 120.0, "median": 120.0}
    assert stats["time_to_resolve_seconds"] == {"mean": 315.0, "median": 315.0}
    assert stats["responders"] == [
        {"actor": "discord:1", "acknowledged": 2, "resolved": 0},
        {"actor": "discord:2", "acknowledged": 0, "resolved": 1},
    ]
    assert lifecycle.stats([])["time_to_resolve_seconds"] == {"mean": None, "median": None}


def buttons(message: dict) -> list[dict]:
    return [b for row in message.get("components", []) for b in row["components"]]


def test_the_alert_message_has_both_buttons_while_new() -> None:
    message = render_alert_message(incident())
    assert message_problems(message) == []
    assert message["allowed_mentions"] == {"parse": []}
    ids = [b["custom_id"] for b in buttons(message)]
    assert ids == [
        "ack:great-work:inc-20261130100000000-0123abcd",
        "resolve:great-work:inc-20261130100000000-0123abcd",
    ]
    assert parse_custom_id(ids[0]) == ("ack", "great-work", "inc-20261130100000000-0123abcd")
    assert parse_custom_id("next:3") is None
    text = str(message["embeds"])
    assert "queue_depth.max" in text and "switch long-form cadence presets to flash" in text
    assert "command=expedition" in text


def test_the_alert_message_follows_the_lifecycle() -> None:
    acked = lifecycle.acknowledge(incident(), by="discord:77", at=T0 + timedelta(minutes=2))
    assert acked is not None
    message = render_alert_message(acked)
    assert [b["label"] for b in buttons(message)] == ["Resolve"]
    assert "<@77>" in str(message["embeds"])  # shown as a mention, never pinging
    resolved = lifecycle.resolve(acked, by="token:t9", at=T0 + timedelta(minutes=9), note="fixed")
    assert resolved is not None
    final = render_alert_message(resolved)
    assert final["components"] == []  # an edit clears the buttons
    assert "fixed" in str(final["embeds"])


def test_huge_texts_stay_within_discord_limits() -> None:
    big = incident(
        summary="s" * 5000,
        suggested_actions=["a" * 900] * 30,
        scope={"command": "c" * 3000},
    )
    noted = lifecycle.resolve(big, by="x" * 300, at=T0, note="n" * 1000)
    assert noted is not None
    assert message_problems(render_alert_message(noted)) == []
    webhook = render_webhook_message(noted)
    assert message_problems(webhook) == [] and "components" not in webhook


def test_public_incident_hides_bookkeeping() -> None:
    shown = public_incident(incident(dedupe_key="T#x", interaction_ids=["i"]))
    assert "dedupe_key" not in shown and "interaction_ids" not in shown
    assert shown["opened_at"].startswith("2026-11-30T10:00:00")
