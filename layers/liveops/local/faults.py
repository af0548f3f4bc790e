"""Fault injection for AWS calls: throttling, server errors and timeouts on a share of S3, SQS
and DynamoDB requests, to prove that nothing acknowledged is lost and nothing counts twice.

It hooks botocore's `before-send` event of each client liveops builds (liveops.aws), first in
line, so it works the same in-process under moto's mock and against the moto server of
`liveops dev --faults RATE`. A faulted request never reaches the service: the fault happens
before the call, like a throttle, a 5xx from the front door or a connection timeout, and botocore
sees exactly what it would see from AWS (retryable error codes and statuses, ReadTimeoutError).
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

FAULT_KINDS = ("throttle", "server_error", "timeout")
DEFAULT_SERVICES = frozenset({"s3", "sqs", "dynamodb"})


@dataclass
class FaultInjector:
    """Fails `rate` of the calls to `services`, picking one of `kinds` at random (seeded).

    rate, services and enabled may be changed while clients are in use."""

    rate: float = 0.1
    services: frozenset[str] = DEFAULT_SERVICES
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    enabled: bool = True
    injected: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("the fault rate is a share between 0 and 1")
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; one of {FAULT_KINDS}")
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        """Hooks this injector into a botocore client (before moto's own stub, if any)."""
        service = client.meta.service_model.service_name
        protocol = client.meta.service_model.protocol
        client.meta.events.register_first(
            "before-send", lambda request, **kwargs: self._maybe_fail(service, protocol, request, kwargs)
        )

    def _maybe_fail(
        self, service: str, protocol: str, request: Any, kwargs: dict[str, Any]
    ) -> AWSResponse | None:
        operation = str(kwargs.get("event_name", "")).rsplit(".", 1)[-1]
        with self._lock:
            if service not in self.services:
                return None
            self.calls[service] += 1
            if not self.enabled or self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            self.injected[f"{service}:{kind}"] += 1
        if kind == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        return _error_response(service, protocol, kind, operation, request)


def _error_response(service: str, protocol: str, kind: str, operation: str, request: Any) -> AWSResponse:
    """The response AWS gives for a throttle or an internal error, in the service's protocol."""
    throttled = kind == "throttle"
    if service == "s3":
        status, code = (503, "SlowDown") if throttled else (500, "InternalError")
        body = f"<Error><Code>{code}</Code><Message>injected {kind}</Message></Error>".encode()
        headers = {"Content-Type": "application/xml"}
    elif protocol == "json":  # DynamoDB, SQS (JSON protocol)
        if service == "dynamodb":
            status, code = (400, "ThrottlingException") if throttled else (500, "InternalServerError")
        else:
            status, code = (400, "ThrottlingException") if throttled else (500, "InternalError")
        body = json.dumps({"__type": code, "message": f"injected {kind}"}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": f"{code};Sender"}
    else:  # query protocol (older SQS)
        status, code = (400, "Throttling") if throttled else (500, "InternalError")
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>injected {kind}</Message></Error></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    return AWSResponse(request.url, status, headers, _Raw(body))


class _Raw:
    """The raw body object AWSResponse reads from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body
