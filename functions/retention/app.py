"""Lambda handler: the retention job (`{"job": "retention", "app_id"?, "dry_run"?}`)."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveops.jobs import failed
from liveops.wiring import job

logger = Logger(service="liveops")
tracer = Tracer(service="liveops")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    report = job("retention", logger.info)(event.get("app_id"), event)
    if failed(report):  # recorded already; raising makes the failure count in the function's Errors
        logger.error("retention failed", extra={"report": report})
        raise RuntimeError("retention failed for some app or category; see the recorded report")
    return report
