"""The Discord loop in-process against moto and a FakeDiscord: the front defers (type 5 / 6) and
hands the interaction to discord-worker through the local async invoker; the worker acts and
edits the original response. Incident buttons: role check, one transition per interaction id,
the alert message edited; commands: reports; failures: the original response says so."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nacl.signing import SigningKey

from liveops import aws, wiring
from liveops.local.fake_discord import FakeDiscord
from liveops.local.runtime import AsyncInvoker
from liveops.models.app_config import load_app_config
from liveops.services.apps import apply_config
from liveops.settings import get_settings
from tests.integration.conftest import GAME_CONFIG, AwsStack
from tests.integration.helpers import Api

APP = "test-game"
GUILD = "111111111111111111"
ALERTS = "222222222222222222"
REPORTS = "333333333333333333"
RESPONDER = "444444444444444444"
APPLICATION = "555555555555555555"
DISCORD = {
    "guild_id": GUILD,
    "alerts_channel_id": ALERTS,
    "report_channel_id": REPORTS,
    "responder_role_ids": [RESPONDER],
    "weekly_report": {"day": "monday", "hour": 9},
}


@dataclass
class Loop:
    api: Api
    fake: FakeDiscord
    invoker: AsyncInvoker
    key: SigningKey
    sequence: int = 0

    def post(self, interaction: dict[str, Any]) -> tuple[int, Any]:
        body = json.dumps(interaction).encode()
        stamp = str(int(time.time()))
        headers = {
            "X-Signature-Ed25519": self.key.sign(stamp.encode() + body).signature.hex(),
            "X-Signature-Timestamp": stamp,
            "Content-Type": "application/json",
        }
        status, _, out = self.api.call("POST", "/discord/interactions", raw=body, headers=headers)
        assert self.invoker.wait(60)
        return status, out

    def interaction(
        self, kind: int, data: dict[str, Any], *, roles: list[str] | None = None, **extra: Any
    ) -> dict[str, Any]:
        self.sequence += 1
        return {
            "type": kind,
            "id": f"90000000000000{self.sequence:04d}",
            "application_id": APPLICATION,
            "token": f"token-{self.sequence}",
            "version": 1,
            "guild_id": GUILD,
            "member": {"user": {"id": "777777777777777777", "username": "zoë"}, "roles": roles or []},
            "data": data,
            **extra,
        }

    def original(self, interaction: dict[str, Any]) -> list[Any]:
        """Every PATCH of the interaction's original response, in order."""
        path = f"/api/v10/webhooks/{APPLICATION}/{interaction['token']}/messages/@original"
        return [c.json for c in self.fake.calls if c.method == "PATCH" and c.path == path]


@pytest.fixture
def loop(stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Loop]:
    fake = FakeDiscord().start()
    key = SigningKey.generate()
    ssm = aws.client("ssm")
    ssm.put_parameter(
        Name=stack.ctx.parameters["DiscordPublicKeyParameterName"],
        Value=key.verify_key.encode().hex(),
        Type="String",
    )
    ssm.put_parameter(
        Name=stack.ctx.parameters["DiscordBotTokenParameterName"], Value="test-bot-token", Type="SecureString"
    )
    monkeypatch.setenv("DISCORD_API_BASE_URL", fake.url)
    get_settings.cache_clear()
    wiring.reset()
    config = json.loads(json.dumps(GAME_CONFIG))
    config["discord"] = DISCORD
    config["experiments"] = {"metrics": ["run_end_score.avg"], "min_sample_per_variant": 1}
    config["measures"] = {"run_end_score": {"event": "run_end", "field": "score", "aggs": ["count", "avg"]}}
    apply_config(wiring.apps_store(), load_app_config(config))
    api = Api()
    invoker = AsyncInvoker(api.functions, stack.ctx.refs)
    monkeypatch.setattr(wiring, "local_async_invoke", invoker)
    try:
        yield Loop(api, fake, invoker, key)
    finally:
        fake.stop()


def _alert(loop: Loop) -> Any:
    incident = wiring.incident_service().open_job_incident(APP, "publish", "publish failed: site bucket")
    assert incident.discord_message_id is not None
    return incident


def _press(
    loop: Loop, action: str, incident: Any, roles: list[str], *, message_id: str | None = None
) -> dict[str, Any]:
    message = message_id or incident.discord_message_id
    interaction = loop.interaction(
        3,
        {"custom_id": f"{action}:{APP}:{incident.incident_id}", "component_type": 2},
        roles=roles,
        message={"id": message, "channel_id": ALERTS},
    )
    loop.fake.bind_original(APPLICATION, interaction["token"], message)
    return interaction


def test_acknowledge_button_acknowledges_once_and_edits_the_alert_message(loop: Loop) -> None:
    incident = _alert(loop)
    press = _press(loop, "ack", incident, [RESPONDER, "1234567"])
    assert loop.post(press) == (200, {"type": 6})
    stored = wiring.incident_service().get(APP, incident.incident_id)
    assert stored.status == "acknowledged" and stored.acknowledged_by == "discord:777777777777777777"
    message = loop.fake.message(incident.discord_message_id)
    assert message is not None
    fields = {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}
    assert "Acknowledged" in fields["Status"] and "<@777777777777777777>" in fields["Acknowledged"]
    ids = [b["custom_id"] for row in message["components"] for b in row["components"]]
    assert ids == [f"resolve:{APP}:{incident.incident_id}"]
    # the interaction response redrew the alert message: the service records the revision it
    # shows, so neither the press nor the next alerts run edits the message a second time
    assert stored.discord_revision == stored.revision and not stored.notification_pending
    channel_edits = f"/api/v10/channels/{ALERTS}/messages/{incident.discord_message_id}"
    assert not [c for c in loop.fake.calls if c.method == "PATCH" and c.path == channel_edits]
    assert wiring.incident_service().deliver_pending(APP) == {"delivered": 0, "still_pending": 0}
    assert not [c for c in loop.fake.calls if c.method == "PATCH" and c.path == channel_edits]
    # the same interaction delivered twice (Discord or Lambda retries): one transition only
    acknowledged_at = stored.acknowledged_at
    assert loop.post(press) == (200, {"type": 6})
    again = wiring.incident_service().get(APP, incident.incident_id)
    assert again.acknowledged_at == acknowledged_at and again.revision == stored.revision
    # resolve from the same message
    resolve = _press(loop, "resolve", incident, [RESPONDER])
    assert loop.post(resolve) == (200, {"type": 6})
    resolved = wiring.incident_service().get(APP, incident.incident_id)
    assert resolved.status == "resolved" and resolved.time_to_resolve_seconds is not None
    final = loop.fake.message(incident.discord_message_id)
    assert final is not None and final["components"] == []


def test_a_member_without_a_responder_role_is_refused(loop: Loop) -> None:
    incident = _alert(loop)
    before = loop.fake.message(incident.discord_message_id)
    press = _press(loop, "resolve", incident, ["999999"])
    assert loop.post(press) == (200, {"type": 6})
    assert wiring.incident_service().get(APP, incident.incident_id).status == "new"
    after = loop.fake.message(incident.discord_message_id)
    assert after is not None and before is not None
    assert after["embeds"] == before["embeds"] and after["components"] == before["components"]
    followups = [
        c.json
        for c in loop.fake.calls
        if c.method == "POST" and c.path == f"/api/v10/webhooks/{APPLICATION}/{press['token']}"
    ]
    assert len(followups) == 1 and followups[0]["flags"] == 64
    assert "responder role" in followups[0]["content"]


def test_incidents_command_lists_open_incidents_and_its_buttons_act(loop: Loop) -> None:
    incident = _alert(loop)
    command = loop.interaction(2, {"name": "incidents"})
    assert loop.post(command)[0] == 200
    (listing,) = loop.original(command)
    ids = [b["custom_id"] for row in listing["components"] for b in row["components"]]
    assert ids == [f"ack:{APP}:{incident.incident_id}", f"resolve:{APP}:{incident.incident_id}"]
    assert listing["allowed_mentions"] == {"parse": []}
    # pressing Ack on the list redraws the list and edits the alert message through the service
    listing_id = loop.fake.messages(f"interaction-{APPLICATION}")[0]["id"]
    press = _press(loop, "ack", incident, [RESPONDER], message_id=listing_id)
    assert loop.post(press)[0] == 200
    (redrawn,) = loop.original(press)
    assert [b["custom_id"] for row in redrawn["components"] for b in row["components"]] == [
        f"resolve:{APP}:{incident.incident_id}"
    ]
    alert = loop.fake.message(incident.discord_message_id)
    assert alert is not None and "Acknowledged" in alert["embeds"][0]["fields"][0]["value"]


def test_commands_are_deferred_and_answered_in_the_original_response(loop: Loop, stack: AwsStack) -> None:
    assert stack.env["DISCORD_WORKER_FUNCTION"] == "local-DiscordWorkerFunction"
    incidents = loop.interaction(2, {"name": "incidents"})
    assert loop.post(incidents) == (200, {"type": 5, "data": {"flags": 64}})
    assert loop.original(incidents)[0]["content"] == "No open incidents for Test Game. ✅"
    report = loop.interaction(
        2, {"name": "telemetry_report", "options": [{"name": "section", "value": "overview"}]}
    )
    assert loop.post(report) == (200, {"type": 5})
    (answer,) = loop.original(report)
    assert answer["embeds"][0]["title"] == "Telemetry report · Test Game"
    weekly = loop.interaction(2, {"name": "weekly_report"})
    assert loop.post(weekly) == (200, {"type": 5})
    (answer,) = loop.original(weekly)
    assert "A quiet week" in answer["embeds"][0]["description"]


def test_unlinked_guild_unknown_app_and_unknown_experiment_are_explained(loop: Loop) -> None:
    elsewhere = loop.interaction(2, {"name": "incidents"}, guild_id="1010101010")
    loop.post(elsewhere)
    assert "No app is linked to this server" in loop.original(elsewhere)[0]["content"]
    other_app = loop.interaction(2, {"name": "incidents", "options": [{"name": "app", "value": "ash-bot"}]})
    loop.post(other_app)
    assert "is not linked to this server" in loop.original(other_app)[0]["content"]
    experiment = loop.interaction(2, {"name": "experiment", "options": [{"name": "id", "value": "nope"}]})
    loop.post(experiment)
    assert "has no experiment `nope`" in loop.original(experiment)[0]["content"]


def test_a_failing_worker_edits_the_original_with_an_error(
    loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the lake is on fire")

    monkeypatch.setattr(wiring.incident_service(), "open_incidents", broken)
    command = loop.interaction(2, {"name": "incidents"})
    loop.post(command)
    (answer,) = loop.original(command)
    assert answer["content"].startswith("Something went wrong") and answer["embeds"] == []
    assert "fire" not in answer["content"]  # causes stay in the logs


def _forget_services() -> None:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    get_settings.cache_clear()
    wiring.reset()


@pytest.mark.parametrize("kind", [2, 3])
def test_a_worker_that_cannot_start_still_edits_the_original_with_an_error(
    loop: Loop, stack: AwsStack, kind: int
) -> None:
    # building the worker reads the bot token from SSM: gone, the worker cannot be built. Editing
    # the original response needs only the interaction token, so the user still gets the error.
    incident = _alert(loop) if kind == 3 else None
    aws.client("ssm").delete_parameter(Name=stack.ctx.parameters["DiscordBotTokenParameterName"])
    _forget_services()
    if incident is None:
        interaction = loop.interaction(2, {"name": "incidents"})
    else:
        interaction = _press(loop, "ack", incident, [RESPONDER])
    loop.fake.clear_calls()
    assert loop.post(interaction)[0] == 200
    (answer,) = loop.original(interaction)
    assert "Something went wrong" in answer["content"] and answer["allowed_mentions"] == {"parse": []}
    (call,) = [c for c in loop.fake.calls if c.method == "PATCH"]
    assert "authorization" not in call.headers  # no bot token on the interaction-token route
    if incident is not None:  # the button's message keeps its alert; nothing changed
        assert wiring.incident_service().get(APP, incident.incident_id).status == "new"


def test_broken_settings_still_get_the_error_edit(loop: Loop, monkeypatch: pytest.MonkeyPatch) -> None:
    # the Settings model refuses the environment: the front (no settings on its path) still
    # defers, and the worker, which cannot be built, still edits the original response
    monkeypatch.setenv("METRICS_KANON_MIN", "not a number")
    _forget_services()
    command = loop.interaction(2, {"name": "telemetry_report"})
    assert loop.post(command) == (200, {"type": 5})
    (answer,) = loop.original(command)
    assert answer["content"].startswith("Something went wrong")


def test_incidents_lists_every_open_incident_however_many_resolved_are_newer(loop: Loop) -> None:
    from liveops.models.incidents import Incident

    store = wiring.incidents_store()
    base = datetime(2026, 1, 1, tzinfo=UTC)

    def put(index: int, status: str) -> Incident:
        at = base + timedelta(minutes=index)
        incident = Incident(
            incident_id=f"inc-{at:%Y%m%d%H%M%S}000-{index:08x}",
            app_id=APP,
            source=f"job-{index}",
            severity="warning",
            status=status,  # type: ignore[arg-type]
            summary=f"incident {index}",
            opened_at=at,
            updated_at=at,
            acknowledged_at=at if status != "new" else None,
            resolved_at=at if status == "resolved" else None,
            dedupe_key=f"J#job-{index}",
        )
        store.create(incident, incident.dedupe_key)
        return incident

    oldest_new, old_acknowledged = put(0, "new"), put(1, "acknowledged")
    for index in range(2, 62):  # 60 resolved incidents, all newer than the open ones
        put(index, "resolved")
    command = loop.interaction(2, {"name": "incidents"})
    loop.post(command)
    (listing,) = loop.original(command)
    ids = [b["custom_id"] for row in listing["components"] for b in row["components"]]
    assert ids == [
        f"resolve:{APP}:{old_acknowledged.incident_id}",
        f"ack:{APP}:{oldest_new.incident_id}",
        f"resolve:{APP}:{oldest_new.incident_id}",
    ]
    figures = wiring.discord_report_data().telemetry(
        wiring.apps_store().get_config(APP)[0], ["incidents"], datetime.now(UTC)
    )
    assert figures["incidents"]["open_count"] == 2
    assert [i.incident_id for i in figures["incidents"]["open"]] == [
        old_acknowledged.incident_id,
        oldest_new.incident_id,
    ]


def test_experiment_answers_a_readout_summary(loop: Loop) -> None:
    import pyarrow as pa

    from liveops.rollups.schema import EXPERIMENT_DAILY

    variants = [{"id": v, "weight": 1, "parameters": {}} for v in ("control", "b")]
    wiring.liveops_store().put_experiment(
        APP,
        "exp-1",
        {
            "name": "Bigger waves",
            "description": "",
            "start_at": None,
            "end_at": None,
            "config": {"variants": variants},
        },
    )
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    rows = [
        {
            "ts": day,
            "experiment_id": "exp-1",
            "variant_id": v,
            "metric": "run_end_score.avg",
            "units": 200,
            "sum_x": 200.0 * mean,
            "sum_x2": 200.0 * (mean**2 + 4),
            "sum_y": 200.0,
            "sum_y2": 200.0,
            "sum_xy": 200.0 * mean,
        }
        for v, mean in (("control", 10.0), ("b", 12.0))
    ]
    wiring.curated_lake().write(
        "experiment_daily", APP, day.date(), pa.Table.from_pylist(rows, schema=EXPERIMENT_DAILY)
    )
    command = loop.interaction(2, {"name": "experiment", "options": [{"name": "id", "value": "exp-1"}]})
    assert loop.post(command) == (200, {"type": 5, "data": {"flags": 64}})
    (answer,) = loop.original(command)
    (embed,) = answer["embeds"]
    assert embed["title"] == "Experiment exp-1 · Test Game" and embed["description"].startswith(
        "Bigger waves · draft"
    )
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Exposures (user-days)"] == "control (control) 200, b 200"
    lines = fields["`run_end_score.avg`"].splitlines()
    assert lines[0] == "control (control): 10" and lines[1].startswith("b: 12 · lift +20.0%")
    assert "significant" in lines[1]
