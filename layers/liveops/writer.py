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

from liveops.domain.raw_batch import RawBatch, RawPartition
from liveops.domain.raw_events import parse_message

logger = Logger(service="liveops")


class Lake(Protocol):
    def location(self) -> str: ...
    def write(self, partition: RawPartition) -> str: ...
    def delete(self, partition: RawPartition) -> None: ...


class Catalog(Protocol):
    def register(self, partitions: list[tuple[list[str], str]]) -> None: ...


class DirtyMarks(Protocol):
    def mark(self, scope: str, app_id: str, key: str) -> None: ...


class RawEventWriter:
    def __init__(self, lake: Lake, catalog: Catalog, marks: DirtyMarks) -> None:
        self._lake = lake
        self._catalog = catalog
        self._marks = marks

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        batch = RawBatch()

        def add(record: SQSRecord) -> None:
            batch.add(record.message_id, *parse_message(record.body))

        with processor(records=event.get("Records", []), handler=add):
            processor.process()
            failed = self._write(batch)
            if failed:
                # Powertools keeps successes as raw records and failures as data classes
                raw: list[dict[str, Any]] = processor.success_messages  # type: ignore[assignment]
                for record in [r for r in raw if r["messageId"] in failed]:
                    raw.remove(record)
                    processor.failure_handler(SQSRecord(record), failed[record["messageId"]])
        return dict(processor.response())

    def _write(self, batch: RawBatch) -> dict[str, Any]:
        """Write every partition; returns exc_info per message id whose rows did not land.

        Order matters for "retried messages land once": partitions are registered and their hours
        marked first (both harmless if nothing follows), so a failure there writes nothing. Then
        the files: when a message's rows landed in one partition but not in another, the landed
        file is deleted again and all of its messages are retried, so the retry does not add a
        second copy of them. Only if that delete fails too do the rows stay twice in raw/ (the
        rollups dedupe by event_id, so figures still count them once)."""
        partitions = list(batch.partitions())
        try:
            root = self._lake.location()
            self._catalog.register([(p.key.values(), root + p.key.prefix("")[1:]) for p in partitions])
            # tell the rollup job which hours change; without the mark the rows would never be counted
            for partition in partitions:
                self._marks.mark("hour", partition.key.app_id, f"{partition.key.dt}T{partition.key.hour}")
        except Exception:
            logger.exception("partition registration failed; nothing written")
            info = sys.exc_info()
            return {message_id: info for p in partitions for message_id in p.message_ids}
        failed: dict[str, Any] = {}
        written: list[RawPartition] = []
        for partition in partitions:
            try:
                self._lake.write(partition)
                written.append(partition)
            except Exception:
                logger.exception("partition write failed", extra={"partition": partition.key.prefix()})
                failed.update(dict.fromkeys(partition.message_ids, sys.exc_info()))
        written = self._roll_back_partial(written, failed)
        rows = sum(p.table.num_rows for p in written)
        logger.info(
            "batch written", extra={"partitions": len(written), "rows": rows, "failed_messages": len(failed)}
        )
        return failed

    def _roll_back_partial(self, written: list[RawPartition], failed: dict[str, Any]) -> list[RawPartition]:
        """Deletes written files that hold rows of failed messages (their messages then fail too,
        which may reach further files); returns the partitions that stay written."""
        kept = list(written)
        changed = bool(failed)
        while changed:
            changed = False
            for partition in list(kept):
                if failed.keys().isdisjoint(partition.message_ids):
                    continue
                kept.remove(partition)
                try:
                    self._lake.delete(partition)
                except Exception:  # the rows stay; only the failed messages come again
                    logger.exception(
                        "rollback of a partial write failed", extra={"partition": partition.key.prefix()}
                    )
                    continue
                info = next(iter(failed.values()))
                for message_id in partition.message_ids:
                    if message_id not in failed:
                        failed[message_id] = info
                        changed = True
        return kept
