"""Storage per data category of an app: what the lake holds now (listed live) and the retention
job's last report (what it deleted and what every category, DynamoDB ones too, held after it).
Served by GET /v1/metrics/storage and printed by `liveops storage --app A`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

COLUMNS = ["category", "prefix", "bytes", "objects"]


class PrefixUsage(Protocol):
    def usage(self, prefix: str) -> tuple[int, int]: ...


def storage_summary(
    app_id: str, usage: PrefixUsage, prefixes: dict[str, str], last_cleanup: dict[str, Any] | None
) -> tuple[dict[str, Any], tuple[list[str], list[list[Any]]]]:
    """(the JSON body, its flat table for CSV)."""
    with ThreadPoolExecutor(max_workers=max(len(prefixes), 1)) as pool:
        sizes = list(pool.map(usage.usage, prefixes.values()))
    rows: list[list[Any]] = [
        [category, prefix, size, objects]
        for (category, prefix), (size, objects) in zip(prefixes.items(), sizes, strict=True)
    ]
    body = {
        "app": app_id,
        "categories": [dict(zip(COLUMNS, row, strict=True)) for row in rows],
        "total": {"bytes": sum(size for size, _ in sizes), "objects": sum(n for _, n in sizes)},
        "last_cleanup": last_cleanup,
    }
    return body, (COLUMNS, rows)
