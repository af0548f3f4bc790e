"""Rollup benchmark: dedupe + hourly + daily rollups of 10 M raw events, the product's jobs vs DuckDB.

The data (one day of one app, 24 hourly Parquet files in the lake's Hive layout, ~1 % duplicate
event ids, ~200k hourly groups) is generated once, vectorised, into `.bench-cache/rollup-10m/` and
reused while its marker file says it is complete and of this generator's version.

Each engine then runs in a fresh subprocess over the same files so that its peak RSS is its own:

- jobs (the headline): exactly what the `rollup` and `rollup-daily` jobs
  (`liveops.rollups.jobs`) ask of the embedded engine for a day:
  `EmbeddedEngine.rollup(config, day, day + DAY_MS, HOUR_MS)`, then, separately,
  `EmbeddedEngine.rollup(config, day, day + DAY_MS, DAY_MS)`. Each call reads and deduplicates
  the day again, through a `RawReader` over the local files that reads like
  `lake.RawEventsReader` (a file's bytes, then `read_columns` of the rollups' columns, one file
  ahead with `prefetch`). Both calls run in the same child, one after the other; its peak RSS is
  the larger of the two jobs' peaks (the rollup job's own peak is printed too). The rollup-daily
  job's other tables are measured apart (below);
- one pass (secondary, not the product's path): the files are read once (`read_columns`, one
  ahead) into `prepare`, which deduplicates once; `embedded.rollup_rows` then computes the hourly
  and the daily table from the same prepared rows. Its difference to the jobs is the cost of the
  daily job's second read + dedupe;
- rollup-daily job (diagnostic): every engine call of `RollupJobs._daily` for the day in one
  child, in the job's order: the daily rollup (kpi_daily from it), `span_daily`, `funnel_daily`,
  `experiment_daily`, each reading the files it needs again. The bench config has a span, a funnel
  and four experiment metrics over the generated event types and fields; the assignments (every
  user of the data, two variants) are derived from the files and written beforehand as the lake
  holds them. Their figures are not compared with DuckDB's (no SQL of them here);
- DuckDB: the same contract (docs/rollups.md) in SQL over `read_parquet`: the deduplicated rows
  are prepared once into a temporary table, then the hourly and daily tables are created from it,
  with DuckDB's default settings (threads = cores).

`--hours N` runs every engine over the first N hourly files only (quicker while iterating; the
jobs still ask for the whole day, their reader just has fewer files).

Every result is written to Parquet after the timed part and compared row by row with DuckDB's in
the parent. `bench_rollups()` returns rows for `tests/bench/run.py`; running this file prints them.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from liveops.domain.raw_batch import NUM_MAP, RAW_EVENTS_SCHEMA, STR_MAP
from liveops.models.app_config import AppConfig, load_app_config
from liveops.rollups.schema import NONE_VALUE, ROLLUP, TOTAL

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".bench-cache" / "rollup-10m"
MARKER = CACHE / "COMPLETE.json"
GENERATOR_VERSION = 5

Row = tuple[str, str, str, str]

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
APP_ID = "bench-10m"
DAY0_MS = int(datetime(2026, 3, 10, tzinfo=UTC).timestamp() * 1000)
ROWS = 10_000_000
DUPLICATES = ROWS // 100  # later-received copies of existing events
EVENTS = ROWS - DUPLICATES
USERS = 180_000
SEED = 20260310

# ------------------------------------------------------------------------------------ the app
DEVICE = {"model": {"type": "string"}, "locale": {"type": "string"}}
CONFIG_DOC: dict[str, Any] = {
    "app_id": APP_ID,
    "name": "Rollup benchmark",
    "platforms": ["android", "ios", "web"],
    "events": {
        "session_start": {
            "fields": {
                **DEVICE,
                "load_ms": {"type": "number", "min": 0},
                "launch": {"type": "string", "enum": ["cold", "resume"]},
            }
        },
        "level_start": {
            "fields": {**DEVICE, "level": {"type": "integer", "min": 1}, "world": {"type": "string"}}
        },
        "level_end": {
            "fields": {
                **DEVICE,
                "level": {"type": "integer", "min": 1},
                "world": {"type": "string"},
                "outcome": {"type": "string", "enum": ["win", "loss", "abandon"]},
                "duration_ms": {"type": "number", "min": 0},
                "score": {"type": "integer", "min": 0},
                "boss": {"type": "boolean"},
            }
        },
        "frame_stats": {
            "fields": {
                **DEVICE,
                "world": {"type": "string"},
                "fps": {"type": "number", "min": 0},
                "frame_ms": {"type": "number", "min": 0},
            }
        },
        "purchase": {
            "fields": {
                **DEVICE,
                "amount": {"type": "number", "min": 0},
                "currency": {"type": "string"},
                "sku": {"type": "string"},
            }
        },
        "ad_view": {"fields": {**DEVICE, "reward": {"type": "integer"}, "placement": {"type": "string"}}},
        "error": {"fields": {**DEVICE, "code": {"type": "integer"}, "kind": {"type": "string"}}},
        "session_end": {"fields": {**DEVICE, "length_s": {"type": "number", "min": 0}}},
    },
    "dimensions": [
        "platform",
        "client_version",
        {"name": "world", "from": "payload.world"},
        {"name": "model", "from": "payload.model"},
        {"name": "locale", "from": "payload.locale"},
    ],
    "measures": {
        "load_time": {"event": "session_start", "field": "load_ms", "aggs": ["avg", "p50", "p95", "p99"]},
        "level_duration": {"event": "level_end", "field": "duration_ms", "aggs": ["p50", "p95", "p99"]},
        "boss_duration": {
            "event": "level_end",
            "field": "duration_ms",
            "where": {"boss": True},
            "aggs": ["p50", "p95"],
        },
        "fps": {"event": "frame_stats", "field": "fps", "aggs": ["min", "p50", "p95", "p99"]},
        "frame_time": {"event": "frame_stats", "field": "frame_ms", "aggs": ["p95", "p99"]},
        "revenue": {"event": "purchase", "field": "amount", "aggs": ["sum", "count", "p50"]},
    },
    "kpis": {
        "win_rate": {
            "numerator": {"event": "level_end", "where": {"outcome": "win"}},
            "denominator": {"event": "level_end"},
        },
        "conversion": {"numerator": {"event": "purchase"}, "denominator": {"event": "session_start"}},
        "crash_rate": {
            "numerator": {"event": "error", "where": {"kind": "crash"}},
            "denominator": {"event": "session_start"},
        },
    },
    # the rollup-daily job's other tables (not in the DuckDB comparison: hourly and daily rollups
    # use none of them), over event types and fields the generated data has
    "spans": {"level_time": {"start": "level_start", "end": "level_end", "key": "level", "max_minutes": 60}},
    "funnels": {
        "first_purchase": {
            "by": "session",
            "window_minutes": 60,
            "steps": ["session_start", "level_start", "level_end", "purchase"],
        }
    },
    "experiments": {"metrics": ["conversion", "revenue.sum", "load_time.avg", "events.count"]},
}


def bench_config() -> AppConfig:
    return load_app_config(CONFIG_DOC)


# ------------------------------------------------------------------------------------ generation
TYPES = list(CONFIG_DOC["events"])
T = {name: i for i, name in enumerate(TYPES)}
MIDDLE_TYPES = ["frame_stats", "level_start", "level_end", "ad_view", "error", "purchase"]
MIDDLE_WEIGHTS = [0.42, 0.19, 0.18, 0.16, 0.035, 0.015]

NUM_KEYS = [
    "load_ms",
    "level",
    "duration_ms",
    "score",
    "boss",
    "fps",
    "frame_ms",
    "amount",
    "reward",
    "code",
    "length_s",
]
INTEGER_KEYS = {"level", "score", "reward", "code"}
ATTR_KEYS = ["model", "locale", "world", "launch", "outcome", "currency", "sku", "placement", "kind"]

PLATFORMS = ["android", "ios", "web"]
PLATFORM_WEIGHTS = [0.47, 0.40, 0.13]
MODELS = {
    "android": [f"{brand}-{n}" for brand in ("SM", "Pixel", "Redmi", "moto") for n in range(70)],
    "ios": [f"iPhone{major},{minor}" for major in range(10, 17) for minor in range(1, 7)],
    "web": [f"{b}/{v}" for b in ("Chrome", "Firefox", "Safari", "Edge") for v in range(110, 118)],
}
VERSIONS = {p: [f"{p[0]}4.{minor}.{patch}" for minor in range(2, 6) for patch in range(4)] for p in PLATFORMS}
LOCALES = [
    f"{lang}-{country}"
    for lang, countries in (
        ("en", "US GB CA AU IN IE NZ ZA"),
        ("es", "ES MX AR CO CL"),
        ("pt", "BR PT"),
        ("fr", "FR CA BE CH"),
        ("de", "DE AT CH"),
        ("it", "IT"),
        ("ja", "JP"),
        ("ko", "KR"),
        ("zh", "CN TW HK"),
        ("ru", "RU"),
        ("tr", "TR"),
        ("pl", "PL"),
        ("nl", "NL BE"),
        ("sv", "SE"),
        ("id", "ID"),
        ("th", "TH"),
        ("vi", "VN"),
        ("ar", "SA EG AE"),
    )
    for country in countries.split()
]
WORLDS = [f"world_{i:02d}" for i in range(40)]
ATTR_VALUES: dict[str, list[str]] = {
    "model": [m for p in PLATFORMS for m in MODELS[p]],
    "locale": LOCALES,
    "world": WORLDS,
    "launch": ["cold", "resume"],
    "outcome": ["win", "loss", "abandon"],
    "currency": ["USD", "EUR", "GBP", "BRL", "JPY", "KRW", "INR", "MXN"],
    "sku": [f"gems_{i}" for i in range(30)] + [f"pass_{i}" for i in range(10)],
    "placement": ["level_end", "shop", "daily_bonus", "revive", "chest"],
    "kind": ["crash", "anr", "network", "asset", "other"],
}
TYPE_NUMS = {
    "session_start": ["load_ms"],
    "level_start": ["level"],
    "level_end": ["level", "duration_ms", "score", "boss"],
    "frame_stats": ["fps", "frame_ms"],
    "purchase": ["amount"],
    "ad_view": ["reward"],
    "error": ["code"],
    "session_end": ["length_s"],
}
TYPE_ATTRS = {
    "session_start": ["model", "locale", "launch"],
    "level_start": ["model", "locale", "world"],
    "level_end": ["model", "locale", "world", "outcome"],
    "frame_stats": ["model", "locale", "world"],
    "purchase": ["model", "locale", "currency", "sku"],
    "ad_view": ["model", "locale", "placement"],
    "error": ["model", "locale", "kind"],
    "session_end": ["model", "locale"],
}


def zipf_weights(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def fixed_strings(chars: np.ndarray) -> pa.StringArray:
    """A string array from an (n, width) uint8 matrix of ASCII characters, without Python objects."""
    n, width = chars.shape
    offsets = np.arange(n + 1, dtype=np.int64) * width
    kind = pa.large_string() if width * n >= 2**31 else pa.string()
    offsets = offsets if kind == pa.large_string() else offsets.astype(np.int32)
    array = pa.Array.from_buffers(
        kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars).tobytes())]
    )
    return array.cast(pa.string())


HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_chars(raw: np.ndarray) -> np.ndarray:
    """(n, k) random bytes -> (n, 2k) lowercase hex characters."""
    out = np.empty((raw.shape[0], raw.shape[1] * 2), dtype=np.uint8)
    out[:, 0::2] = HEX[raw >> 4]
    out[:, 1::2] = HEX[raw & 15]
    return out


def uuid_chars(raw: np.ndarray) -> np.ndarray:
    """(n, 16) random bytes -> (n, 36) uuid4-looking text."""
    raw = raw.copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    h = hex_chars(raw)
    dash = np.full((raw.shape[0], 1), ord("-"), dtype=np.uint8)
    return np.hstack([h[:, :8], dash, h[:, 8:12], dash, h[:, 12:16], dash, h[:, 16:20], dash, h[:, 20:]])


@dataclass
class Universe:
    """Everything about the unique events, as numpy arrays; rows of files are built from it."""

    event_type: np.ndarray  # int8 per event
    event_time: np.ndarray  # ms
    skew: np.ndarray  # client clock skew per event, ms
    session: np.ndarray  # int32 per event
    chunk: np.ndarray  # batch (upload) index per event
    received: np.ndarray  # ms per event (its batch's arrival)
    event_ids: np.ndarray  # (EVENTS, 16) uint8
    session_ids: pa.Array
    session_user: np.ndarray
    session_version: np.ndarray  # index into ALL_VERSIONS
    session_has_user: np.ndarray
    user_hashes: pa.Array
    user_platform: np.ndarray
    user_model: np.ndarray  # index into ATTR_VALUES["model"]
    user_locale: np.ndarray
    batch_ids: pa.Array  # per chunk (and per duplicate chunk, appended)
    nums: dict[str, np.ndarray]  # per event, NaN where the event has no such field
    attrs: dict[str, np.ndarray]  # per event code into ATTR_VALUES[key], -1 where absent (model/locale: user)


ALL_VERSIONS = [v for p in PLATFORMS for v in VERSIONS[p]]


def make_universe(rng: np.random.Generator) -> Universe:
    # users: platform, device, locale, activity
    user_platform = rng.choice(len(PLATFORMS), USERS, p=PLATFORM_WEIGHTS)
    model_base = np.cumsum([0] + [len(MODELS[p]) for p in PLATFORMS])
    user_model = np.zeros(USERS, dtype=np.int64)
    for i, p in enumerate(PLATFORMS):
        mine = user_platform == i
        user_model[mine] = model_base[i] + rng.choice(
            len(MODELS[p]), int(mine.sum()), p=zipf_weights(len(MODELS[p]), 1.05)
        )
    user_locale = rng.choice(len(LOCALES), USERS, p=zipf_weights(len(LOCALES), 1.1))
    activity = rng.lognormal(0.0, 1.0, USERS)
    user_hashes = fixed_strings(hex_chars(rng.integers(0, 256, (USERS, 32), dtype=np.uint8)))

    # sessions: length (events), user, version, start time (diurnal)
    lengths = np.maximum(2, rng.geometric(1 / 25, EVENTS // 10))
    sessions = int(np.searchsorted(np.cumsum(lengths), EVENTS)) + 1
    lengths = lengths[:sessions]
    lengths[-1] -= lengths.sum() - EVENTS
    if lengths[-1] < 1:
        raise RuntimeError("session lengths do not add up")
    session_user = rng.choice(USERS, sessions, p=activity / activity.sum())
    version_base = np.cumsum([0] + [len(VERSIONS[p]) for p in PLATFORMS])
    platform_of_session = user_platform[session_user]
    session_version = np.zeros(sessions, dtype=np.int64)
    for i, p in enumerate(PLATFORMS):
        mine = platform_of_session == i
        recent_first = zipf_weights(len(VERSIONS[p]), 1.3)[::-1]
        session_version[mine] = version_base[i] + rng.choice(
            len(VERSIONS[p]), int(mine.sum()), p=recent_first
        )
    session_has_user = rng.random(sessions) >= 0.03
    session_ids = fixed_strings(uuid_chars(rng.integers(0, 256, (sessions, 16), dtype=np.uint8)))

    session = np.repeat(np.arange(sessions, dtype=np.int32), lengths)
    first = np.r_[0, np.cumsum(lengths)[:-1]]
    last = first + lengths - 1
    position = np.arange(EVENTS) - first[session]
    gaps = rng.exponential(20_000, EVENTS).astype(np.int64) + 50
    gaps[first] = 0
    offset = np.cumsum(gaps)
    offset -= offset[first][session]
    duration = offset[last]
    hour_weights = 1.0 + 0.6 * np.sin((np.arange(24) - 9) / 24 * 2 * np.pi)
    start_hour = rng.choice(24, sessions, p=hour_weights / hour_weights.sum())
    start = start_hour * HOUR_MS + rng.integers(0, HOUR_MS, sessions)
    start = np.minimum(start, DAY_MS - 1 - duration)
    event_time = DAY0_MS + start[session] + offset

    event_type = rng.choice([T[t] for t in MIDDLE_TYPES], EVENTS, p=MIDDLE_WEIGHTS).astype(np.int8)
    event_type[first] = T["session_start"]
    event_type[last] = T["session_end"]
    skew = np.repeat(rng.normal(0, 1500, sessions).astype(np.int64), lengths)

    # uploads: the client sends its events in batches of up to 30, a few seconds after the last one
    chunk_in_session = position // 30
    chunks_per_session = (lengths + 29) // 30
    chunk = np.repeat(np.r_[0, np.cumsum(chunks_per_session)[:-1]], lengths) + chunk_in_session
    chunks = int(chunks_per_session.sum())
    chunk_last = np.zeros(chunks, dtype=np.int64)
    np.maximum.at(chunk_last, chunk, event_time)
    chunk_received = chunk_last + rng.lognormal(7.5, 0.8, chunks).astype(np.int64)
    received = chunk_received[chunk]
    batch_ids = fixed_strings(hex_chars(rng.integers(0, 256, (chunks + DUPLICATES, 16), dtype=np.uint8)))

    nums: dict[str, np.ndarray] = {}
    attrs: dict[str, np.ndarray] = {}

    def rows_of(*types: str) -> np.ndarray:
        return np.flatnonzero(np.isin(event_type, [T[t] for t in types]))

    def num(key: str, rows: np.ndarray, values: np.ndarray) -> None:
        column = nums.setdefault(key, np.full(EVENTS, np.nan))
        column[rows] = values

    def attr(key: str, rows: np.ndarray, codes: np.ndarray) -> None:
        column = attrs.setdefault(key, np.full(EVENTS, -1, dtype=np.int16))
        column[rows] = codes

    platform_of_event = platform_of_session[session]
    r = rows_of("session_start")
    num("load_ms", r, np.round(rng.lognormal(7.2, 0.6, len(r)) * (1 + 0.8 * (platform_of_event[r] == 2)), 1))
    attr("launch", r, (rng.random(len(r)) < 0.3).astype(np.int16))
    r = rows_of("level_start", "level_end")
    num("level", r, rng.integers(1, 300, len(r)).astype(np.float64))
    r = rows_of("level_end")
    num("duration_ms", r, np.round(rng.lognormal(11.3, 0.7, len(r)), 0))
    num("score", r, rng.integers(0, 50_000, len(r)).astype(np.float64))
    num("boss", r, (rng.random(len(r)) < 0.1).astype(np.float64))
    attr("outcome", r, rng.choice(3, len(r), p=[0.55, 0.35, 0.10]).astype(np.int16))
    r = rows_of("level_start", "level_end", "frame_stats")
    session_world = rng.choice(len(WORLDS), sessions, p=zipf_weights(len(WORLDS), 0.8))
    world = np.where(
        rng.random(len(r)) < 0.8, session_world[session[r]], rng.integers(0, len(WORLDS), len(r))
    )
    attr("world", r, world.astype(np.int16))
    r = rows_of("frame_stats")
    fps = np.round(np.clip(rng.normal(55, 9, len(r)) - 12 * (platform_of_event[r] == 2), 5, 120), 1)
    num("fps", r, fps)
    num("frame_ms", r, np.round(1000 / fps + rng.exponential(1.5, len(r)), 2))
    r = rows_of("purchase")
    num("amount", r, rng.choice([0.99, 1.99, 4.99, 9.99, 19.99, 49.99, 99.99], len(r)))
    attr("currency", r, rng.choice(8, len(r), p=zipf_weights(8, 1.2)).astype(np.int16))
    attr("sku", r, rng.choice(40, len(r), p=zipf_weights(40, 1.0)).astype(np.int16))
    r = rows_of("ad_view")
    num("reward", r, rng.choice([10, 25, 50, 100], len(r)).astype(np.float64))
    attr("placement", r, rng.integers(0, 5, len(r)).astype(np.int16))
    r = rows_of("error")
    num("code", r, rng.integers(100, 130, len(r)).astype(np.float64))
    attr("kind", r, rng.choice(5, len(r), p=[0.2, 0.1, 0.4, 0.2, 0.1]).astype(np.int16))
    r = rows_of("session_end")
    num("length_s", r, np.round(duration[session[r]] / 1000, 1))

    return Universe(
        event_type=event_type,
        event_time=event_time,
        skew=skew,
        session=session,
        chunk=chunk,
        received=received,
        event_ids=rng.integers(0, 256, (EVENTS, 16), dtype=np.uint8),
        session_ids=session_ids,
        session_user=session_user,
        session_version=session_version,
        session_has_user=session_has_user,
        user_hashes=user_hashes,
        user_platform=user_platform,
        user_model=user_model,
        user_locale=user_locale,
        batch_ids=batch_ids,
        nums=nums,
        attrs=attrs,
    )


def key_table(keys_of_type: dict[str, list[str]], keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(keys per type, (types, max keys) table of key indices)."""
    width = max(len(v) for v in keys_of_type.values())
    table = np.zeros((len(TYPES), width), dtype=np.int64)
    counts = np.zeros(len(TYPES), dtype=np.int64)
    for t, name in enumerate(TYPES):
        counts[t] = len(keys_of_type[name])
        table[t, : counts[t]] = [keys.index(k) for k in keys_of_type[name]]
    return counts, table


NUM_COUNTS, NUM_TABLE = key_table(TYPE_NUMS, NUM_KEYS)
ATTR_COUNTS, ATTR_TABLE = key_table(TYPE_ATTRS, ATTR_KEYS)
ATTR_BASE = np.cumsum([0] + [len(ATTR_VALUES[k]) for k in ATTR_KEYS])
ATTR_STRINGS = pa.array([v for k in ATTR_KEYS for v in ATTR_VALUES[k]], pa.string())


def entries(types: np.ndarray, counts: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, ...]:
    """Map entries of rows with these types: (int32 offsets, row of each entry, key of each entry)."""
    per_row = counts[types]
    offsets = np.r_[0, np.cumsum(per_row)]
    row = np.repeat(np.arange(len(types)), per_row)
    key = table[types[row], np.arange(len(row)) - offsets[row]]
    return offsets.astype(np.int32), row, key


def joined(offsets: np.ndarray, pieces: pa.Array) -> pa.Array:
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pieces), ",")


def build_rows(u: Universe, src: np.ndarray, received: np.ndarray, batch: np.ndarray) -> pa.Table:
    """The raw rows of events `src` (indices into the universe) received at `received` in `batch`."""
    types = u.event_type[src]
    session = u.session[src]
    user = u.session_user[session]

    offsets, row, key = entries(types, NUM_COUNTS, NUM_TABLE)
    values = np.empty(len(row))
    for k, name in enumerate(NUM_KEYS):
        sel = key == k
        values[sel] = u.nums[name][src[row[sel]]]
    num_keys = pa.array(NUM_KEYS, pa.string()).take(pa.array(key))
    nums = pa.MapArray.from_arrays(offsets, num_keys, pa.array(values), type=NUM_MAP)
    is_int = np.isin(key, [NUM_KEYS.index(k) for k in INTEGER_KEYS])
    is_bool = key == NUM_KEYS.index("boss")
    text = pc.if_else(
        pa.array(is_bool),
        pc.if_else(pa.array(values == 1.0), "true", "false"),
        pc.if_else(
            pa.array(is_int),
            pc.cast(pa.array(values.astype(np.int64)), pa.string()),
            pc.cast(pa.array(values), pa.string()),
        ),
    )
    num_text = joined(
        offsets, pc.binary_join_element_wise(pa.array([f'"{k}":' for k in NUM_KEYS]).take(key), text, "")
    )

    offsets, row, key = entries(types, ATTR_COUNTS, ATTR_TABLE)
    codes = np.empty(len(row), dtype=np.int64)
    for k, name in enumerate(ATTR_KEYS):
        sel = key == k
        if name == "model":
            codes[sel] = u.user_model[user[row[sel]]]
        elif name == "locale":
            codes[sel] = u.user_locale[user[row[sel]]]
        else:
            codes[sel] = u.attrs[name][src[row[sel]]]
        codes[sel] += ATTR_BASE[k]
    attr_keys = pa.array(ATTR_KEYS, pa.string()).take(pa.array(key))
    attr_values = ATTR_STRINGS.take(pa.array(codes))
    attrs = pa.MapArray.from_arrays(offsets, attr_keys, attr_values, type=STR_MAP)
    attr_text = joined(
        offsets,
        pc.binary_join_element_wise(
            pa.array([f'"{k}":"' for k in ATTR_KEYS]).take(key), attr_values, '"', ""
        ),
    )
    payload = pc.binary_join_element_wise("{", num_text, ",", attr_text, "}", "")

    times = u.event_time[src]
    has_user = u.session_has_user[session]
    platform = u.user_platform[user]
    ts = pa.timestamp("ms", tz="UTC")
    columns = {
        "event_id": fixed_strings(uuid_chars(u.event_ids[src])),
        "event_type": pa.array(TYPES, pa.string()).take(pa.array(types)),
        "event_time": pa.array(times).cast(ts),
        "client_event_time": pa.array(times + u.skew[src]).cast(ts),
        "received_at": pa.array(received).cast(ts),
        "sent_at": pa.array(received - 40 - (received % 400)).cast(ts),
        "batch_id": u.batch_ids.take(pa.array(batch)),
        "session_id": u.session_ids.take(pa.array(session)),
        "user_hash": u.user_hashes.take(pa.array(user, mask=~has_user)),
        "platform": pa.array(PLATFORMS, pa.string()).take(pa.array(platform)),
        "client_version": pa.array(ALL_VERSIONS, pa.string()).take(pa.array(u.session_version[session])),
        "content_version": pa.array(["c17"] * len(src), pa.string()),
        "nums": nums,
        "attrs": attrs,
        "payload": payload,
    }
    return pa.Table.from_arrays([columns[f.name] for f in RAW_EVENTS_SCHEMA], schema=RAW_EVENTS_SCHEMA)


def hour_file(hour: int) -> Path:
    dt = datetime.fromtimestamp(DAY0_MS / 1000, UTC).strftime("%Y-%m-%d")
    return CACHE / f"app_id={APP_ID}" / f"dt={dt}" / f"hour={hour:02d}" / "part-0.parquet"


def cached() -> dict[str, Any] | None:
    if not MARKER.exists():
        return None
    marker: dict[str, Any] = json.loads(MARKER.read_text())
    complete = marker.get("version") == GENERATOR_VERSION and all(hour_file(h).exists() for h in range(24))
    return marker if complete else None


def generate() -> dict[str, Any]:
    """Write the 24 hourly files (and the marker, last) unless a complete cache is there."""
    marker = cached()
    if marker is not None:
        return {**marker, "cached": True}
    from liveops.storage.lake import NO_DICTIONARY

    started = time.perf_counter()
    shutil.rmtree(CACHE, ignore_errors=True)
    rng = np.random.default_rng(SEED)
    u = make_universe(rng)
    # 1 %: a later copy of an existing event (a redelivered message), in a batch of its own
    dup_src = np.sort(rng.choice(EVENTS, DUPLICATES, replace=False))
    src = np.r_[np.arange(EVENTS), dup_src]
    received = np.r_[u.received, u.received[dup_src] + rng.integers(1_000, 900_000, DUPLICATES)]
    chunks = int(u.chunk.max()) + 1
    batch = np.r_[u.chunk, chunks + rng.permutation(DUPLICATES) // 20]
    hour = (u.event_time[src] - DAY0_MS) // HOUR_MS
    order = np.lexsort((received, hour))  # a file holds its hour's rows in arrival order
    bounds = np.searchsorted(hour[order], np.arange(25))
    total_bytes = 0
    for h in range(24):
        rows = order[bounds[h] : bounds[h + 1]]
        table = build_rows(u, src[rows], received[rows], batch[rows])
        path = hour_file(h)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            table,
            path,
            compression="zstd",
            compression_level=1,
            use_dictionary=[n for n in table.column_names if n not in NO_DICTIONARY],
        )
        total_bytes += path.stat().st_size
    marker = {
        "version": GENERATOR_VERSION,
        "rows": ROWS,
        "duplicates": DUPLICATES,
        "bytes": total_bytes,
        "seconds": round(time.perf_counter() - started, 1),
    }
    MARKER.write_text(json.dumps(marker))
    return {**marker, "cached": False}


def files(hours: int = 24) -> list[str]:
    return [str(hour_file(h)) for h in range(hours)]


# ------------------------------------------------------------------------------------ DuckDB SQL
def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _field_types(config: AppConfig, field: str) -> set[str]:
    return {spec.fields[field].type for spec in config.events.values() if field in spec.fields}


def _dimension_sql(config: AppConfig, source: str) -> str:
    if not source.startswith("payload."):
        return source
    field = source.removeprefix("payload.")
    as_int = f"CAST(CAST(nums[{_quote(field)}] AS BIGINT) AS VARCHAR)"
    types = _field_types(config, field)
    if types == {"string"}:
        return f"attrs[{_quote(field)}]"
    if types == {"integer"}:
        return as_int
    return f"coalesce(attrs[{_quote(field)}], {as_int})"


def _where_sql(event: str, where: dict[str, Any]) -> str:
    terms = [f"event_type = {_quote(event)}"]
    for key, expected in where.items():
        if isinstance(expected, str):
            terms.append(f"coalesce(attrs[{_quote(key)}] = {_quote(expected)}, false)")
        else:
            terms.append(f"coalesce(nums[{_quote(key)}] = {float(expected)!r}, false)")
    return " AND ".join(terms)


def duckdb_base_sql(config: AppConfig, paths: list[str]) -> str:
    """The deduplicated rows with identity, dimension values, measure values and KPI flags."""
    dims = config.dimension_specs()
    columns = [
        "t",
        "event_type",
        "coalesce(user_hash, 'session:' || coalesce(session_id, '')) AS ident",
        *(f"coalesce({_dimension_sql(config, d.source)}, {_quote(NONE_VALUE)}) AS d_{d.name}" for d in dims),
        *(
            f"CASE WHEN {_where_sql(m.event, m.where)} THEN nums[{_quote(m.field)}] END AS m_{name}"
            for name, m in config.measures.items()
        ),
    ]
    for name, kpi in config.kpis.items():
        columns.append(f"({_where_sql(kpi.denominator.event, kpi.denominator.where)}) AS kden_{name}")
        columns.append(f"({_where_sql(kpi.numerator.event, kpi.numerator.where)}) AS knum_{name}")
    files_sql = "[" + ", ".join(_quote(p) for p in paths) + "]"
    return f"""
CREATE TEMP TABLE base AS
WITH deduped AS (
    SELECT epoch_ms(event_time) AS t, event_type, session_id, user_hash, platform, client_version,
           content_version, nums, attrs
    FROM read_parquet({files_sql}, hive_partitioning = false)
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY received_at, coalesce(batch_id, '')) = 1
)
SELECT {", ".join(columns)} FROM deduped
"""


def duckdb_rollup_sql(config: AppConfig, granularity_ms: int, table: str) -> str:
    dims = [f"d_{d.name}" for d in config.dimension_specs()]
    names = [d.name for d in config.dimension_specs()]
    dim_name = (
        "CASE "
        + " ".join(f"WHEN grouping({c}) = 0 THEN {_quote(n)}" for c, n in zip(dims, names, strict=True))
        + f" ELSE {_quote(TOTAL)} END"
    )
    dim_value = (
        "CASE " + " ".join(f"WHEN grouping({c}) = 0 THEN {c}" for c in dims) + f" ELSE {_quote(TOTAL)} END"
    )

    def sets(*keys: str) -> str:
        head = ", ".join(keys)
        return ", ".join([f"({head})", *(f"({head}, {c})" for c in dims)])

    dim_list = ", ".join(dims)
    measures = " UNION ALL ".join(
        f"SELECT ts, {_quote(name)} AS name, m_{name} AS v, ident, {dim_list} FROM b "
        f"WHERE m_{name} IS NOT NULL"
        for name in config.measures
    )
    kpis = " UNION ALL ".join(
        f"SELECT ts, {_quote(name)} AS name, kden_{name} AS den, knum_{name} AS num, ident, {dim_list} "
        f"FROM b WHERE kden_{name} OR knum_{name}"
        for name in config.kpis
    )
    parts = [
        f"""
    SELECT ts, 'events' AS kind,
           CASE WHEN grouping(event_type) = 1 THEN {_quote(TOTAL)} ELSE event_type END AS name,
           {dim_name} AS dim_name, {dim_value} AS dim_value,
           count(*) AS n, NULL::DOUBLE AS num, NULL::DOUBLE AS min, NULL::DOUBLE AS max,
           NULL::DOUBLE AS p50, NULL::DOUBLE AS p95, NULL::DOUBLE AS p99, count(DISTINCT ident) AS users
    FROM b GROUP BY GROUPING SETS ({sets("ts", "event_type")}, {sets("ts")})"""
    ]
    if measures:
        parts.append(f"""
    SELECT ts, 'measure', name, dim_name, dim_value, n, num, min, max, q[1], q[2], q[3], users FROM (
        SELECT ts, name, {dim_name} AS dim_name, {dim_value} AS dim_value, count(v) AS n,
               sum(v) AS num, min(v) AS min, max(v) AS max,
               quantile_cont(v, [0.5, 0.95, 0.99]) AS q, count(DISTINCT ident) AS users
        FROM ({measures}) GROUP BY GROUPING SETS ({sets("ts", "name")})
    )""")
    if kpis:
        parts.append(f"""
    SELECT ts, 'kpi', name, {dim_name}, {dim_value}, count_if(den) AS n, count_if(num)::DOUBLE,
           NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE,
           count(DISTINCT CASE WHEN den THEN ident END)
    FROM ({kpis}) GROUP BY GROUPING SETS ({sets("ts", "name")})""")
    union = "\n    UNION ALL".join(parts)
    return f"""
CREATE TABLE {table} AS
WITH b AS (SELECT *, t - t % {granularity_ms} AS ts FROM base)
{union}
"""


# ------------------------------------------------------------------------------------ children
def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_embedded(out: Path, hours: int) -> dict[str, Any]:
    from liveops.rollups import embedded
    from liveops.rollups.prepare import columns_for, prepare
    from liveops.storage.lake import prefetch, read_columns

    config = bench_config()
    columns = columns_for(config)
    baseline = peak_mib()
    cpu = cpu_seconds()
    started = time.perf_counter()
    rows = prepare(prefetch(lambda path: read_columns(path, columns), files(hours)), config)
    done = {"read+dedupe": time.perf_counter()}
    tables = {}
    for granularity, table in embedded.rollup_rows(rows, config, [HOUR_MS, DAY_MS]):
        tables[granularity] = table
        done["hourly" if granularity == HOUR_MS else "daily"] = time.perf_counter()
    cpu = cpu_seconds() - cpu
    peak = peak_mib()
    pq.write_table(tables[HOUR_MS], out / "hourly.parquet")
    pq.write_table(tables[DAY_MS], out / "daily.parquet")
    return {
        "seconds": done["daily"] - started,
        "steps": {
            "read+dedupe": done["read+dedupe"] - started,
            "hourly": done["hourly"] - done["read+dedupe"],
            "daily": done["daily"] - done["hourly"],
        },
        "cpu": cpu,
        "peak_mib": peak,
        "baseline_mib": baseline,
        "rows": len(rows.kept),
    }


class LocalRawReader:
    """The `RawReader` of `liveops.rollups.engines` over the bench's local files, reading as
    `lake.RawEventsReader.iter_days` does: a day's files in key order (only the first `hours` of
    them exist for the bench), each as a whole object's bytes, then `read_columns` of the asked
    columns, one file ahead of the caller (`prefetch`)."""

    def __init__(self, hours: int) -> None:
        self._files = {Path(path) for path in files(hours)}

    def keys(self, app_id: str, day: date) -> list[Path]:
        folder = CACHE / f"app_id={app_id}" / f"dt={day.isoformat()}"
        return sorted(path for path in folder.glob("hour=*/*.parquet") if path in self._files)

    def iter_days(self, app_id: str, first: date, last: date, columns: Sequence[str]) -> Iterator[pa.Table]:
        from liveops.storage.lake import prefetch, read_columns

        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        keys = [key for day in days for key in self.keys(app_id, day)]
        yield from prefetch(lambda key: read_columns(io.BytesIO(key.read_bytes()), columns), keys)


def run_jobs(out: Path, hours: int) -> dict[str, Any]:
    """The two engine calls of the `rollup` and `rollup-daily` jobs for the day, in turn."""
    from liveops.rollups.engines import EmbeddedEngine
    from liveops.rollups.schema import ASSIGNMENTS

    config = bench_config()
    engine = EmbeddedEngine(LocalRawReader(hours), lambda app_id: ASSIGNMENTS.empty_table())
    baseline = peak_mib()
    cpu = cpu_seconds()
    started = time.perf_counter()
    hourly = engine.rollup(config, DAY0_MS, DAY0_MS + DAY_MS, HOUR_MS)  # the `rollup` job
    hourly_done = time.perf_counter()
    hourly_peak = peak_mib()
    daily = engine.rollup(config, DAY0_MS, DAY0_MS + DAY_MS, DAY_MS)  # the `rollup-daily` job
    done = time.perf_counter()
    cpu = cpu_seconds() - cpu
    peak = peak_mib()
    pq.write_table(hourly, out / "hourly.parquet")
    pq.write_table(daily, out / "daily.parquet")
    return {
        "seconds": done - started,
        "steps": {"hourly job": hourly_done - started, "daily job": done - hourly_done},
        "cpu": cpu,
        "peak_mib": peak,
        "hourly_peak_mib": hourly_peak,
        "baseline_mib": baseline,
    }


def bench_assignments(hours: int) -> pa.Table:
    """Assignments (schema.ASSIGNMENTS) for the bench's experiment metrics, derived from the data
    without changing its generator: every user of the files is in `onboarding_v2`, half of them
    (by the last hex digit of their hash) in each variant, assigned the day before."""
    from liveops.rollups.schema import ASSIGNMENTS
    from liveops.storage.lake import read_columns

    hashes = [read_columns(path, ["user_hash"])["user_hash"].unique().dictionary for path in files(hours)]
    users = pc.unique(pa.chunked_array(hashes).cast(pa.string())).drop_null()
    treated = pc.is_in(pc.utf8_slice_codeunits(users, -1), pa.array(list("02468ace")))
    count = len(users)
    assigned_at = pa.array(np.full(count, DAY0_MS - DAY_MS), pa.int64()).cast(
        ASSIGNMENTS.field("assigned_at").type
    )
    return pa.table(
        {
            "experiment_id": pa.array(["onboarding_v2"] * count, pa.string()),
            "variant_id": pc.if_else(treated, "treatment", "control"),
            "user_hash": users,
            "assigned_at": assigned_at,
        },
        schema=ASSIGNMENTS,
    )


def assignments_file(out: Path, hours: int) -> Path:
    """The bench's assignments as the lake holds them (`curated/assignments/`: one Parquet file),
    written by a process of its own so that no child's memory counts their making."""
    path = out.parent / f"assignments-{hours}h.parquet"
    if not path.exists():
        subprocess.run(
            [sys.executable, __file__, "--write-assignments", str(path), "--hours", str(hours)], check=True
        )
    return path


def run_daily(out: Path, hours: int) -> dict[str, Any]:
    """The whole `rollup-daily` job's engine calls for the day, as `RollupJobs._daily` makes them:
    the daily rollup (and kpi_daily of it), then span_daily, funnel_daily and experiment_daily
    (which reads the assignments file, as the job reads `curated/assignments/`). Peaks are the
    process's peak RSS so far after each step."""
    from liveops.rollups.embedded import kpi_daily
    from liveops.rollups.engines import EmbeddedEngine

    config = bench_config()
    assignments = assignments_file(out, hours)
    engine = EmbeddedEngine(LocalRawReader(hours), lambda app_id: pq.read_table(assignments))
    baseline = peak_mib()
    cpu = cpu_seconds()
    steps: dict[str, float] = {}
    peaks: dict[str, float] = {}
    rows: dict[str, int] = {}
    started = last = time.perf_counter()
    calls = {
        "daily rollup": lambda: engine.rollup(config, DAY0_MS, DAY0_MS + DAY_MS, DAY_MS),
        "span_daily": lambda: engine.span_daily(config, DAY0_MS),
        "funnel_daily": lambda: engine.funnel_daily(config, DAY0_MS),
        "experiment_daily": lambda: engine.experiment_daily(config, DAY0_MS),
    }
    tables = {}
    for name, call in calls.items():
        table = call()
        if name == "daily rollup":
            rows["kpi_daily"] = kpi_daily(table).num_rows
        else:
            tables[name] = table  # small: kept to write after the timed part
        rows[name] = table.num_rows
        del table
        now = time.perf_counter()
        steps[name], last = now - last, now
        peaks[name] = peak_mib()
    cpu = cpu_seconds() - cpu
    for name, table in tables.items():
        pq.write_table(table, out / f"{name}.parquet")
    return {
        "seconds": last - started,
        "steps": steps,
        "peaks": peaks,
        "rows": rows,
        "cpu": cpu,
        "peak_mib": peak_mib(),
        "baseline_mib": baseline,
        "assigned_users": pq.ParquetFile(assignments).metadata.num_rows,
    }


def run_duckdb(out: Path, hours: int) -> dict[str, Any]:
    import duckdb

    config = bench_config()
    con = duckdb.connect()
    threads = con.execute("SELECT current_setting('threads')").fetchone()
    baseline = peak_mib()
    cpu = cpu_seconds()
    started = time.perf_counter()
    con.execute(duckdb_base_sql(config, files(hours)))
    base = time.perf_counter()
    con.execute(duckdb_rollup_sql(config, HOUR_MS, "hourly"))
    hourly = con.sql("SELECT * FROM hourly").fetch_arrow_table()
    hourly_done = time.perf_counter()
    con.execute(duckdb_rollup_sql(config, DAY_MS, "daily"))
    daily = con.sql("SELECT * FROM daily").fetch_arrow_table()
    done = time.perf_counter()
    cpu = cpu_seconds() - cpu
    peak = peak_mib()
    pq.write_table(hourly, out / "hourly.parquet")
    pq.write_table(daily, out / "daily.parquet")
    return {
        "seconds": done - started,
        "steps": {"read+dedupe": base - started, "hourly": hourly_done - base, "daily": done - hourly_done},
        "cpu": cpu,
        "peak_mib": peak,
        "baseline_mib": baseline,
        "threads": threads[0] if threads else None,
        "version": duckdb.__version__,
    }


def child(engine: str, out: Path, hours: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", engine, "--out", str(out), "--hours", str(hours)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------------------------ comparison
KEY = ["ts", "kind", "name", "dim_name", "dim_value"]
EXACT = ["n", "users"]
CLOSE = ["num", "min", "max", "p50", "p95", "p99"]


def normalise(table: pa.Table) -> pa.Table:
    columns = {}
    for f in ROLLUP:
        column = table[f.name]
        columns[f.name] = column.cast(pa.int64()) if f.name == "ts" else column.cast(f.type)
    return pa.table(columns)


def compare(ours: pa.Table, theirs: pa.Table) -> tuple[int, list[str]]:
    """(rows compared, descriptions of differences)."""
    a, b = normalise(ours), normalise(theirs)
    problems = []
    if a.num_rows != b.num_rows:
        problems.append(f"{a.num_rows} rows vs {b.num_rows}")
    a = a.rename_columns([c if c in KEY else f"a_{c}" for c in a.column_names])
    b = b.rename_columns([c if c in KEY else f"b_{c}" for c in b.column_names])
    j = a.join(b, KEY, join_type="full outer")
    missing = pc.sum(pc.or_(pc.is_null(j["a_n"]), pc.is_null(j["b_n"]))).as_py() or 0
    if missing:
        problems.append(f"{missing} groups only on one side")
    for c in EXACT:
        bad = pc.sum(pc.fill_null(pc.not_equal(j[f"a_{c}"], j[f"b_{c}"]), False)).as_py() or 0
        if bad:
            problems.append(f"{bad} rows differ in {c}")
    for c in CLOSE:
        x = j[f"a_{c}"].to_numpy(zero_copy_only=False).astype(np.float64)
        y = j[f"b_{c}"].to_numpy(zero_copy_only=False).astype(np.float64)
        same = np.isclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True)
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            row = {k: j[k][i].as_py() for k in KEY}
            problems.append(f"{int((~same).sum())} rows differ in {c} (e.g. {row}: {x[i]!r} vs {y[i]!r})")
    return j.num_rows, problems


def figure(table: pa.Table, kind: str, name: str, column: str) -> list[Any]:
    t = normalise(table)
    mask = pc.and_(
        pc.and_(pc.equal(t["kind"], kind), pc.equal(t["name"], name)), pc.equal(t["dim_name"], TOTAL)
    )
    t = t.filter(mask).sort_by("ts")
    return t[column].to_pylist()


# ------------------------------------------------------------------------------------ the rows
ENGINES = ("jobs", "embedded", "duckdb")
CHILDREN = {"jobs": run_jobs, "embedded": run_embedded, "duckdb": run_duckdb, "daily": run_daily}


def bench_rollups(repeat: int = 1, hours: int = 24) -> list[Row]:
    """Generate (or reuse) the data, run each engine `repeat` times (alternately, each run in a fresh
    process; the fastest run counts) over the first `hours` files, compare their figures with
    DuckDB's and return the table rows."""
    data = generate()
    raw_rows = 0
    for path in files(hours):  # warm the page cache so that no engine pays the first read
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass
        raw_rows += pq.ParquetFile(path).metadata.num_rows
    load = os.getloadavg()[0]
    runs: dict[str, list[dict[str, Any]]] = {engine: [] for engine in ENGINES}
    results: dict[str, dict[str, pa.Table]] = {}
    daily_runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rollup-bench-") as tmp:
        for _ in range(repeat):
            for engine in (*ENGINES, "daily"):
                out = Path(tmp, engine)
                out.mkdir(exist_ok=True)
                (daily_runs if engine == "daily" else runs[engine]).append(child(engine, out, hours))
        for engine in runs:
            results[engine] = {
                g: pq.read_table(Path(tmp, engine, f"{g}.parquet")) for g in ("hourly", "daily")
            }
    best = {engine: min(runs[engine], key=lambda r: r["seconds"]) for engine in ENGINES}
    peak = {engine: max(r["peak_mib"] for r in runs[engine]) for engine in ENGINES}
    jobs, emb, duck = best["jobs"], best["embedded"], best["duckdb"]

    problems: dict[str, list[str]] = {"jobs": [], "embedded": []}
    compared = {}
    for engine in problems:
        for g in ("hourly", "daily"):
            compared[g], found = compare(results[engine][g], results["duckdb"][g])
            problems[engine] += [f"{g}: {p}" for p in found]
    per_hour_b = figure(results["duckdb"]["hourly"], "events", TOTAL, "n")
    p95_b = figure(results["duckdb"]["daily"], "measure", "level_duration", "p95")
    for engine in problems:
        if figure(results[engine]["hourly"], "events", TOTAL, "n") != per_hour_b:
            problems[engine].insert(0, "events per hour differ")
        p95_a = figure(results[engine]["daily"], "measure", "level_duration", "p95")
        if p95_a != p95_b:
            problems[engine].insert(0, f"daily level_duration p95 differs: {p95_a} vs {p95_b}")

    jobs_p95 = figure(results["jobs"]["daily"], "measure", "level_duration", "p95")
    ratio = jobs["seconds"] / duck["seconds"]
    one_pass_ratio = emb["seconds"] / duck["seconds"]
    js, es, ds = jobs["steps"], emb["steps"], duck["steps"]
    runs_note = f"; best of {repeat} runs" if repeat > 1 else ""
    generated = "cached" if data["cached"] else f"generated in {data['seconds']:.0f} s"
    label = "rollups 10M" if hours == 24 else f"rollups 10M, first {hours} h"
    checks = (
        f"events/hour ({len(per_hour_b)} values, sum {sum(per_hour_b):,}) equal; daily level_duration p95 "
        f"{jobs_p95[0]:.1f} = {p95_b[0]:.1f}"
        if not problems["jobs"]
        else "MISMATCH: " + "; ".join(problems["jobs"][:4])
    )
    one_pass_check = (
        "equal to DuckDB's" if not problems["embedded"] else "MISMATCH: " + problems["embedded"][0]
    )
    daily = min(daily_runs, key=lambda r: r["seconds"])
    daily_peak = max(r["peak_mib"] for r in daily_runs)
    config = bench_config()
    span = next(iter(config.spans.values()))
    funnel = next(iter(config.funnels.values()))
    daily_steps = " + ".join(f"{name} {seconds:.1f}" for name, seconds in daily["steps"].items())
    daily_rows = ", ".join(
        f"{name} {count:,}" for name, count in daily["rows"].items() if name != "daily rollup"
    )
    return [
        (
            f"{label}: data ({hours} hourly files, 1 % dup)",
            f"{raw_rows:,} rows ({sum(per_hour_b):,} after dedupe), {compared['hourly']:,} hourly "
            f"+ {compared['daily']:,} daily groups",
            f"{generated}, {data['bytes'] / 2**20:,.0f} MiB; load avg {load:.1f} on {os.cpu_count()} cores",
            "10 M events, ~200k groups",
        ),
        (
            f"{label}: dedupe + hourly + daily (the jobs' engine calls), wall",
            f"jobs {jobs['seconds']:.1f} s (rollup job: read+dedupe+hourly {js['hourly job']:.1f} "
            f"+ rollup-daily job: read+dedupe+daily {js['daily job']:.1f}; cpu {jobs['cpu']:.0f} s); "
            f"ratio {ratio:.2f}"
            + (" (SLOWER than DuckDB)" if ratio > 1 else "")
            + (" (OVER 60 s)" if jobs["seconds"] >= 60 else ""),
            f"DuckDB {duck['version']} threads={duck['threads']} (default) {duck['seconds']:.1f} s "
            f"(read+dedupe once {ds['read+dedupe']:.1f} + hourly {ds['hourly']:.1f} "
            f"+ daily {ds['daily']:.1f}; "
            f"cpu {duck['cpu']:.0f} s){runs_note}",
            "ratio ≤ 1.0, < 60 s",
        ),
        (
            f"{label}: peak RSS (the jobs)",
            f"jobs {peak['jobs']:,.0f} MiB{' (OVER 2 GiB)' if peak['jobs'] > 2048 else ''}"
            f" (rollup job alone {jobs['hourly_peak_mib']:,.0f}; after imports {jobs['baseline_mib']:,.0f})",
            f"DuckDB {peak['duckdb']:,.0f} MiB (after imports {duck['baseline_mib']:,.0f})",
            "≤ 2 GiB",
        ),
        (
            f"{label}: figures of the jobs vs DuckDB",
            "all groups equal (n, users exact; sums, extremes, p50/p95/p99 within 1e-9)"
            if not problems["jobs"]
            else "MISMATCH",
            checks,
            "exact percentiles",
        ),
        (
            f"{label}: one pass (read+dedupe once for both; not the jobs' path)",
            f"embedded {emb['seconds']:.1f} s (read+dedupe {es['read+dedupe']:.1f} + hourly "
            f"{es['hourly']:.1f} + daily {es['daily']:.1f}; cpu {emb['cpu']:.0f} s), "
            f"{peak['embedded']:,.0f} MiB peak; ratio {one_pass_ratio:.2f}; figures {one_pass_check}",
            f"the jobs' second read+dedupe costs {jobs['seconds'] - emb['seconds']:.1f} s",
            "- (diagnostic)",
        ),
        (
            f"{label}: rollup-daily job, every table (daily rollup, span, funnel, experiment), wall",
            f"{daily['seconds']:.1f} s ({daily_steps}; cpu {daily['cpu']:.0f} s)"
            + (" (OVER 60 s)" if daily["seconds"] >= 60 else ""),
            f"span {span.start}→{span.end} by {span.key}, funnel of {len(funnel.steps)} steps by "
            f"{funnel.by}, experiment metrics {', '.join(config.experiments.metrics)} over "
            f"{daily['assigned_users']:,} assigned users; rows: {daily_rows}",
            "< 60 s (diagnostic)",
        ),
        (
            f"{label}: peak RSS (the rollup-daily job, every table)",
            f"{daily_peak:,.0f} MiB{' (OVER 2 GiB)' if daily_peak > 2048 else ''} (after the daily rollup "
            f"{daily['peaks']['daily rollup']:,.0f}; after imports {daily['baseline_mib']:,.0f})",
            f"the jobs' engine calls above: {peak['jobs']:,.0f} MiB",
            "≤ 2 GiB (diagnostic)",
        ),
    ]


def print_rows(rows: list[Row]) -> None:
    headers = ("benchmark", "liveops", "reference (same run)", "target")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=list(CHILDREN))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--write-assignments", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine; the fastest counts")
    parser.add_argument(
        "--hours",
        type=int,
        default=24,
        choices=range(1, 25),
        metavar="1..24",
        help="use the first N hour files",
    )
    args = parser.parse_args()
    if args.child:
        result = CHILDREN[args.child](args.out, args.hours)
        print(json.dumps(result))
        return 0
    if args.write_assignments:
        pq.write_table(bench_assignments(args.hours), args.write_assignments)
        return 0
    if args.generate_only:
        print(json.dumps(generate()))
        return 0
    print_rows(bench_rollups(args.repeat, args.hours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
