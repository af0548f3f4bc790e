"""Integration fixtures: the template's resources created in moto (in-process), handlers loaded
from functions/ exactly as the local stack loads them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws

from liveops import aws, wiring
from liveops.local.fake_discord import FakeDiscord
from liveops.local.provision import provision
from liveops.local.runtime import LocalFunction
from liveops.local.stack import LOCAL_CREDENTIALS
from liveops.local.template import Context, functions, parameter_defaults, project_template, resolve
from liveops.models.app_config import load_app_config
from liveops.services.apps import apply_config, create_key
from liveops.settings import get_settings

GAME_CONFIG: dict[str, Any] = {
    "app_id": "test-game",
    "name": "Test Game",
    "platforms": ["web", "android"],
    "max_event_age_days": 7,
    "events": {
        "session_start": {},
        "run_end": {
            "fields": {
                "run_id": {"type": "string", "required": True, "max_length": 64},
                "outcome": {"type": "string", "enum": ["win", "loss", "abandon"], "required": True},
                "score": {"type": "integer", "min": 0},
                "duration_ms": {"type": "number", "min": 0},
                "boss_defeated": {"type": "boolean"},
                "challenge_id": {"type": "string"},
            }
        },
    },
    "dimensions": ["platform", "client_version", {"name": "challenge_id", "from": "payload.challenge_id"}],
}


@dataclass
class AwsStack:
    ctx: Context
    env: dict[str, str]

    def function(self, logical_id: str) -> LocalFunction:
        spec = next(f for f in functions(project_template()) if f.logical_id == logical_id)
        return LocalFunction(spec)

    def client(self, service: str) -> Any:
        return aws.client(service)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStack]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        aws.reset_clients()
        template = project_template()
        ctx = Context(parameters=parameter_defaults(template))
        provision(template, ctx, lambda service: aws.client(service))
        aws.client("ssm").put_parameter(
            Name=ctx.parameters["UserHashSecretParameterName"], Value="test-secret", Type="SecureString"
        )
        env: dict[str, str] = {}
        for spec in functions(template):
            env.update({k: str(v) for k, v in resolve(spec.environment, ctx).items()})
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
        get_settings.cache_clear()
        wiring.reset()
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()
        yield AwsStack(ctx=ctx, env=env)
    get_settings.cache_clear()
    wiring.reset()
    aws.reset_clients()
    os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture
def game(stack: AwsStack) -> str:
    """The test app applied, with a client key; returns the key."""
    store = wiring.apps_store()
    apply_config(store, load_app_config(GAME_CONFIG))
    return create_key(store, "test-game").api_key


@pytest.fixture
def fake_discord(stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDiscord]:
    """The fake Discord as the deployment's Discord API, with a bot token in SSM."""
    fake = FakeDiscord().start()
    aws.client("ssm").put_parameter(
        Name=stack.ctx.parameters["DiscordBotTokenParameterName"], Value="test-bot-token", Type="SecureString"
    )
    monkeypatch.setenv("DISCORD_API_BASE_URL", fake.url)
    get_settings.cache_clear()
    wiring.reset()
    try:
        yield fake
    finally:
        fake.stop()
