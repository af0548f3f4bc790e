"""Printing for the CLI: one JSON object with --json, readable text otherwise; errors to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit(as_json: bool, data: Any, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False) if as_json else text)


def fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code
