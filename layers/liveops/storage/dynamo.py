"""Small helpers every DynamoDB adapter shares."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

CONDITIONAL_FAILURES = ("ConditionalCheckFailedException", "TransactionCanceledException")


def now_iso() -> str:
    """The current UTC time as stored in items (second precision, Z suffix)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def all_items(call: Callable[..., dict[str, Any]], **request: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query or a Scan (`call` is the client's `query` or `scan`), page by page."""
    while True:
        page = call(**request)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def is_conditional_failure(exc: Exception) -> bool:
    """True when a write was refused by its condition (a put, an update or a transaction)."""
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in CONDITIONAL_FAILURES
