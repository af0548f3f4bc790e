"""The slash command definitions, the front's deferrals and the worker's messages: every message
within Discord's limits, whatever the report holds (property tests)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from liveops.discord.commands import (
    COMMANDS,
    PAGE_PREFIX,
    REPORT_SECTIONS,
    front_handlers,
    options,
    page_custom_id,
    parse_page_custom_id,
)
from liveops.discord.interactions import InteractionsFront
from liveops.discord.limits import CUSTOM_ID_MAX, message_problems
from liveops.discord.report_messages import (
    experiment_message,
    incidents_message,
    notice,
    report_page,
    report_pages,
)
from liveops.models.incidents import Incident

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def test_command_definitions_are_typed_and_valid() -> None:
    names = [c["name"] for c in COMMANDS]
    assert names == ["telemetry_report", "weekly_report", "incidents", "experiment"]
    for command in COMMANDS:
        assert command["type"] == 1 and 1 <= len(command["description"]) <= 100
        for option in command.get("options", []):
            assert option["type"] in (3, 4) and 1 <= len(option["description"]) <= 100
            assert option["name"].islower() and len(option["name"]) <= 32
        required = [o["required"] for o in command.get("options", [])]
        assert required == sorted(required, reverse=True)  # Discord: required options first
    report = COMMANDS[0]["options"]
    assert [c["value"] for c in report[1]["choices"]] == list(REPORT_SECTIONS)


def test_commands_are_offered_in_servers_only() -> None:
    # Discord's interaction context types: GUILD 0, BOT_DM 1, PRIVATE_CHANNEL 2; without `contexts`
    # a command also shows in the bot's DMs, where no app is linked
    assert [c["contexts"] for c in json.loads(json.dumps(COMMANDS))] == [[0]] * len(COMMANDS)


def test_page_custom_ids_round_trip_and_fit() -> None:
    longest = page_custom_id("a" * 40, "incidents", 9999)
    assert len(longest) <= CUSTOM_ID_MAX
    assert parse_page_custom_id(page_custom_id("ash-bot", "kpis", 3)) == ("ash-bot", "kpis", 3)
    assert parse_page_custom_id(page_custom_id("ash-bot", "all", 0)) == ("ash-bot", "all", 0)
    for bad in ("rpt:a:kpis", "rpt::kpis:1", "rpt:a:nope:1", "rpt:a:kpis:-1", "rpt:a:kpis:\u0661", "ack:a:b"):
        assert parse_page_custom_id(bad) is None, bad


def test_options_by_name() -> None:
    interaction = {"data": {"options": [{"name": "app", "value": "x"}, {"name": "id", "value": "e"}, "junk"]}}
    assert options(interaction) == {"app": "x", "id": "e"}
    assert options({}) == {} and options({"data": {"options": "nope"}}) == {}


# --------------------------------------------------------------------------- the front


def _front(deferred: list[dict[str, Any]], fail: bool = False) -> tuple[InteractionsFront, SigningKey]:
    key = SigningKey.generate()

    def defer(interaction: dict[str, Any]) -> None:
        if fail:
            raise RuntimeError("Lambda unreachable")
        deferred.append(interaction)

    commands, components = front_handlers(defer)
    public = key.verify_key.encode().hex()
    return InteractionsFront(lambda: public, commands=commands, components=components), key


def _event(key: SigningKey, interaction: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(interaction).encode()
    stamp = str(int(time.time()))
    return {
        "headers": {
            "x-signature-ed25519": key.sign(stamp.encode() + body).signature.hex(),
            "x-signature-timestamp": stamp,
        },
        "body": body.decode(),
        "requestContext": {"http": {"method": "POST"}},
    }


def test_commands_are_deferred_and_handed_to_the_worker() -> None:
    deferred: list[dict[str, Any]] = []
    front, key = _front(deferred)
    for name, ephemeral in (("telemetry_report", False), ("weekly_report", False), ("incidents", True)):
        interaction = {"type": 2, "id": name, "data": {"name": name}, "token": "t", "application_id": "1"}
        answer = json.loads(front(_event(key, interaction))["body"])
        assert answer["type"] == 5
        assert answer.get("data", {}).get("flags") == (64 if ephemeral else None)
        assert deferred[-1] == interaction
    assert len(deferred) == 3


def test_buttons_are_deferred_updates() -> None:
    deferred: list[dict[str, Any]] = []
    front, key = _front(deferred)
    for custom_id in ("ack:ash-bot:inc-1", "resolve:ash-bot:inc-1", f"{PAGE_PREFIX}:ash-bot:kpis:2"):
        interaction = {"type": 3, "id": custom_id, "data": {"custom_id": custom_id, "component_type": 2}}
        assert json.loads(front(_event(key, interaction))["body"]) == {"type": 6}
    assert [d["id"] for d in deferred] == ["ack:ash-bot:inc-1", "resolve:ash-bot:inc-1", "rpt:ash-bot:kpis:2"]
    # a button liveops never made is not deferred
    other = {"type": 3, "id": "x", "data": {"custom_id": "other:1", "component_type": 2}}
    assert json.loads(front(_event(key, other))["body"])["type"] == 4
    assert len(deferred) == 3


def test_a_failed_handoff_answers_try_again() -> None:
    front, key = _front([], fail=True)
    interaction = {"type": 2, "id": "1", "data": {"name": "incidents"}}
    answer = json.loads(front(_event(key, interaction))["body"])
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    assert "try again" in answer["data"]["content"]


# --------------------------------------------------------------------------- the messages (limits)

text = st.text(min_size=0, max_size=3000)
short = st.text(min_size=1, max_size=300)


def _incident(i: int, summary: str, status: str = "new") -> Incident:
    return Incident(
        incident_id=f"inc-20261130120000-{i:08x}",
        app_id="a" * 40,
        severity="critical" if i % 2 else "warning",
        status=status,  # type: ignore[arg-type]
        summary=summary,
        opened_at=NOW - timedelta(minutes=i),
        updated_at=NOW,
        acknowledged_by="discord:123456789" if status == "acknowledged" else None,
    )


@settings(max_examples=40, deadline=None)
@given(
    names=st.lists(short, min_size=0, max_size=80),
    values=st.lists(text, min_size=0, max_size=80),
    section=st.sampled_from(["all", *REPORT_SECTIONS]),
    summaries=st.lists(text, min_size=0, max_size=30),
    page=st.integers(min_value=-3, max_value=200),
)
def test_every_report_page_is_within_discord_limits(
    names: list[str], values: list[str], section: str, summaries: list[str], page: int
) -> None:
    rows = [
        {"name": n, "n": i, "avg": 1.5 * i, "min": 0, "max": i, "p50": None, "p95": 2.0}
        for i, n in enumerate(names)
    ]
    figures = {
        "from": NOW - timedelta(days=7),
        "to": NOW,
        "overview": {
            "totals": {"events": 10**12, "users_lower_bound": 10**6},
            "events_by_type": [{"event_type": n, "count": i} for i, n in enumerate(names)],
        },
        "kpis": [{"kpi": n, "numerator": 1, "denominator": 3, "value": 1 / 3, "dims": {}} for n in names],
        "measures": rows,
        "spans": rows,
        "incidents": {
            "open": [_incident(i, s) for i, s in enumerate(summaries)],
            "open_count": len(summaries),
            "stats": {"total": 5, "by_severity": {"warning": 2, "critical": 3}},
        },
    }
    if values:
        figures["kpis"].append({"kpi": values[0], "numerator": 0, "denominator": 0, "value": None})
    pages = report_pages("App " + "x" * 300, section, figures)
    assert pages
    for number in range(len(pages)):
        payload = report_page("a" * 40, section, pages, number)
        assert message_problems(payload) == [], message_problems(payload)
        assert payload["allowed_mentions"] == {"parse": []}
        ids = [b["custom_id"] for row in payload["components"] for b in row["components"]]
        if len(pages) > 1:
            assert [parse_page_custom_id(i) for i in ids] == [
                ("a" * 40, section, max(number - 1, 0)),
                ("a" * 40, section, min(number + 1, len(pages) - 1)),
            ]
        else:
            assert ids == []
    clamped = report_page("app", section, pages, page)
    assert message_problems(clamped) == []


@settings(max_examples=30, deadline=None)
@given(summaries=st.lists(text, min_size=0, max_size=40), name=text)
def test_the_incidents_list_is_within_discord_limits(summaries: list[str], name: str) -> None:
    incidents = [_incident(i, s, "acknowledged" if i % 3 == 0 else "new") for i, s in enumerate(summaries)]
    payload = incidents_message(name or "app", incidents)
    assert message_problems(payload) == []
    assert payload["allowed_mentions"] == {"parse": []}
    buttons = [b["custom_id"] for row in payload["components"] for b in row["components"]]
    shown = incidents[:12]
    expected = []
    for incident in shown:
        if incident.status == "new":
            expected.append(f"ack:{incident.app_id}:{incident.incident_id}")
        expected.append(f"resolve:{incident.app_id}:{incident.incident_id}")
    assert buttons == expected


@settings(max_examples=30, deadline=None)
@given(
    metrics=st.lists(short, min_size=0, max_size=40),
    variants=st.lists(short, min_size=1, max_size=8, unique=True),
)
def test_experiment_readouts_are_within_discord_limits(metrics: list[str], variants: list[str]) -> None:
    rows = [
        {
            "variant_id": v,
            "is_control": i == 0,
            "mean": 0.5,
            "relative_lift": 0.1,
            "relative_lift_ci_low": -0.2,
            "relative_lift_ci_high": 0.3,
            "p_adjusted": 0.04,
            "significant": True,
            "gated": False,
        }
        for i, v in enumerate(variants)
    ]
    result = {
        "experiment": "e" * 128,
        "name": "n" * 500,
        "status": "running",
        "from": NOW - timedelta(days=30),
        "to": NOW,
        "suppressed": 1,
        "readout": {
            "confidence_level": 0.95,
            "variants": [
                {"variant_id": v, "is_control": i == 0, "exposures": 100} for i, v in enumerate(variants)
            ],
            "srm": {"srm_warning": False, "p_value": 0.5},
            "metrics": [{"metric": m, "kind": "mean", "variants": rows} for m in metrics],
        },
    }
    payload = experiment_message("app", result)
    assert message_problems(payload) == []
    assert payload["allowed_mentions"] == {"parse": []}


def test_notices_fit() -> None:
    payload = notice("x" * 5000)
    assert message_problems(payload) == [] and payload["components"] == [] and payload["embeds"] == []
