"""DiscordRest against a real FakeDiscord over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from liveops.discord.limits import message_with_buttons, paginate_embeds
from liveops.discord.rest import DiscordError, DiscordRest, DiscordUnavailable
from liveops.local.fake_discord import FakeDiscord

CHANNEL = "1400000000000000001"
APP = "1400000000000000002"


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    server = FakeDiscord().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def rest(fake: FakeDiscord, slept: list[float]) -> DiscordRest:
    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(min(seconds, 0.05))

    return DiscordRest(base_url=fake.url, token="local-bot-token", sleep=sleep, backoff=0.01)


def alert(state: str, disabled: bool = False) -> dict[str, object]:
    embed = {"title": "Incident inc-1: p95 latency > 800 ms", "description": state, "color": 0xE74C3C}
    buttons = [
        ("ack:inc-1", "Acknowledge", "primary", disabled),
        ("resolve:inc-1", "Resolve", "success", disabled),
    ]
    return message_with_buttons("<@&1400000000000000009> critical alert", [embed], buttons)


def test_create_then_edit_an_alert_with_buttons(fake: FakeDiscord, rest: DiscordRest) -> None:
    created = rest.create_message(CHANNEL, alert("open"))
    assert created["channel_id"] == CHANNEL and created["id"].isdigit() and len(created["id"]) >= 17
    assert created["author"]["bot"] is True
    buttons = created["components"][0]["components"]
    assert [b["custom_id"] for b in buttons] == ["ack:inc-1", "resolve:inc-1"]

    edited = rest.edit_message(CHANNEL, created["id"], alert("resolved", disabled=True))
    assert edited["id"] == created["id"] and edited["edited_timestamp"]
    stored = fake.message(created["id"])
    assert stored is not None and stored["embeds"][0]["description"] == "resolved"
    assert all(b["disabled"] for b in stored["components"][0]["components"])

    calls = fake.calls
    assert [(c.method, c.path, c.status) for c in calls] == [
        ("POST", f"/api/v10/channels/{CHANNEL}/messages", 200),
        ("PATCH", f"/api/v10/channels/{CHANNEL}/messages/{created['id']}", 200),
    ]
    for call in calls:
        assert call.headers["authorization"] == "Bot local-bot-token"
        assert call.headers["user-agent"].startswith("DiscordBot (https://github.com/liveops")
        assert call.json["allowed_mentions"] == {"parse": []}  # the role mention does not ping


def test_an_injected_429_is_honoured_then_the_call_succeeds(
    fake: FakeDiscord, rest: DiscordRest, slept: list[float]
) -> None:
    fake.fail_next(2, status=429, retry_after=0.02)
    message = rest.create_message(CHANNEL, {"content": "hello"})
    assert message["content"] == "hello"
    assert slept == [pytest.approx(0.02, abs=0.005)] * 2
    assert [c.status for c in fake.calls] == [429, 429, 200]
    assert len(fake.messages(CHANNEL)) == 1


def test_a_global_429_and_5xx_are_retried(fake: FakeDiscord, rest: DiscordRest, slept: list[float]) -> None:
    fake.fail_next(1, status=429, retry_after=0.03, is_global=True)
    fake.fail_next(1, status=502)
    assert rest.create_message(CHANNEL, {"content": "x"})["content"] == "x"
    assert slept == [pytest.approx(0.03, abs=0.005), 0.02]  # backoff 0.01 * 2**retries
    fake.fail_next(9, status=500)
    with pytest.raises(DiscordUnavailable):
        rest.create_message(CHANNEL, {"content": "y"})


def test_errors_come_back_as_discord_errors(fake: FakeDiscord, rest: DiscordRest) -> None:
    with pytest.raises(DiscordError) as unknown:
        rest.edit_message(CHANNEL, "1400000000000000099", {"content": "x"})
    assert (unknown.value.status, unknown.value.code) == (404, 10008)
    with pytest.raises(DiscordError) as too_long:
        rest.create_message(CHANNEL, {"content": "x" * 2001})
    assert (too_long.value.status, too_long.value.code) == (400, 50035)
    unauthorised = DiscordRest(base_url=fake.url, token="")
    with pytest.raises(ValueError):
        unauthorised.create_message(CHANNEL, {"content": "x"})
    assert len(fake.calls) == 2


def test_interaction_response_and_webhook_go_without_bot_auth(fake: FakeDiscord, rest: DiscordRest) -> None:
    pages = paginate_embeds("Telemetry report", [(f"kpi {i}", "1" * 1000) for i in range(20)])
    assert len(pages) >= 3
    first = rest.edit_original_interaction_response(APP, "interaction-token", {"embeds": pages[0]})
    again = rest.edit_original_interaction_response(APP, "interaction-token", {"embeds": pages[1]})
    assert first["id"] == again["id"]
    stored = fake.message(first["id"])
    assert stored is not None and stored["embeds"] == pages[1]

    followup = rest.create_followup_message(APP, "interaction-token", {"embeds": pages[2], "flags": 64})
    assert followup["id"] != first["id"] and followup["flags"] == 64

    posted = rest.execute_webhook(fake.webhook_url("1400000000000000005", "hook-token"), {"content": "alert"})
    assert posted is not None and posted["webhook_id"] == "1400000000000000005"
    webhook_calls = [c for c in fake.calls if c.path.startswith("/api/v10/webhooks/")]
    assert len(webhook_calls) == 4
    assert all("authorization" not in c.headers for c in webhook_calls)
    assert webhook_calls[-1].query == {"wait": "true"}


def test_commands_are_bulk_overwritten(fake: FakeDiscord, rest: DiscordRest) -> None:
    commands = [
        {"name": "incidents", "description": "open incidents"},
        {"name": "weekly_report", "description": "w"},
    ]
    first = rest.bulk_overwrite_commands(APP, commands, guild_id="1400000000000000007")
    assert [c["name"] for c in first] == ["incidents", "weekly_report"] and all(c["id"] for c in first)
    rest.bulk_overwrite_commands(APP, commands[:1], guild_id="1400000000000000007")
    assert [c["name"] for c in fake.commands(APP, "1400000000000000007")] == ["incidents"]
    assert fake.commands(APP) == []


def test_calls_are_recorded_from_many_threads(fake: FakeDiscord) -> None:
    def post(i: int) -> None:
        client = DiscordRest(base_url=fake.url, token="t")
        client.create_message(CHANNEL, {"content": f"m{i}"})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(c.json["content"] for c in fake.calls) == sorted(f"m{i}" for i in range(16))
    ids = {m["id"] for m in fake.messages(CHANNEL)}
    assert len(ids) == 16


def test_the_fake_speaks_plain_http(fake: FakeDiscord) -> None:
    request = urllib.request.Request(
        f"{fake.url}/channels/{CHANNEL}/messages",
        data=json.dumps({"content": "raw"}).encode(),
        headers={"Authorization": "Bot x", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        assert response.headers["X-RateLimit-Bucket"]
        assert json.loads(response.read())["content"] == "raw"
