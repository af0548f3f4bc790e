"""Lambda handler: the publish job (`{"job": "publish", "app_id"?, "dry_run"?}`)."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveops.jobs import failed
from liveops.wiring import job

logger = Logger(service="liveops")
tracer = Tracer(service="liveops")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    report = job("publish", logger.info)(event.get("app_id"), event)
    if failed(report) and not report.get("dry_run"):
        # the incident is open already; raising counts the failure in the function's Errors, whose
        # alarm notifies the admins' ops topic (even when the app has no alert channel or webhook)
        logger.error("publish failed", extra={"report": report})
        raise RuntimeError("publish failed for some app; see the logged report and its incident")
    return report
