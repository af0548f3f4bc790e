"""Benchmark: the metrics API overview over 120 days of rollups, in process.

The curated files live in an in-memory S3 stand-in, so the figure is our code's (parquet decode,
aggregation, k-anonymity, JSON), not a network's.

The data has the cardinality of the 10 M events/day app of `rollup_bench.py` (same config: 8 event
types, 6 measures, 3 KPIs, dimensions platform 3, client_version 48, world 40 + "(none)",
model 354, locale 40 values, with that generator's popularity weights and diurnal curve), since
that is what the rollup jobs write for such a day: ~195k rollup_hourly rows per day (its 24
hours) and ~8.4k rollup_daily rows per day (the rollup bench measured 195,361 and 8,398 groups).
Which (figure, dimension value) groups a bucket has is drawn from how many events and sessions of
that figure the bucket holds (a value is present with probability 1 - exp(-expected count)), so
rare models and locales drop out of quiet hours as they do in the real rollups: a generated day
has every one of the 8,398 daily groups and ~195.5k hourly rows, within 0.5 % of the real
rollups' count for every (kind, dimension) pair. The figures themselves (n, users, sums,
percentiles) are plausible random values (each day's volume within ±15 % of 9.9 M events); the
overview's cost depends on the rows, not on them.

As the product stores it on a given day: rollup_daily for the 119 past days, and for today only
rollup_hourly (a whole day of it, the worst case, late in the day): the API combines today's daily
figures from the hourly rows (`missing_days` / `fill_from_hourly`). The overview reads no other
hourly partition, so the other days' hourly files are not generated. The data takes a few
seconds to build and is not cached.
"""

from __future__ import annotations

import io
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from rollup_bench import (
    EVENTS,
    LOCALES,
    MIDDLE_TYPES,
    MIDDLE_WEIGHTS,
    MODELS,
    PLATFORM_WEIGHTS,
    PLATFORMS,
    VERSIONS,
    WORLDS,
    bench_config,
    zipf_weights,
)

from liveops.api.admin import AdminServices, build_app
from liveops.api.http import entrypoint
from liveops.api.metrics import MetricsBackend
from liveops.models.app_config import AppConfig
from liveops.rollups.schema import NONE_VALUE, ROLLUP, TOTAL, TS
from liveops.settings import Settings
from liveops.storage.curated import CuratedLake
from liveops.storage.tokens_store import TokenRecord

DAYS = 120
CONFIG: AppConfig = bench_config()


class MemoryS3:
    """Just the S3 calls CuratedLake makes."""

    class exceptions:
        class NoSuchKey(Exception):
            pass

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:
        self.objects[Key] = Body

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if Key not in self.objects:
            raise self.exceptions.NoSuchKey(Key)
        return {"Body": io.BytesIO(self.objects[Key])}


# ---------------------------------------------------------------------------- the rollup rows
SESSION_LENGTH = 25.04  # events per session in rollup_bench (max(2, geometric(1/25)))
SESSIONS_PER_USER_DAY = 2.2  # rollup_bench: ~395k sessions of 180k users
WORLD_TYPES = {"level_start", "level_end", "frame_stats"}  # the events with a `world` field
HOUR_SHARE = 1.0 + 0.6 * np.sin((np.arange(24) - 9) / 24 * 2 * np.pi)
HOUR_SHARE /= HOUR_SHARE.sum()


def type_shares() -> dict[str, float]:
    """Each event type's share of the events, as rollup_bench draws them."""
    ends = 1 / SESSION_LENGTH
    middle = 1 - 2 * ends
    shares = {"session_start": ends, "session_end": ends}
    shares.update({t: middle * w for t, w in zip(MIDDLE_TYPES, MIDDLE_WEIGHTS, strict=True)})
    return shares


def session_values() -> dict[str, dict[str, float]]:
    """The share of sessions of each value of the session-level dimensions (rollup_bench's weights)."""
    platform = dict(zip(PLATFORMS, PLATFORM_WEIGHTS, strict=True))
    version: dict[str, float] = {}
    model: dict[str, float] = {}
    for p in PLATFORMS:
        recent_first = zipf_weights(len(VERSIONS[p]), 1.3)[::-1]
        version.update(zip(VERSIONS[p], platform[p] * recent_first, strict=True))
        model.update(zip(MODELS[p], platform[p] * zipf_weights(len(MODELS[p]), 1.05), strict=True))
    locale = dict(zip(LOCALES, zipf_weights(len(LOCALES), 1.1), strict=True))
    return {"platform": platform, "client_version": version, "model": model, "locale": locale}


def figures(config: AppConfig) -> list[tuple[str, str, dict[str, float]]]:
    """(kind, name, share of the events counted per event type) of every figure of the config."""
    shares = type_shares()
    out: list[tuple[str, str, dict[str, float]]] = [("events", TOTAL, shares)]
    out += [("events", t, {t: share}) for t, share in shares.items()]
    # `where` fractions of rollup_bench: 10 % of level_end are boss levels, 20 % of errors crashes
    out += [
        ("measure", name, {m.event: shares[m.event] * (0.1 if m.where else 1.0)})
        for name, m in config.measures.items()
    ]
    for name, kpi in config.kpis.items():
        counted = {kpi.denominator.event: shares[kpi.denominator.event]}
        if kpi.numerator.event not in counted:
            counted[kpi.numerator.event] = shares[kpi.numerator.event] * (0.2 if kpi.numerator.where else 1.0)
        out.append(("kpi", name, counted))
    return out


@dataclass
class Groups:
    """Every (figure, grouping set) a bucket can have, with the rates its presence and count follow."""

    kind: pa.Array
    name: pa.Array
    dim_name: pa.Array
    dim_value: pa.Array
    share: np.ndarray  # expected events of the group per event of the bucket
    presence: np.ndarray  # expected independent draws (sessions or events) per event of the bucket
    per_user: np.ndarray  # events of the group per user and day
    measure: np.ndarray  # bool
    kpi: np.ndarray  # bool

    @classmethod
    def of(cls, config: AppConfig) -> Groups:
        world = dict(zip(WORLDS, 0.8 * zipf_weights(len(WORLDS), 0.8) + 0.2 / len(WORLDS), strict=True))
        sessions = session_values()
        rows: list[tuple[str, str, str, str, float, float, float]] = []
        for kind, name, counted in figures(config):
            share = sum(counted.values())
            # a session has the figure when one of its ~25 events is counted by it
            sessions_with = -np.expm1(-SESSION_LENGTH * share) / SESSION_LENGTH
            per_user = share * SESSION_LENGTH * SESSIONS_PER_USER_DAY
            rows.append((kind, name, TOTAL, TOTAL, share, 1e9, per_user))
            for dim in config.dimension_specs():
                if dim.name == "world":
                    with_world = sum(v for t, v in counted.items() if t in WORLD_TYPES)
                    values = {v: with_world * w for v, w in world.items()} if with_world else {}
                    if share - with_world > 0:
                        values[NONE_VALUE] = share - with_world
                    rows += [(kind, name, dim.name, v, x, x, per_user) for v, x in values.items()]
                else:
                    rows += [
                        (kind, name, dim.name, v, share * w, sessions_with * w, per_user)
                        for v, w in sessions[dim.name].items()
                    ]
        columns = list(zip(*rows, strict=True))
        kinds = np.array(columns[0])
        return cls(
            kind=pa.array(columns[0], pa.string()),
            name=pa.array(columns[1], pa.string()),
            dim_name=pa.array(columns[2], pa.string()),
            dim_value=pa.array(columns[3], pa.string()),
            share=np.array(columns[4]),
            presence=np.array(columns[5]),
            per_user=np.array(columns[6]),
            measure=kinds == "measure",
            kpi=kinds == "kpi",
        )

    def bucket(self, ts: datetime, events: float, user_share: float, rng: np.random.Generator) -> pa.Table:
        """The rollup rows of one bucket (an hour or a day) of `events` events; `user_share`: how
        much of a day's activity per user the bucket holds (1 for a day)."""
        present = np.flatnonzero(rng.random(len(self.share)) < -np.expm1(-events * self.presence))
        index = pa.array(present)
        n = np.maximum(1, rng.poisson(events * self.share[present]))
        users = np.clip(np.round(n / np.maximum(1.0, self.per_user[present] * user_share)), 1, n)
        measure, kpi = self.measure[present], self.kpi[present]
        base = rng.lognormal(6.0, 1.0, len(present))
        spread = rng.uniform(1.5, 3.0, len(present))

        def stat(factor: np.ndarray | float, where: np.ndarray = measure) -> pa.Array:
            return pa.array(base * factor, pa.float64(), mask=~where)

        num = np.where(kpi, np.floor(n * rng.uniform(0.02, 0.6, len(present))), base * n)
        return pa.table(
            {
                "ts": pa.array(np.full(len(present), int(ts.timestamp() * 1000)), pa.int64()).cast(TS),
                "kind": self.kind.take(index),
                "name": self.name.take(index),
                "dim_name": self.dim_name.take(index),
                "dim_value": self.dim_value.take(index),
                "n": pa.array(n, pa.int64()),
                "num": pa.array(num, pa.float64(), mask=~(measure | kpi)),
                "min": stat(1 / (spread * 4)),
                "max": stat(spread * 4),
                "p50": stat(1.0),
                "p95": stat(spread),
                "p99": stat(spread * 1.5),
                "users": pa.array(users.astype(np.int64), pa.int64()),
            },
            schema=ROLLUP,
        )


def store(lake: CuratedLake, today: date, rng: np.random.Generator) -> dict[str, int]:
    """120 days as the product has them today: rollup_daily of the past days, rollup_hourly of
    today (a whole day of it). Returns the row counts."""
    groups = Groups.of(CONFIG)
    rows = {"daily": 0, "hourly": 0}
    for offset in range(DAYS):
        day = today - timedelta(days=DAYS - 1 - offset)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        events = EVENTS * rng.uniform(0.85, 1.15)
        if day == today:  # not rolled up daily yet: the API combines hourly rows
            hourly = pa.concat_tables(
                [
                    groups.bucket(start + timedelta(hours=h), events * share, 24 * share, rng)
                    for h, share in enumerate(HOUR_SHARE)
                ]
            )
            lake.write("rollup_hourly", CONFIG.app_id, day, hourly)
            rows["hourly"] += hourly.num_rows
        else:
            daily = groups.bucket(start, events, 1.0, rng)
            lake.write("rollup_daily", CONFIG.app_id, day, daily)
            rows["daily"] += daily.num_rows
    return rows


@dataclass
class Tokens:
    def find(self, token_hash: str) -> TokenRecord:
        return TokenRecord(token_id="bench", role="viewer", created_at="2026-01-01T00:00:00Z")


class Configs:
    def get_config(self, app_id: str) -> Any:
        return (CONFIG, 1) if app_id == CONFIG.app_id else None


def overview_handler() -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(the admin function's handler, an overview request over the 120 days, facts of the data)."""
    rng = np.random.default_rng(7)
    lake = CuratedLake(MemoryS3(), "bench")
    today = datetime.now(UTC).date()
    first = today - timedelta(days=DAYS - 1)
    started = time.perf_counter()
    rows = store(lake, today, rng)
    facts = {**rows, "seconds": time.perf_counter() - started}
    services = AdminServices(
        apps=None,  # type: ignore[arg-type]
        liveops=None,  # type: ignore[arg-type]
        tokens=Tokens(),
        metrics=MetricsBackend(
            configs=Configs(),
            lake=lake,
            usage=None,  # type: ignore[arg-type]
            prefixes=lambda app: {},
            settings=Settings(),
            today=lambda: today,  # the data's today, also when the bench runs across midnight
        ),
    )
    handler = entrypoint(build_app(lambda: services))
    query = {
        "app": CONFIG.app_id,
        "from": f"{first.isoformat()}T00:00:00Z",
        "to": f"{(today + timedelta(days=1)).isoformat()}T00:00:00Z",
    }
    event = {
        "version": "2.0",
        "routeKey": "ANY /v1/metrics/{proxy+}",
        "rawPath": "/v1/metrics/overview",
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "queryStringParameters": query,
        "headers": {"authorization": "Bearer lot_bench_x"},
        "requestContext": {
            "http": {"method": "GET", "path": "/v1/metrics/overview", "sourceIp": "127.0.0.1"},
            "stage": "$default",
            "requestId": "r",
        },
        "isBase64Encoded": False,
    }
    return handler, event, facts


def bench_overview() -> list[tuple[str, str, str, str]]:
    handler, event, facts = overview_handler()
    first_answer = handler(event, None)
    assert first_answer["statusCode"] == 200, first_answer
    body = json.loads(first_answer["body"])
    timings = []
    for _ in range(7):
        started = time.perf_counter()
        answer = handler(event, None)
        timings.append(time.perf_counter() - started)
        assert answer["statusCode"] == 200
    best, median = min(timings), sorted(timings)[len(timings) // 2]
    per_day = facts["daily"] / (DAYS - 1)
    return [
        (
            "metrics API overview, 120 days",
            f"{median * 1000:.0f} ms median, {best * 1000:.0f} ms best"
            + (" (OVER 300 ms)" if median > 0.3 else ""),
            f"{facts['daily']:,} daily rows (119 days, {per_day:,.0f}/day) + {facts['hourly']:,} hourly "
            f"rows (today); {body['totals']['events']:,} events; data built in {facts['seconds']:.1f} s",
            "≤ 300 ms",
        )
    ]


def profile(top: int = 30) -> None:
    """cProfile of one overview request (after a first one), by cumulative and by own time."""
    import cProfile
    import pstats

    handler, event, _ = overview_handler()
    handler(event, None)
    profiler = cProfile.Profile()
    profiler.enable()
    handler(event, None)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


if __name__ == "__main__":
    if "--profile" in sys.argv:
        profile()
    else:
        for row in bench_overview():
            print(" | ".join(row))
