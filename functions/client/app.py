"""Lambda handler: GET /v1/events/active, /v1/experiments/assignments, /v1/content/manifest."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveops.api.client import build_app
from liveops.api.http import entrypoint
from liveops.wiring import client_service

logger = Logger(service="liveops")
app = build_app(client_service)
_route = entrypoint(app)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: LambdaContext) -> dict:
    return _route(event, context)
