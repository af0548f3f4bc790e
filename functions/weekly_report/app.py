"""Lambda handler: the weekly-report job (`{"job": "weekly-report", "app_id"?, "force"?}`, hourly)."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveops.wiring import job

logger = Logger(service="liveops")
tracer = Tracer(service="liveops")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return job(event.get("job", "weekly-report"), logger.info)(event.get("app_id"), event)
