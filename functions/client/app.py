"""Lambda handler: GET /v1/events/active, /v1/experiments/assignments, /v1/content/manifest.

Plain valid requests are answered by the client lane; the Powertools resolver (request
validation, the wording of invalid requests, 404/405) is built with the first request the lane
passes on. `app` stands for that resolver (the OpenAPI document is generated from it).
"""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveops.api.client import build_app, lane
from liveops.api.front import LazyResolver, front
from liveops.wiring import client_service

logger = Logger(service="liveops")
app = LazyResolver(lambda: build_app(client_service))
_route = front(app.get, lane(client_service))


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: LambdaContext) -> dict:
    return _route(event, context)
