"""Which figure a threshold is compared with (docs/decisions.md, "Alert evaluation window")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from liveops.domain.alert_figures import figure, grain_of, is_additive
from liveops.domain.metrics import parse_metric
from liveops.models.app_config import AppConfig, ThresholdSpec, load_app_config
from liveops.rollups.schema import ROLLUP, SPAN_DAILY, TOTAL

NOW = datetime(2026, 11, 30, 10, 20, tzinfo=UTC)
CURRENT = datetime(2026, 11, 30, 10, tzinfo=UTC)
PREVIOUS = datetime(2026, 11, 30, 9, tzinfo=UTC)
CONFIG: AppConfig = load_app_config(
    {
        "app_id": "fig-app",
        "name": "Figures",
        "platforms": ["web", "android"],
        "events": {
            "digest": {
                "fields": {"ms": {"type": "number"}, "ok": {"type": "boolean"}, "id": {"type": "string"}}
            },
            "done": {"fields": {"id": {"type": "string"}}},
        },
        "dimensions": ["platform"],
        "measures": {
            "digest_ms": {"event": "digest", "field": "ms", "aggs": ["count", "sum", "avg", "max", "p95"]}
        },
        "kpis": {
            "ok_rate": {
                "numerator": {"event": "digest", "where": {"ok": True}},
                "denominator": {"event": "digest"},
            }
        },
        "spans": {"to_done": {"start": "digest", "end": "done", "key": "id"}},
    }
)


def row(
    ts: datetime, kind: str, name: str, n: int, num: float, dim: tuple[str, str] = (TOTAL, TOTAL), **more: Any
):
    return {
        "ts": ts,
        "kind": kind,
        "name": name,
        "dim_name": dim[0],
        "dim_value": dim[1],
        "n": n,
        "num": num,
        "min": more.get("min"),
        "max": more.get("max"),
        "p50": None,
        "p95": more.get("p95"),
        "p99": None,
        "users": 1,
    }


def hourly(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ROLLUP)


def threshold(metric: str, **changes: Any) -> ThresholdSpec:
    return ThresholdSpec.model_validate({"id": "t", "metric": metric, "op": ">", "value": 1, **changes})


ROWS = hourly(
    [
        row(PREVIOUS, "measure", "digest_ms", 4, 400.0, max=200.0, p95=190.0),
        row(CURRENT, "measure", "digest_ms", 1, 50.0, max=50.0, p95=50.0),
        row(PREVIOUS, "measure", "digest_ms", 3, 900.0, ("platform", "web"), max=500.0, p95=480.0),
        row(PREVIOUS, "events", TOTAL, 10, 0.0),
        row(CURRENT, "events", TOTAL, 2, 0.0),
        row(PREVIOUS, "kpi", "ok_rate", 4, 3.0),
    ]
)


def test_additive_figures_come_from_the_previous_complete_hour() -> None:
    found = figure(CONFIG, threshold("digest_ms.sum"), ROWS, NOW)
    assert found is not None and (found.value, found.bucket, found.grain) == (400.0, PREVIOUS, "hour")
    assert figure(CONFIG, threshold("digest_ms.count"), ROWS, NOW).value == 4  # type: ignore[union-attr]
    assert figure(CONFIG, threshold("events.count"), ROWS, NOW).value == 10  # type: ignore[union-attr]


def test_an_additive_figure_without_rows_is_zero() -> None:
    found = figure(CONFIG, threshold("events.done"), ROWS, NOW)
    assert found is not None and found.value == 0 and found.bucket == PREVIOUS
    empty = figure(CONFIG, threshold("digest_ms.sum"), hourly([]), NOW)
    assert empty is not None and empty.value == 0


def test_levels_come_from_the_current_hour_first() -> None:
    found = figure(CONFIG, threshold("digest_ms.max"), ROWS, NOW)
    assert found is not None and (found.value, found.bucket) == (50.0, CURRENT)
    assert figure(CONFIG, threshold("digest_ms.p95"), ROWS, NOW).value == 50.0  # type: ignore[union-attr]
    assert figure(CONFIG, threshold("digest_ms.avg"), ROWS, NOW).value == 50.0  # type: ignore[union-attr]


def test_levels_fall_back_to_the_previous_hour_then_to_no_figure() -> None:
    found = figure(CONFIG, threshold("ok_rate"), ROWS, NOW)
    assert found is not None and (found.value, found.bucket) == (0.75, PREVIOUS)
    assert figure(CONFIG, threshold("ok_rate"), hourly([]), NOW) is None


def test_a_scope_reads_its_dimension_value_only() -> None:
    web = figure(CONFIG, threshold("digest_ms.max", where={"platform": "web"}), ROWS, NOW)
    assert web is not None and web.value == 500.0 and web.bucket == PREVIOUS
    assert figure(CONFIG, threshold("digest_ms.max", where={"platform": "android"}), ROWS, NOW) is None
    assert figure(CONFIG, threshold("digest_ms.sum", where={"platform": "android"}), ROWS, NOW).value == 0  # type: ignore[union-attr]


def test_rows_older_than_the_previous_hour_are_ignored() -> None:
    old = hourly([row(datetime(2026, 11, 30, 8, tzinfo=UTC), "measure", "digest_ms", 1, 9.0, max=9.0)])
    assert figure(CONFIG, threshold("digest_ms.max"), old, NOW) is None


def test_spans_are_read_by_day() -> None:
    spans = pa.Table.from_pylist(
        [
            {
                "ts": datetime(2026, 11, 29, tzinfo=UTC),
                "span": "to_done",
                "dim_name": TOTAL,
                "dim_value": TOTAL,
                "n": 5,
                "avg": 30.0,
                "min": 1.0,
                "max": 90.0,
                "p50": 20.0,
                "p95": 80.0,
                "p99": 88.0,
                "users": 3,
            }
        ],
        schema=SPAN_DAILY,
    )
    assert grain_of(CONFIG, threshold("to_done.p95")) == "day"
    found = figure(CONFIG, threshold("to_done.p95"), spans, NOW)
    assert found is not None and (found.value, found.grain) == (80.0, "day")
    count = figure(CONFIG, threshold("to_done.count"), spans, NOW)
    assert count is not None and count.value == 5


def test_which_metrics_are_additive() -> None:
    kinds = {
        m: is_additive(parse_metric(CONFIG, m))
        for m in ("events.count", "digest_ms.sum", "digest_ms.avg", "ok_rate")
    }
    assert kinds == {"events.count": True, "digest_ms.sum": True, "digest_ms.avg": False, "ok_rate": False}
