"""AWS clients for the handlers' wiring: one cached client per service and purpose.

Only the wiring (function handlers, CLI, local stack) calls this; domain logic never builds
clients and storage adapters receive them. AWS_ENDPOINT_URL (set by the local stack) sends every
client to the moto server. boto3 is imported on first use so that a function's import phase
stays short.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

# called with each new client: the local stack's fault injection attaches itself here
_client_hooks: list[Callable[[Any], None]] = []


@cache
def client(service: str, *, patient: bool = False) -> Any:
    import boto3
    from botocore.config import Config

    if patient:  # background jobs can wait
        config = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=60)
    else:  # client-facing paths fail fast, so the caller can answer 503 and the client retries
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5)
    built = boto3.session.Session().client(service, config=config)
    for hook in _client_hooks:
        hook(built)
    return built


def add_client_hook(hook: Callable[[Any], None]) -> None:
    """Runs `hook(client)` on every client built from now on (clients built before are forgotten)."""
    _client_hooks.append(hook)
    client.cache_clear()


def remove_client_hook(hook: Callable[[Any], None]) -> None:
    if hook in _client_hooks:
        _client_hooks.remove(hook)
    client.cache_clear()


def reset_clients() -> None:
    """Forget cached clients (tests and the local stack switch endpoints)."""
    client.cache_clear()
