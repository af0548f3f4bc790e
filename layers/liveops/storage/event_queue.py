"""SQS adapter for the events queue between ingest and writer."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from liveops.errors import Unavailable

SQS_MAX_BATCH_ENTRIES = 10
SQS_MAX_BATCH_BYTES = 256 * 1024


class EventQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def send(self, bodies: list[bytes]) -> None:
        """Enqueue every body or raise Unavailable; SendMessageBatch calls respect SQS's limits."""
        for group in _groups(bodies):
            entries = [{"Id": str(i), "MessageBody": body.decode()} for i, body in enumerate(group)]
            for _attempt in range(3):
                try:
                    result = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
                except (BotoCoreError, ClientError) as exc:
                    raise Unavailable("the events queue is unreachable; retry later") from exc
                failed = {f["Id"] for f in result.get("Failed", [])}
                entries = [e for e in entries if e["Id"] in failed]
                if not entries:
                    break
            else:
                raise Unavailable("the events queue refused messages; retry later")


def _groups(bodies: list[bytes]) -> list[list[bytes]]:
    groups: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for body in bodies:
        if current and (len(current) == SQS_MAX_BATCH_ENTRIES or size + len(body) > SQS_MAX_BATCH_BYTES):
            groups.append(current)
            current, size = [], 0
        current.append(body)
        size += len(body)
    if current:
        groups.append(current)
    return groups
