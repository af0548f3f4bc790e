"""Calling handlers through the local gateway (routes from template.yaml) and reading the queue."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from liveops import aws
from liveops.local.gateway import Gateway
from liveops.local.runtime import LocalFunction
from liveops.local.template import functions, http_routes, project_template


class Api:
    def __init__(self) -> None:
        template = project_template()
        self.functions = {f.logical_id: LocalFunction(f) for f in functions(template)}
        self.gateway = Gateway(http_routes(template), lambda fn, event: self.functions[fn].invoke(event))

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        status, out_headers, out = self.gateway.handle(method, path, list((headers or {}).items()), data)
        return status, {k.lower(): v for k, v in out_headers.items()}, json.loads(out) if out else None


def event(event_type: str = "run_end", *, when: datetime | None = None, **payload: Any) -> dict[str, Any]:
    if event_type == "run_end" and not payload:
        payload = {"run_id": "r1", "outcome": "win", "score": 10}
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "event_time": (when or datetime.now(UTC) - timedelta(seconds=5)).isoformat().replace("+00:00", "Z"),
        "payload": payload,
    }


def batch(events: list[dict[str, Any]], **envelope: Any) -> dict[str, Any]:
    return {
        "session_id": "s-1",
        "platform": "web",
        "client_version": "1.2.0",
        "user_id": "player-42",
        **envelope,
        "events": events,
    }


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Every message body now in the queue (removed from it)."""
    sqs = aws.client("sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not got:
            return bodies
        for message in got:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
