"""Lambda handler: the alerts job (`{"job": "alerts", "app_id"?, "dry_run"?}`), every 5 minutes."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveops.wiring import job

logger = Logger(service="liveops")
tracer = Tracer(service="liveops")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return job("alerts", logger.info)(event.get("app_id"), event)
