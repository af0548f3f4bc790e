"""Lambda handler: /v1/admin/*, /v1/metrics/* (bearer tokens with roles) and /v1/openapi.json."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveops.api.admin import authenticated_entrypoint, build_app, metrics
from liveops.wiring import admin_services

logger = Logger(service="liveops")
tracer = Tracer(service="liveops")


app = build_app(admin_services)
_route = authenticated_entrypoint(app, lambda: admin_services().tokens)


@logger.inject_lambda_context(clear_state=True)
# responses carry new client keys and figures: keep them out of X-Ray metadata
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        return _route(event, context)
    finally:
        if metrics.metric_set:  # flushed only when something was counted (an empty flush warns)
            metrics.flush_metrics()
