"""Lambda handler: discord-worker (async invoke from the Discord front, `{"interaction": {...}}`):
finishes a deferred interaction and edits its original response, also when the worker cannot be
built (settings, bot token, stores): see liveops.discord.worker.finish."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveops.discord.worker import finish
from liveops.wiring import discord_webhook_rest, discord_worker

logger = Logger(service="liveops")
tracer = Tracer(service="liveops")


@logger.inject_lambda_context(clear_state=True)
# responses and interactions carry user ids and tokens: keep them out of X-Ray metadata
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: LambdaContext) -> dict:
    return finish(event, discord_worker, discord_webhook_rest)
