"""The whole Discord loop against `liveops dev` over real HTTP, with the stack's fake Discord and
its locally generated Ed25519 key pair: a telemetry batch breaches The Great Work's max-digest-ms
threshold -> `liveops jobs run rollup` then `alerts` -> the alert message with buttons is posted to
the fake -> a signed Acknowledge press to /discord/interactions -> the worker (async invoke,
in-process) acknowledges the incident (the admin API shows it) and edits the alert message."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from nacl.signing import SigningKey

from liveops.cli.http_client import JsonClient
from liveops.local.stack import LOCAL_BOT_TOKEN
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

APP = "great-work"
GUILD = "1094783456012345678"
ALERTS_CHANNEL = "1094783456012345690"
RESPONDER_ROLE = "1094783456012345700"
APPLICATION = "1200000000000000777"
USER = "1300000000000000042"
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def test_threshold_breach_to_acknowledged_alert_message(running_stack: RunningStack) -> None:
    info = running_stack.info
    discord = info["discord"]
    assert discord["api_base_url"].startswith("http://127.0.0.1:")
    client = JsonClient(info["api_url"], {"x-api-key": info["apps"][APP]["api_key"]})
    fake = JsonClient(discord["api_base_url"], {"authorization": f"Bot {LOCAL_BOT_TOKEN}"})
    admin = JsonClient(info["api_url"], {"authorization": f"Bearer {info['tokens']['viewer']}"})

    # 1. a digest slower than the threshold (30 000 ms), in the current hour
    digest_id = f"d-{uuid.uuid4().hex[:8]}"
    batch = {
        "session_id": "bot-1",
        "platform": "discord",
        "client_version": "1.0.0",
        "events": [
            {
                "event_id": str(uuid.uuid4()),
                "event_type": "digest_completed",
                "event_time": (datetime.now(UTC) - timedelta(seconds=5)).isoformat().replace("+00:00", "Z"),
                "payload": {"digest_id": digest_id, "duration_ms": 45_000, "releases": 2},
            }
        ],
    }
    status, _, body = client.request("POST", "/v1/telemetry/batch", batch)
    assert status == 202 and body["accepted"] == 1, body
    eventually(
        lambda: (
            True if any(digest_id in str(r.get("payload")) for r in running_stack.lake_rows(APP)) else None
        ),
        "the event in the lake",
    )

    # 2. rollup, then alerts: the incident opens and its message is posted to the fake Discord
    rolled = running_stack.cli("jobs", "run", "rollup", "--app", APP)
    assert rolled.returncode == 0, rolled.stderr
    alerted = running_stack.cli("jobs", "run", "alerts", "--app", APP)
    assert alerted.returncode == 0, alerted.stderr

    def open_incident() -> dict[str, Any] | None:
        status, _, body = admin.request("GET", f"/v1/admin/apps/{APP}/incidents")
        assert status == 200, body
        found = [
            i for i in body["incidents"] if i["threshold_id"] == "max-digest-ms" and i["status"] == "new"
        ]
        return found[0] if found and found[0]["discord_message_id"] else None

    incident = eventually(open_incident, "the max-digest-ms incident with its Discord message")
    message_id = incident["discord_message_id"]
    status, _, message = fake.request("GET", f"/channels/{ALERTS_CHANNEL}/messages/{message_id}")
    assert status == 200, message
    buttons = [b["custom_id"] for row in message["components"] for b in row["components"]]
    ack = f"ack:{APP}:{incident['incident_id']}"
    assert buttons == [ack, f"resolve:{APP}:{incident['incident_id']}"]

    # 3. a responder presses Acknowledge: Discord signs the interaction with the app's key
    token = f"tok-{uuid.uuid4().hex}"
    status, _, _ = fake.request(
        "POST", "/_fake/originals", {"application_id": APPLICATION, "token": token, "message_id": message_id}
    )
    assert status == 204
    interaction = {
        "type": 3,
        "id": str(int(time.time() * 1000)),
        "application_id": APPLICATION,
        "token": token,
        "version": 1,
        "guild_id": GUILD,
        "channel_id": ALERTS_CHANNEL,
        "member": {"user": {"id": USER, "username": "responder"}, "roles": [RESPONDER_ROLE]},
        "message": {"id": message_id, "channel_id": ALERTS_CHANNEL},
        "data": {"custom_id": ack, "component_type": 2},
    }
    raw = json.dumps(interaction, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    signing = SigningKey(bytes.fromhex(discord["private_key"]))
    headers = {
        "x-signature-ed25519": signing.sign(stamp.encode() + raw).signature.hex(),
        "x-signature-timestamp": stamp,
    }
    front = JsonClient(info["api_url"])
    status, _, answer = front.request("POST", "/discord/interactions", raw, headers)
    assert (status, answer) == (200, {"type": 6})

    # 4. the worker acknowledged it (the admin API shows it) and edited the alert message
    def acknowledged() -> dict[str, Any] | None:
        status, _, body = admin.request("GET", f"/v1/admin/apps/{APP}/incidents/{incident['incident_id']}")
        assert status == 200, body
        return body if body["status"] == "acknowledged" else None

    done = eventually(acknowledged, "the incident acknowledged")
    assert done["acknowledged_by"] == f"discord:{USER}" and done["time_to_acknowledge_seconds"] is not None

    def edited() -> dict[str, Any] | None:
        status, _, body = fake.request("GET", f"/_fake/messages/{message_id}")
        assert status == 200, body
        return body if body["edited_timestamp"] else None

    final = eventually(edited, "the alert message edited")
    fields = {f["name"]: f["value"] for f in final["embeds"][0]["fields"]}
    assert "Acknowledged" in fields["Status"] and f"<@{USER}>" in fields["Acknowledged"]
    assert [b["custom_id"] for row in final["components"] for b in row["components"]] == [
        f"resolve:{APP}:{incident['incident_id']}"
    ]
    assert final["history"], "the message was edited, not replaced"

    # a forged press (wrong key) is refused and changes nothing
    forged = SigningKey.generate().sign(stamp.encode() + raw).signature.hex()
    status, _, _ = front.request(
        "POST", "/discord/interactions", raw, {**headers, "x-signature-ed25519": forged}
    )
    assert status == 401


def test_cli_reaches_the_fake_discord_of_the_running_stack(running_stack: RunningStack) -> None:
    registered = running_stack.cli("discord", "register-commands", "--application-id", APPLICATION, "--json")
    assert registered.returncode == 0, registered.stderr
    assert json.loads(registered.stdout)["commands"] == [
        "experiment",
        "incidents",
        "telemetry_report",
        "weekly_report",
    ]
    preview = running_stack.cli("jobs", "run", "weekly-report", "--app", "ash-bot", "--dry-run")
    assert preview.returncode == 0, preview.stderr
    report = json.loads(preview.stdout)["apps"]["ash-bot"]
    assert report["dry_run"] is True and report["message"]["allowed_mentions"] == {"parse": []}
    missing = running_stack.cli("discord", "register-commands")
    assert missing.returncode == 1 and "--application-id is required" in missing.stderr
