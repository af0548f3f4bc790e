"""Small helpers every DynamoDB adapter shares."""

from __future__ import annotations

import time

CONDITIONAL_FAILURES = ("ConditionalCheckFailedException", "TransactionCanceledException")


def now_iso() -> str:
    """The current UTC time as stored in items (second precision, Z suffix)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def is_conditional_failure(exc: Exception) -> bool:
    """True when a write was refused by its condition (a put, an update or a transaction)."""
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in CONDITIONAL_FAILURES
