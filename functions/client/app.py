"""Lambda handler: GET /v1/events/active, /v1/experiments/assignments, /v1/content/manifest.

The resolver, with its validation stack and response models, is built on the first request
(`_route`): importing the handler then costs the Logger alone. `app` stands for the resolver
(the OpenAPI document is generated from it) and builds it on first use.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="liveops")


@cache
def _resolver() -> Any:
    from liveops.api.client import build_app
    from liveops.wiring import client_service

    return build_app(client_service)


@cache
def _route() -> Any:
    from liveops.api.http import entrypoint

    return entrypoint(_resolver())


class _Resolver:
    def __getattr__(self, name: str) -> Any:
        return getattr(_resolver(), name)


app = _Resolver()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: LambdaContext) -> dict:
    return _route()(event, context)
