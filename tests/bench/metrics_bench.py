"""Benchmark: the metrics API overview over 120 days of rollups, in process.

The curated files live in an in-memory S3 stand-in, so the figure is our code's (parquet decode,
aggregation, k-anonymity, JSON), not a network's. 120 days of daily rollups plus the hourly
rollups of the newest day (the API fills a day without daily rollups from hourly ones).
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from liveops.api.admin import AdminServices, build_app
from liveops.api.http import entrypoint
from liveops.api.metrics import MetricsBackend
from liveops.models.app_config import load_app_config
from liveops.rollups.schema import ROLLUP
from liveops.settings import Settings
from liveops.storage.curated import CuratedLake
from liveops.storage.tokens_store import TokenRecord

DAYS = 120
DIMS = {
    "platform": ["web", "android", "ios"],
    "world": [f"world-{i}" for i in range(12)],
    "model": ["gpt-a", "gpt-b", "local"],
    "locale": ["en", "fr", "de", "ja", "pt"],
}
CONFIG = load_app_config(
    {
        "app_id": "bench-app",
        "name": "Bench",
        "platforms": ["web", "android", "ios"],
        "events": {
            "turn": {
                "fields": {
                    "latency_ms": {"type": "number"},
                    "world": {"type": "string"},
                    "model": {"type": "string"},
                    "locale": {"type": "string"},
                    "ok": {"type": "boolean"},
                }
            },
            "session_start": {},
        },
        "dimensions": [
            "platform",
            {"name": "world", "from": "payload.world"},
            {"name": "model", "from": "payload.model"},
            {"name": "locale", "from": "payload.locale"},
        ],
        "measures": {
            "latency": {"event": "turn", "field": "latency_ms", "aggs": ["avg", "p50", "p95", "p99"]}
        },
        "kpis": {
            "success": {
                "numerator": {"event": "turn", "where": {"ok": True}},
                "denominator": {"event": "turn"},
            },
            "model_a": {
                "numerator": {"event": "turn", "where": {"model": "gpt-a"}},
                "denominator": {"event": "turn"},
            },
        },
    }
)


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


def rollup_rows(ts: datetime, rng: np.random.Generator) -> pa.Table:
    rows: dict[str, list[Any]] = {f.name: [] for f in ROLLUP}
    sets = [("*", "*")] + [(d, v) for d, values in DIMS.items() for v in values]
    for dim_name, dim_value in sets:
        for kind, name in (
            ("events", "turn"),
            ("events", "session_start"),
            ("events", "*"),
            ("measure", "latency"),
            ("kpi", "success"),
            ("kpi", "model_a"),
        ):
            n = int(rng.integers(50, 5000))
            rows["ts"].append(ts)
            rows["kind"].append(kind)
            rows["name"].append(name)
            rows["dim_name"].append(dim_name)
            rows["dim_value"].append(dim_value)
            rows["n"].append(n)
            rows["users"].append(int(n * 0.3))
            measure = kind == "measure"
            base = float(rng.uniform(200, 900))
            rows["num"].append(base * n if measure else (float(int(n * 0.9)) if kind == "kpi" else None))
            for column, factor in (("min", 0.1), ("p50", 1.0), ("p95", 2.5), ("p99", 4.0), ("max", 6.0)):
                rows[column].append(base * factor if measure else None)
    return pa.table(rows, schema=ROLLUP)


@dataclass
class Tokens:
    def find(self, token_hash: str) -> TokenRecord:
        return TokenRecord(token_id="bench", role="viewer", created_at="2026-01-01T00:00:00Z")


class Configs:
    def get_config(self, app_id: str) -> Any:
        return (CONFIG, 1) if app_id == CONFIG.app_id else None


def bench_overview() -> list[tuple[str, str, str, str]]:
    rng = np.random.default_rng(7)
    s3 = MemoryS3()
    lake = CuratedLake(s3, "bench")
    today = datetime.now(UTC).date()
    first = today - timedelta(days=DAYS - 1)
    hourly_rows = daily_rows = 0
    for offset in range(DAYS):
        day = first + timedelta(days=offset)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if day == today:  # not rolled up daily yet: the API combines hourly rows
            hourly = pa.concat_tables([rollup_rows(start + timedelta(hours=h), rng) for h in range(24)])
            lake.write("rollup_hourly", CONFIG.app_id, day, hourly)
            hourly_rows += hourly.num_rows
        else:
            daily = rollup_rows(start, rng)
            lake.write("rollup_daily", CONFIG.app_id, day, daily)
            daily_rows += daily.num_rows
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
    return [
        (
            "metrics API overview, 120 days",
            f"{median * 1000:.0f} ms median, {best * 1000:.0f} ms best",
            f"{daily_rows:,} daily + {hourly_rows:,} hourly rollup rows; totals {sorted(body)[:4]}",
            "≤ 300 ms",
        )
    ]


if __name__ == "__main__":
    for row in bench_overview():
        print(" | ".join(row))
_ = date
