"""Duplicate keys in a JSON body: refused everywhere, since two readers may resolve them differently.

Fast parsers (orjson, msgspec) keep the last value of a repeated key and say nothing. Checking
every object's keys in Python would cost more than the parse, so the common case is proven by
counting instead: every `:` in a body is either a key's colon or a literal character of a
string (a `:` in a string may also be written `\\u003a`: such bodies take the exact check), and a
re-encoding of what was parsed (which escapes no `:`) has exactly one colon per key it kept plus
the same literal ones. Equal counts therefore prove that no key was dropped. Any other case takes
the exact, slow check: it is only ever slower, never wrong.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def refuse_duplicate_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A json.loads object_pairs_hook that raises DuplicateKey on the first repeated key."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKey(key)
        found[key] = value
    return found


def keys_may_repeat(raw: str | bytes, colons_kept: int) -> bool:
    """False when counting proves that `raw` has no repeated key in any object. `colons_kept`:
    the `:` in what was parsed from `raw`, encoded again by orjson or msgspec (they escape none).
    A backslash sends the body to the exact check only when a `\\u003` escape may be a colon."""
    if isinstance(raw, bytes):
        escaped = b"\\" in raw and b"\\u003" in raw
        return escaped or raw.count(b":") != colons_kept
    return ("\\" in raw and "\\u003" in raw) or raw.count(":") != colons_kept


def first_duplicate_key(raw: str | bytes) -> str | None:
    """The first repeated key of any object in `raw` (valid JSON), or None: the exact check."""
    try:
        json.loads(raw, object_pairs_hook=refuse_duplicate_pairs)
    except DuplicateKey as exc:
        return exc.key
    return None


def duplicate_key(raw: str | bytes, colons_kept: int) -> str | None:
    """The first repeated key in `raw`, counting first and parsing again only when counting
    cannot prove there is none (see `keys_may_repeat`)."""
    if not keys_may_repeat(raw, colons_kept):
        return None
    return first_duplicate_key(raw)


def json_loads(text: str | bytes) -> Any:
    """orjson's parse (no NaN/Infinity, integers within 64 bits) that also refuses duplicate keys;
    raises json.JSONDecodeError (orjson's, or one naming the repeated key)."""
    parsed = orjson.loads(text)
    repeated = duplicate_key(text, orjson.dumps(parsed).count(b":"))
    if repeated is not None:
        doc = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise json.JSONDecodeError(f"duplicate key {repeated!r}", doc, 0)
    return parsed
