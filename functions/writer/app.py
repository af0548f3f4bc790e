"""Lambda handler: SQS events queue -> Parquet in the lake (partial batch failures)."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveops.wiring import raw_event_writer

logger = Logger(service="liveops")
tracer = Tracer(service="liveops")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return raw_event_writer().handle(event)
