"""Lambda handler: POST /discord/interactions (the fast front: signature, PING, dispatch).

Imports only the Powertools Logger, PyNaCl and liveops.discord. Settings, boto3 and the SSM call
for the public key load on the first request that needs the key, and are cached per container.
"""

from typing import Any

from aws_lambda_powertools import Logger

from liveops.discord.interactions import InteractionsFront

logger = Logger(service="liveops")


def _public_key() -> str:
    from liveops.wiring import discord_public_key

    return discord_public_key()


front = InteractionsFront(_public_key)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return front(event)
