"""The figures collector over an empty lake: every table present, incidents without people,
the metrics API's errors for unknown apps and long ranges."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from liveops.api.metrics import MetricsBackend
from liveops.errors import BadRequest, NotFound
from liveops.models.app_config import load_app_config
from liveops.models.incidents import Incident
from liveops.services.figures import FiguresCollector, default_range
from liveops.settings import Settings
from liveops.storage.curated import CuratedLake

NOW = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)
CONFIG = load_app_config(
    {
        "app_id": "tiny-game",
        "name": "Tiny <Game>",
        "platforms": ["web"],
        "events": {"run_end": {"fields": {"ms": {"type": "number"}}}},
        "measures": {"run_ms": {"event": "run_end", "field": "ms", "aggs": ["count", "p95"]}},
        "kpis": {"ends": {"numerator": {"event": "run_end"}, "denominator": {"event": "run_end"}}},
        "thresholds": [{"id": "slow", "metric": "run_ms.p95", "op": ">", "value": 5, "notify": []}],
    }
)


class EmptyS3:
    class exceptions:
        class NoSuchKey(Exception):
            pass

    def get_object(self, Bucket: str, Key: str) -> dict[str, io.BytesIO]:
        raise self.exceptions.NoSuchKey(Key)


class Configs:
    def get_config(self, app_id: str) -> Any:
        return (CONFIG, 1) if app_id == CONFIG.app_id else None


class Experiments:
    def list_experiments(self, app_id: str) -> list[dict[str, Any]]:
        return [{"id": "draft-one", "status": "draft"}]


class Incidents:
    def list(self, app_id: str, status: str | None = None, limit: int = 50) -> list[Incident]:
        if status != "new":
            return []
        return [
            Incident(
                incident_id="inc-20261129100000-0000abcd",
                app_id=app_id,
                source="publish",
                severity="critical",
                summary="the dashboard could not be published",
                opened_at=NOW - timedelta(hours=3),
                updated_at=NOW - timedelta(hours=3),
            )
        ]

    def stats(self, app_id: str, start: datetime, end: datetime) -> dict[str, Any]:
        return {
            "app_id": app_id,
            "total": 1,
            "time_to_acknowledge_seconds": {"mean": None, "median": None},
            "responders": [{"actor": "discord:1234", "acknowledged": 1, "resolved": 0}],
        }


def collector() -> FiguresCollector:
    backend = MetricsBackend(
        configs=Configs(),
        lake=CuratedLake(EmptyS3(), "lake"),
        usage=None,  # type: ignore[arg-type]
        prefixes=lambda app: {},
        settings=Settings(),
    )
    return FiguresCollector(backend, Experiments(), Incidents(), clock=lambda: NOW)


def test_an_empty_lake_gives_every_table_and_the_open_incidents() -> None:
    start, end = default_range(NOW, 90)
    assert (end - start).days == 90 and end == datetime(2026, 12, 1, tzinfo=UTC)
    figures = collector().collect("tiny-game", start, end)
    assert set(figures.tables) == {
        "overview",
        "kpis",
        "timeseries",
        "spans",
        "funnels",
        "experiments",
        "slo",
        "incidents",
        "incident_stats",
    }
    assert figures.tables["timeseries"] == [] and figures.tables["experiments"] == []
    assert figures.tables["kpis"] == [{"kpi": "ends", "numerator": 0, "denominator": 0, "value": None}]
    assert figures.tables["slo"][0]["status"] == "no_data"
    assert figures.tables["incidents"][0]["source"] == "publish"
    stats = {row["name"]: row["value"] for row in figures.tables["incident_stats"]}
    assert stats == {
        "total": 1,
        "time_to_acknowledge_seconds.mean": None,
        "time_to_acknowledge_seconds.median": None,
    }
    document = json.loads(figures.to_json())
    assert document["name"] == "Tiny <Game>" and document["generated_at"] == "2026-11-30T02:30:00Z"
    assert "discord:1234" not in figures.to_json().decode()
    # an empty table still has its header line, and the known columns lead in a filled one
    assert figures.to_csv("timeseries").decode().splitlines() == ["metric,t,value,n"]
    assert (
        figures.to_csv("experiments").decode().startswith("experiment,experiment_name,status,metric,variant")
    )
    assert figures.to_csv("kpis").decode().splitlines()[0] == "kpi,numerator,denominator,value"


def test_unknown_apps_and_long_ranges_are_refused_as_by_the_metrics_api() -> None:
    with pytest.raises(NotFound):
        collector().collect("no-such-app", NOW - timedelta(days=1), NOW)
    with pytest.raises(BadRequest, match="more than 120 days"):
        collector().collect("tiny-game", NOW - timedelta(days=121), NOW)
