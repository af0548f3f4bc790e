"""Lambda handler: POST /v1/telemetry/batch.

Plain valid batches are answered by the ingest lane; the Powertools resolver (request validation,
the wording of invalid requests, 404/405) is built with the first request the lane passes on.
`app` stands for that resolver (the OpenAPI document is generated from it).
"""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveops.api.front import LazyResolver, front
from liveops.api.ingest import build_app, counted, lane, metrics
from liveops.wiring import ingest_service

logger = Logger(service="liveops")
app = LazyResolver(lambda: build_app(ingest_service))
_route = counted(front(app.get, lane(ingest_service)))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: LambdaContext) -> dict:
    idempotency = ingest_service().idempotency
    if idempotency is not None:
        idempotency.register_lambda_context(context)
    return _route(event, context)
