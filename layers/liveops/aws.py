"""AWS clients for the handlers' wiring: one cached client per service and purpose.

Only the wiring (function handlers, CLI, local stack) calls this; domain logic never builds
clients and storage adapters receive them. AWS_ENDPOINT_URL (set by the local stack) sends every
client to the moto server. boto3 is imported on first use so that a function's import phase
stays short.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str, *, patient: bool = False) -> Any:
    import boto3
    from botocore.config import Config

    if patient:  # background jobs can wait
        config = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=60)
    else:  # client-facing paths fail fast, so the caller can answer 503 and the client retries
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5)
    return boto3.session.Session().client(service, config=config)


def reset_clients() -> None:
    """Forget cached clients (tests and the local stack switch endpoints)."""
    client.cache_clear()
