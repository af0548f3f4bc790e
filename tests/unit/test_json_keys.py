"""Duplicate keys: the counting proof agrees with the exact check on every generated body."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops.domain.json_keys import duplicate_key, first_duplicate_key, json_loads, keys_may_repeat

KEYS = st.text(alphabet=':ab"\\é', min_size=0, max_size=3)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=':xé"\\', max_size=4)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)


def write(value: Any, draw: st.DrawFn) -> str:
    """JSON text of `value`, in a random style: spaces or not, escaped non-ASCII and colons or not,
    and maybe a key written twice (the first value then dropped by every parser)."""
    space = draw(st.sampled_from(["", " ", "\n "]))
    if isinstance(value, dict):
        items = [(k, write(v, draw)) for k, v in value.items()]
        if items and draw(st.booleans()):
            key = draw(st.sampled_from([k for k, _ in items]))
            items.insert(0, (key, write(draw(SCALARS), draw)))
        return "{" + ("," + space).join(f"{text(k, draw)}{space}:{space}{v}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ("," + space).join(write(v, draw) for v in value) + "]"
    if isinstance(value, str):
        return text(value, draw)
    return json.dumps(value)


def text(value: str, draw: st.DrawFn) -> str:
    written = json.dumps(value, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        written = written.replace(":", "\\u003a")
    return written


@st.composite
def bodies(draw: st.DrawFn) -> str:
    return write(draw(VALUES), draw)


@settings(max_examples=1500, deadline=None)
@given(raw=bodies())
def test_counting_agrees_with_the_exact_check(raw: str) -> None:
    parsed = orjson.loads(raw)
    exact = first_duplicate_key(raw)
    colons = orjson.dumps(parsed).count(b":")
    assert duplicate_key(raw, colons) == exact
    assert duplicate_key(raw.encode(), colons) == exact
    if exact is None:
        assert json_loads(raw) == parsed
    else:
        with pytest.raises(json.JSONDecodeError, match="duplicate key"):
            json_loads(raw)


def test_counting_alone_proves_the_usual_body() -> None:
    raw = '{"a": "10:00", "b": [{"a": 1}, {"a": 2}], "c": {"d": "x"}}'
    assert not keys_may_repeat(raw, orjson.dumps(orjson.loads(raw)).count(b":"))


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ('{"a": 1, "a": 2}', "a"),
        ('{"x": {"a": 1, "b": 2, "a": 3}}', "a"),
        ('[{"a": 1}, {"b": 1, "b": 1}]', "b"),
        ('{"a": 1, "a": "\\u003a"}', "a"),  # the escaped colon makes up the dropped key's colon
        ('{"é": 1, "\\u00e9": 2}', "é"),
    ],
)
def test_duplicates_are_named(raw: str, key: str) -> None:
    with pytest.raises(json.JSONDecodeError, match=f"duplicate key {key!r}"):
        json_loads(raw)


def test_what_orjson_refuses_stays_refused() -> None:
    for raw in ("NaN", '{"a": Infinity}', '{"a": 1,}', ""):
        with pytest.raises(json.JSONDecodeError):
            json_loads(raw)
