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
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

FAULT_KINDS = ("throttle", "server_error", "timeout")
DEFAULT_SERVICES = frozenset({"s3", "sqs", "dynamodb"})


@dataclass(frozen=True)
class Call:
    """One AWS request as the injector sees it: `target` is the DynamoDB table (tables, for a
    transaction or batch) or the S3 bucket, and `key` the DynamoDB item's partition key value
    (`pk` of Key or Item), when the request names them."""

    service: str
    operation: str
    target: str | None = None
    key: str | None = None

    @property
    def label(self) -> str:
        return ":".join(part for part in (self.service, self.operation, self.target, self.key) if part)


@dataclass
class FaultInjector:
    """Fails `rate` of the calls to `services`, picking one of `kinds` at random (seeded).

    `rate_for`, if set, gives each call its own share instead of `rate` (0: never fails; e.g.
    every write to one table fails, the rest at 10 %). rate, rate_for, services and enabled may be
    changed while clients are in use. `injected` counts the faults by "service:kind",
    `injected_calls` by call (`Call.label`), `calls` the calls seen by service."""

    rate: float = 0.1
    services: frozenset[str] = DEFAULT_SERVICES
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    enabled: bool = True
    rate_for: Callable[[Call], float] | None = None
    injected: Counter[str] = field(default_factory=Counter)
    injected_calls: Counter[str] = field(default_factory=Counter)
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
        if getattr(client, "_liveops_faults", None) is self:
            return
        client._liveops_faults = self
        service = client.meta.service_model.service_name
        protocol = client.meta.service_model.protocol
        mock = _take_in_process_mock(client)

        def before_send(request: Any, **kwargs: Any) -> Any:
            fault = self._maybe_fail(service, protocol, request, kwargs)
            if fault is not None or mock is None:
                return fault
            return mock(request=request, **kwargs)

        client.meta.events.register_first("before-send", before_send)

    def _maybe_fail(
        self, service: str, protocol: str, request: Any, kwargs: dict[str, Any]
    ) -> AWSResponse | None:
        operation = str(kwargs.get("event_name", "")).rsplit(".", 1)[-1]
        with self._lock:
            if service not in self.services:
                return None
            self.calls[service] += 1
            if not self.enabled:
                return None
            call = None
            rate = self.rate
            if self.rate_for is not None:
                call = _describe(service, operation, request)
                rate = self.rate_for(call)
            if self._random.random() >= rate:
                return None
            kind = self._random.choice(self.kinds)
            self.injected[f"{service}:{kind}"] += 1
            self.injected_calls[(call or _describe(service, operation, request)).label] += 1
        if kind == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        return _error_response(service, protocol, kind, operation, request)


def _take_in_process_mock(client: Any) -> Any:
    """moto's in-process mock (mock_aws) answers requests from a `before-send` handler as well, and
    botocore calls every `before-send` handler even after one has answered: a faulted request
    would still be executed by the mock (a write applied, then reported failed). The injector
    takes the mock's place on the client and calls it only for the requests it lets through, so
    that a fault means "never reached the service" in-process as against the moto server."""
    models = sys.modules.get("moto.core.models")
    if models is None:
        return None
    stubber = models.botocore_stubber
    client.meta.events.unregister("before-send", stubber)
    return stubber


def _describe(service: str, operation: str, request: Any) -> Call:
    target = key = None
    if service == "dynamodb":
        try:
            body = json.loads(request.body or b"{}")
        except (TypeError, ValueError):
            body = {}
        tables = {body["TableName"]} if "TableName" in body else set()
        for item in body.get("TransactItems", []):
            tables.update(str(part.get("TableName")) for part in item.values() if isinstance(part, dict))
        tables.update(body.get("RequestItems", {}))
        target = ",".join(sorted(tables)) or None
        named = body.get("Key") or body.get("Item") or {}
        pk = named.get("pk") if isinstance(named, dict) else None
        if isinstance(pk, dict) and "S" in pk:
            key = str(pk["S"])
        elif isinstance(body.get("ExpressionAttributeValues"), dict):  # a Query by partition key
            value = body["ExpressionAttributeValues"].get(":pk")
            key = str(value["S"]) if isinstance(value, dict) and "S" in value else None
    elif service == "s3":
        # virtual-hosted (bucket.s3...) or path style (host/bucket/key)
        from urllib.parse import urlsplit

        parts = urlsplit(str(request.url))
        host = parts.hostname or ""
        target = (
            host.split(".s3", 1)[0] if ".s3" in host else (parts.path.lstrip("/").split("/", 1)[0] or None)
        )
    return Call(service, operation, target, key)


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
