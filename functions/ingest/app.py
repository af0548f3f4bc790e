"""Lambda handler: POST /v1/telemetry/batch."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveops.api.http import entrypoint
from liveops.api.ingest import build_app, metrics
from liveops.wiring import ingest_service

logger = Logger(service="liveops")
app = build_app(ingest_service)
_route = entrypoint(app)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: LambdaContext) -> dict:
    idempotency = ingest_service().idempotency
    if idempotency is not None:
        idempotency.register_lambda_context(context)
    return _route(event, context)
