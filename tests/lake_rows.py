"""The lake rows the writer makes of a queue message: for tests that check what ends up stored."""

from __future__ import annotations

from typing import Any

from liveops.domain.raw_batch import event_batch
from liveops.domain.raw_events import EVENT_COLUMNS, parse_message


def message_columns(message: bytes | str) -> dict[str, list[Any]]:
    """A message's events as the lake's per-event columns (maps as dicts, numbers as doubles)."""
    _, events = parse_message(message)
    rows = event_batch(events).to_pylist()
    return {
        name: [dict(row[name]) if name in ("nums", "attrs") else row[name] for row in rows]
        for name in EVENT_COLUMNS
    }


def message_rows(message: bytes | str) -> list[dict[str, Any]]:
    columns = message_columns(message)
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
