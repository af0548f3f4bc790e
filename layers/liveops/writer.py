"""The writer: a whole SQS batch -> one Parquet file per (app, dt, hour), partitions registered.

Failures are reported per message (partial batch response): a message that cannot be parsed, or
whose partition could not be written, is retried by SQS (then dead-lettered); the others are done.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from liveops.domain.raw_events import PartitionRows, group_by_partition, parse_message

logger = Logger(service="liveops")


class Lake(Protocol):
    def location(self) -> str: ...
    def write(self, group: PartitionRows) -> str: ...


class Catalog(Protocol):
    def register(self, partitions: list[tuple[list[str], str]]) -> None: ...


class RawEventWriter:
    def __init__(self, lake: Lake, catalog: Catalog) -> None:
        self._lake = lake
        self._catalog = catalog

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        parsed: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []

        def parse(record: SQSRecord) -> None:
            header, events = parse_message(record.body)
            parsed.append((record.message_id, header, events))

        with processor(records=event.get("Records", []), handler=parse):
            processor.process()
            failed = self._write(parsed)
            if failed:
                # Powertools keeps successes as raw records and failures as data classes
                raw: list[dict[str, Any]] = processor.success_messages  # type: ignore[assignment]
                for record in [r for r in raw if r["messageId"] in failed]:
                    raw.remove(record)
                    processor.failure_handler(SQSRecord(record), failed[record["messageId"]])
        return dict(processor.response())

    def _write(self, parsed: list[tuple[str, dict[str, Any], list[dict[str, Any]]]]) -> dict[str, Any]:
        """Write every partition; returns exc_info per message id whose rows did not land."""
        failed: dict[str, Any] = {}
        written: list[PartitionRows] = []
        for group in group_by_partition(parsed):
            try:
                self._lake.write(group)
                written.append(group)
            except Exception:
                logger.exception("partition write failed", extra={"partition": group.key.prefix()})
                failed.update(dict.fromkeys(group.message_ids, sys.exc_info()))
        try:
            root = self._lake.location()
            self._catalog.register([(g.key.values(), root + g.key.prefix("")[1:]) for g in written])
        except Exception:
            # the files are there, but unregistered partitions are invisible: retry the messages
            logger.exception("partition registration failed")
            info = sys.exc_info()
            for group in written:
                failed.update(dict.fromkeys(group.message_ids, info))
        rows = sum(sum(1 for r in g.rows if r is not None) for g in written)
        logger.info(
            "batch written", extra={"partitions": len(written), "rows": rows, "failed_messages": len(failed)}
        )
        return failed
