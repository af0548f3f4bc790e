"""Lambda handler: POST /discord/interactions (the fast front: signature, PING, deferral).

Imports only the Powertools Logger, PyNaCl and liveops.discord. boto3, the SSM call for the public
key and the Lambda client that hands deferred interactions to discord-worker load on the first
request that needs them, and are cached per container. Its settings (the key's parameter name, the
worker's name) are read from the environment template.yaml sets, without pydantic
(`wiring.discord_setting`): no request of this function imports pydantic, pyarrow, pandas,
awswrangler or the Powertools resolver (tests/unit/test_cold_imports.py).
"""

from typing import Any

from aws_lambda_powertools import Logger

from liveops.discord.commands import front_handlers
from liveops.discord.interactions import InteractionsFront

logger = Logger(service="liveops")


def _public_key() -> str:
    from liveops.wiring import discord_public_key

    return discord_public_key()


def _defer(interaction: dict[str, Any]) -> None:
    from liveops.wiring import defer_discord_interaction

    defer_discord_interaction(interaction)


commands, components = front_handlers(_defer)
front = InteractionsFront(_public_key, commands=commands, components=components)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return front(event)
