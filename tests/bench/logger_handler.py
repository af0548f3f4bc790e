"""A handler that imports only the Powertools Logger: the floor under the Discord front's import."""

from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(service="liveops")


def handler(event: dict, context: Any) -> dict:
    return {}
