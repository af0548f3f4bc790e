"""`liveops discord register-commands` against moto (the bot token in SSM) and a FakeDiscord."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from liveops import aws, wiring
from liveops.cli.main import build_parser
from liveops.discord.commands import COMMANDS
from liveops.local.fake_discord import FakeDiscord
from liveops.settings import get_settings
from tests.integration.conftest import AwsStack

APPLICATION = "555555555555555555"


@pytest.fixture
def fake(stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDiscord]:
    fake = FakeDiscord().start()
    monkeypatch.setenv("DISCORD_API_BASE_URL", fake.url)
    monkeypatch.delenv("DISCORD_APPLICATION_ID", raising=False)
    get_settings.cache_clear()
    wiring.reset()
    try:
        yield fake
    finally:
        fake.stop()


def register(*args: str) -> int:
    parsed = build_parser().parse_args(["discord", "register-commands", *args])
    return int(parsed.run(parsed))


def put_token(stack: AwsStack) -> None:
    aws.client("ssm").put_parameter(
        Name=stack.ctx.parameters["DiscordBotTokenParameterName"], Value="test-bot-token", Type="SecureString"
    )


def test_register_commands_globally_and_per_guild(
    fake: FakeDiscord, stack: AwsStack, capsys: pytest.CaptureFixture[str]
) -> None:
    put_token(stack)
    assert register("--application-id", APPLICATION) == 0
    assert "registered 4 commands for every guild" in capsys.readouterr().out
    stored = fake.commands(APPLICATION)
    assert [c["name"] for c in stored] == [c["name"] for c in COMMANDS]
    assert stored[0]["options"] == COMMANDS[0]["options"]
    (call,) = [c for c in fake.calls if c.method == "PUT"]
    assert call.headers["authorization"] == "Bot test-bot-token"
    # the payload as sent: every command usable in servers only (interaction context GUILD = 0)
    assert [c["contexts"] for c in call.json] == [[0]] * 4
    assert register("--application-id", APPLICATION, "--guild", "123456789", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "application_id": APPLICATION,
        "guild_id": "123456789",
        "commands": sorted(c["name"] for c in COMMANDS),
    }
    assert len(fake.commands(APPLICATION, "123456789")) == 4


def test_bad_arguments_a_missing_token_or_a_refusal_are_clear_errors(
    fake: FakeDiscord, stack: AwsStack, capsys: pytest.CaptureFixture[str]
) -> None:
    for args, message in (
        ((), "--application-id is required"),
        (("--application-id", "abc"), "--application-id must be a Discord id"),
        (("--application-id", APPLICATION, "--guild", "x1"), "--guild must be a Discord id"),
    ):
        assert register(*args) == 1
        assert message in capsys.readouterr().err
    assert fake.calls == []
    assert register("--application-id", APPLICATION) == 1
    assert "put the bot token in the SSM parameter first" in capsys.readouterr().err
    put_token(stack)
    wiring.reset()
    fake.fail_next(1, status=403, message="Missing Access")
    assert register("--application-id", APPLICATION) == 1
    assert "Discord refused the commands" in capsys.readouterr().err
    assert fake.commands(APPLICATION) == []
