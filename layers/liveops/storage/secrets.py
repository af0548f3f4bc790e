"""SSM Parameter Store adapter for deployment secrets (cached by Powertools Parameters)."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from liveops.errors import Unavailable

SECRET_CACHE_SECONDS = 300


def read_secret(name: str) -> str:
    try:
        value = parameters.get_parameter(name, decrypt=True, max_age=SECRET_CACHE_SECONDS)
    except GetParameterError as exc:
        raise Unavailable(f"secret {name} could not be read; retry later") from exc
    return str(value)
