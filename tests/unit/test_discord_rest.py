"""DiscordRest against a scripted transport: headers, allowed_mentions, rate limits, retries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from liveops.discord.rest import (
    DiscordError,
    DiscordRateLimited,
    DiscordRest,
    DiscordUnavailable,
    Response,
    route_key,
)

CHANNEL = "1300000000000000001"
MESSAGE = "1300000000000000002"
APP = "1300000000000000003"


def reply(status: int = 200, body: Any = None, **headers: str) -> Response:
    raw = b"" if body is None else json.dumps(body).encode()
    return Response(status, {k.replace("_", "-").lower(): v for k, v in headers.items()}, raw)


class Script:
    """A transport answering from a list, recording (method, url, headers, json body)."""

    def __init__(self, *responses: Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Response:
        self.requests.append((method, url, headers, json.loads(body) if body else None))
        answer = self.responses.pop(0) if self.responses else reply(200, {"id": "1"})
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client(script: Script, clock: Clock, **kwargs: Any) -> DiscordRest:
    return DiscordRest(
        base_url="https://discord.test/api/v10",
        token="tok",
        transport=script,
        sleep=clock.sleep,
        clock=clock,
        **kwargs,
    )


def test_bot_route_sends_user_agent_authorization_json_and_allowed_mentions() -> None:
    script, clock = Script(reply(200, {"id": MESSAGE, "channel_id": CHANNEL})), Clock()
    rest = client(script, clock)
    result = rest.create_message(CHANNEL, {"content": "hi <@123>"})
    assert result == {"id": MESSAGE, "channel_id": CHANNEL}
    method, url, headers, body = script.requests[0]
    assert (method, url) == ("POST", f"https://discord.test/api/v10/channels/{CHANNEL}/messages")
    assert headers["Authorization"] == "Bot tok"
    assert headers["User-Agent"] == "DiscordBot (https://github.com/liveops, 0.1.0)"
    assert headers["Content-Type"] == "application/json"
    assert body == {"content": "hi <@123>", "allowed_mentions": {"parse": []}}
    assert clock.slept == []


def test_explicit_allowed_mentions_are_kept_and_the_payload_is_not_mutated() -> None:
    script, clock = Script(), Clock()
    rest = client(script, clock)
    payload = {"content": "x", "allowed_mentions": {"parse": [], "users": ["5"]}}
    rest.edit_message(CHANNEL, MESSAGE, payload)
    plain: dict[str, Any] = {"content": "y"}
    rest.edit_message(CHANNEL, MESSAGE, plain)
    assert script.requests[0][0] == "PATCH"
    assert script.requests[0][1].endswith(f"/channels/{CHANNEL}/messages/{MESSAGE}")
    assert script.requests[0][3]["allowed_mentions"] == {"parse": [], "users": ["5"]}
    assert script.requests[1][3]["allowed_mentions"] == {"parse": []}
    assert plain == {"content": "y"}


def test_every_message_route_sets_allowed_mentions() -> None:
    script, clock = Script(), Clock()
    rest = client(script, clock)
    rest.create_message(CHANNEL, {"content": "a"})
    rest.edit_message(CHANNEL, MESSAGE, {"content": "b"})
    rest.edit_original_interaction_response(APP, "itoken", {"content": "c"})
    rest.create_followup_message(APP, "itoken", {"content": "d"})
    rest.execute_webhook("https://discord.test/api/webhooks/9/wtoken", {"content": "e"})
    assert [r[3]["allowed_mentions"] for r in script.requests] == [{"parse": []}] * 5


def test_webhook_token_routes_carry_no_bot_authorization() -> None:
    script, clock = Script(reply(200, {"id": "7"}), reply(200, {"id": "8"}), reply(204)), Clock()
    rest = client(script, clock)
    assert rest.edit_original_interaction_response(APP, "itoken", {"content": "done"}) == {"id": "7"}
    assert rest.execute_webhook(
        "https://discord.test/api/webhooks/9/wtoken?thread_id=4", {"content": "x"}
    ) == {"id": "8"}
    assert (
        rest.execute_webhook("https://discord.test/api/webhooks/9/wtoken?wait=false", {"content": "x"})
        is None
    )
    (m1, url1, h1, _), (m2, url2, h2, _), (_, url3, h3, _) = script.requests
    assert (m1, url1) == ("PATCH", f"https://discord.test/api/v10/webhooks/{APP}/itoken/messages/@original")
    assert (m2, url2) == ("POST", "https://discord.test/api/webhooks/9/wtoken?thread_id=4&wait=true")
    assert url3 == "https://discord.test/api/webhooks/9/wtoken?wait=true"
    for headers in (h1, h2, h3):
        assert "Authorization" not in headers
        assert headers["User-Agent"].startswith("DiscordBot (")


def test_webhook_notifier_needs_no_token() -> None:
    script, clock = Script(reply(200, {"id": "1"})), Clock()
    rest = DiscordRest(token=None, transport=script, sleep=clock.sleep, clock=clock)
    rest.execute_webhook("https://discord.com/api/webhooks/9/wtoken", {"content": "x"})
    with pytest.raises(ValueError, match="bot token"):
        rest.create_message(CHANNEL, {"content": "x"})


def test_bulk_overwrite_commands_global_and_guild() -> None:
    commands = [{"name": "incidents", "description": "open incidents"}]
    script = Script(reply(200, [{"id": "1", **commands[0]}]), reply(200, [{"id": "2", **commands[0]}]))
    clock = Clock()
    rest = client(script, clock)
    assert rest.bulk_overwrite_commands(APP, commands)[0]["id"] == "1"
    assert rest.bulk_overwrite_commands(APP, commands, guild_id="77")[0]["id"] == "2"
    assert [(r[0], r[1].split("/v10")[1]) for r in script.requests] == [
        ("PUT", f"/applications/{APP}/commands"),
        ("PUT", f"/applications/{APP}/guilds/77/commands"),
    ]
    assert script.requests[0][3] == commands  # no allowed_mentions on a list of commands
    assert script.requests[0][2]["Authorization"] == "Bot tok"


def test_429_sleeps_retry_after_from_the_body_then_retries() -> None:
    script = Script(
        reply(429, {"message": "You are being rate limited.", "retry_after": 1.337, "global": False}),
        reply(200, {"id": MESSAGE}),
    )
    clock = Clock()
    rest = client(script, clock)
    assert rest.create_message(CHANNEL, {"content": "x"}) == {"id": MESSAGE}
    assert clock.slept == [pytest.approx(1.337)]
    assert len(script.requests) == 2
    assert script.requests[0][3] == script.requests[1][3]


def test_429_falls_back_to_the_retry_after_header() -> None:
    script, clock = Script(reply(429, None, Retry_After="2"), reply(200, {"id": "1"})), Clock()
    client(script, clock).create_message(CHANNEL, {"content": "x"})
    assert clock.slept == [2.0]


def test_429_gives_up_after_max_retries() -> None:
    limited = reply(429, {"message": "slow down", "retry_after": 0.5})
    script, clock = Script(*[limited] * 5), Clock()
    with pytest.raises(DiscordRateLimited) as raised:
        client(script, clock, max_retries=2).create_message(CHANNEL, {"content": "x"})
    assert raised.value.status == 429 and raised.value.retryable
    assert len(script.requests) == 3
    assert clock.slept == [0.5, 0.5]


def test_429_longer_than_max_wait_is_not_slept_through() -> None:
    script, clock = Script(reply(429, {"message": "banned", "retry_after": 3600, "global": True})), Clock()
    with pytest.raises(DiscordRateLimited) as raised:
        client(script, clock, max_wait=30).create_message(CHANNEL, {"content": "x"})
    assert raised.value.retry_after == 3600 and raised.value.is_global
    assert clock.slept == []


def test_exhausted_bucket_waits_before_the_next_request_on_that_bucket_only() -> None:
    script = Script(
        reply(
            200,
            {"id": "1"},
            X_RateLimit_Bucket="abc",
            X_RateLimit_Remaining="0",
            X_RateLimit_Reset_After="2.5",
        ),
        reply(200, {"id": "2"}),  # another channel: another bucket (major parameter), no wait
        reply(
            200, {"id": "3"}, X_RateLimit_Bucket="abc", X_RateLimit_Remaining="4", X_RateLimit_Reset_After="1"
        ),
        reply(200, {"id": "4"}),
    )
    clock = Clock()
    rest = client(script, clock)
    rest.create_message(CHANNEL, {"content": "1"})
    assert clock.slept == []
    rest.create_message("999", {"content": "2"})
    assert clock.slept == []
    rest.create_message(CHANNEL, {"content": "3"})
    assert clock.slept == [pytest.approx(2.5)]
    rest.create_message(CHANNEL, {"content": "4"})
    assert clock.slept == [pytest.approx(2.5)]  # remaining 4: no further wait


def test_bucket_wait_is_skipped_when_the_window_has_passed() -> None:
    script = Script(
        reply(200, {}, X_RateLimit_Bucket="b", X_RateLimit_Remaining="0", X_RateLimit_Reset_After="1")
    )
    clock = Clock()
    rest = client(script, clock)
    rest.edit_message(CHANNEL, MESSAGE, {"content": "1"})
    clock.now += 5
    rest.edit_message(CHANNEL, "1300000000000000099", {"content": "2"})  # same bucket: message id is minor
    assert clock.slept == []


def test_global_429_holds_every_route() -> None:
    script = Script(
        reply(429, {"message": "global", "retry_after": 4.0, "global": True}, X_RateLimit_Global="true"),
        reply(200, {"id": "1"}),
    )
    clock = Clock()
    rest = client(script, clock)
    rest.create_message(CHANNEL, {"content": "x"})
    assert clock.slept == [4.0]
    script.responses = [reply(429, {"message": "global", "retry_after": 3.0, "global": True}), reply(200, {})]
    rest.create_message(CHANNEL, {"content": "y"})  # a global 429 (3 s), then ok
    assert clock.slept == [4.0, 3.0]
    # a global window still open (opened by another thread) holds any other route too
    rest._global_reset_at = clock.now + 1.5
    script.responses = [reply(200, [])]
    rest.bulk_overwrite_commands(APP, [])
    assert clock.slept == [4.0, 3.0, 1.5]


def test_5xx_is_retried_with_exponential_backoff() -> None:
    script = Script(reply(502), reply(503, {"message": "busy"}), reply(200, {"id": "1"}))
    clock = Clock()
    rest = client(script, clock)
    assert rest.create_message(CHANNEL, {"content": "x"}) == {"id": "1"}
    assert clock.slept == [0.5, 1.0]
    assert len(script.requests) == 3


def test_5xx_gives_up_after_max_retries() -> None:
    script, clock = Script(*[reply(500, {"message": "oops", "code": 0})] * 9), Clock()
    with pytest.raises(DiscordUnavailable) as raised:
        client(script, clock, max_retries=3).create_message(CHANNEL, {"content": "x"})
    assert raised.value.status == 500 and raised.value.retryable
    assert clock.slept == [0.5, 1.0, 2.0]
    assert len(script.requests) == 4


def test_network_errors_are_retried_then_surface_as_unavailable() -> None:
    script = Script(ConnectionResetError("reset"), TimeoutError("slow"), reply(200, {"id": "1"}))
    clock = Clock()
    assert client(script, clock).create_message(CHANNEL, {"content": "x"}) == {"id": "1"}
    assert clock.slept == [0.5, 1.0]
    script, clock = Script(*[ConnectionRefusedError("no")] * 4), Clock()
    with pytest.raises(DiscordUnavailable) as raised:
        client(script, clock).create_message(CHANNEL, {"content": "x"})
    assert raised.value.status == 0


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_4xx_raise_at_once_with_discord_code_and_message(status: int) -> None:
    body = {
        "code": 50035,
        "message": "Invalid Form Body",
        "errors": {"content": {"_errors": [{"code": "X"}]}},
    }
    script, clock = Script(reply(status, body)), Clock()
    with pytest.raises(DiscordError) as raised:
        client(script, clock).create_message(CHANNEL, {"content": "x"})
    error = raised.value
    assert (error.status, error.code, error.message) == (status, 50035, "Invalid Form Body")
    assert error.errors == body["errors"]
    assert not error.retryable
    assert len(script.requests) == 1 and clock.slept == []


def test_non_json_error_body_still_gives_a_message() -> None:
    script, clock = Script(Response(403, {}, b"<html>error code: 1015</html>")), Clock()
    with pytest.raises(DiscordError, match="1015"):
        client(script, clock).create_message(CHANNEL, {"content": "x"})


def test_route_keys_keep_major_parameters_apart() -> None:
    assert route_key("POST", f"/api/v10/channels/{CHANNEL}/messages") == (
        "POST /channels/{major}/messages",
        f"channels:{CHANNEL}",
    )
    assert route_key("PATCH", f"/api/v10/channels/{CHANNEL}/messages/{MESSAGE}") == (
        "PATCH /channels/{major}/messages/{id}",
        f"channels:{CHANNEL}",
    )
    assert route_key("POST", "/api/webhooks/9/tok") == ("POST /webhooks/{major}/{token}", "webhooks:9/tok")
    assert route_key("PATCH", f"/webhooks/{APP}/tok/messages/@original")[0] == (
        "PATCH /webhooks/{major}/{token}/messages/@original"
    )
    assert route_key("PUT", f"/applications/{APP}/commands") == ("PUT /applications/{id}/commands", "")
