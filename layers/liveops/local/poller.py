"""Feeds SQS-triggered functions from their queues, as Lambda's event source mapping does:
batches up to BatchSize within the batching window, deletes what succeeded, and lets failed
messages come back after a short visibility timeout (then to the DLQ by the queue's redrive)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(service="liveops-local")
LOCAL_RETRY_SECONDS = 2


class QueuePoller:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        invoke: Callable[[dict[str, Any]], Any],
        batch_size: int = 10,
        window_seconds: float = 1.0,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.invoke = invoke
        self.batch_size = batch_size
        self.window_seconds = window_seconds
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=self.run, name=f"poller-{queue_arn.rsplit(':', 1)[-1]}", daemon=True
        )
        self.processed = 0

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)

    def receive_batch(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.window_seconds
        while len(messages) < self.batch_size and not self.stop_event.is_set():
            wait = 1 if not messages else 0
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(got)
            if not got and (messages or time.monotonic() >= deadline):
                break
            if time.monotonic() >= deadline and messages:
                break
        return messages

    def to_event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": m.get("MessageAttributes", {}),
                    "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }

    def poll_once(self) -> int:
        """One receive-invoke-delete cycle; returns how many messages succeeded."""
        messages = self.receive_batch()
        if not messages:
            return 0
        try:
            result = self.invoke(self.to_event(messages))
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:
            logger.exception("function failed; the whole batch will be retried")
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=m["ReceiptHandle"],
                    VisibilityTimeout=LOCAL_RETRY_SECONDS,
                )
        self.processed += len(done)
        return len(done)

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.poll_once()
            except Exception:
                logger.exception("queue poll failed")
                self.stop_event.wait(1)
