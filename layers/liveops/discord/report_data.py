"""Reads the figures the Discord reports show (the worker's `/telemetry_report`, `/experiment`,
`/weekly_report` and the weekly-report job) from the curated lake and the incidents.

Same sources and rules as the metrics API (daily rollups completed from hourly rows, span_daily,
experiment_daily, k-anonymity), through the metrics backend the admin function uses. pyarrow is
loaded here: only the worker and the jobs import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from liveops.domain import metrics as domain
from liveops.domain.weekly_report import TOTAL, WeekData, alert_events
from liveops.models.app_config import AppConfig

REPORT_DAYS = 7
EXPERIMENT_DAYS = 30
OPEN_INCIDENTS_SHOWN = 20


def _window(start: datetime, end: datetime) -> domain.Window:
    return domain.Window.parse(start, end, 10_000)


def _in_window(table: pa.Table, window: domain.Window) -> pa.Table:
    ts = table["ts"]
    first = pa.scalar(window.first_bucket("day"), type=pa.timestamp("us", tz="UTC"))
    end = pa.scalar(window.end, type=pa.timestamp("us", tz="UTC"))
    return table.filter(pc.and_(pc.greater_equal(ts, first), pc.less(ts, end)))


def _combined(rows: pa.Table, kind: str, kanon_min: int) -> list[dict[str, Any]]:
    """One figure per name over the range (total rows only): n, avg, min, max; percentiles only
    when a single day holds them (they cannot be combined)."""
    rows = rows.filter(pc.and_(pc.equal(rows["kind"], kind), pc.equal(rows["dim_name"], TOTAL)))
    out = []
    for row in sorted(domain.combine(rows, ["name"]), key=lambda r: r["name"]):
        if row["users"] < kanon_min:
            continue
        n = row["n"] or 0
        average = (
            row.get("avg")
            if row.get("avg") is not None
            else (row["num"] / n if n and row["num"] is not None else None)
        )
        out.append(
            {
                "name": row["name"],
                "n": n,
                "avg": average,
                "min": row["min"],
                "max": row["max"],
                "p50": row.get("p50"),
                "p95": row.get("p95"),
            }
        )
    return out


@dataclass(frozen=True)
class ReportData:
    metrics: Any  # liveops.api.metrics.MetricsBackend: configs, lake, settings, experiments, daily_rollups
    incidents: Any  # liveops.services.incidents.IncidentService

    @property
    def kanon_min(self) -> int:
        return int(self.metrics.settings.metrics_kanon_min)

    def telemetry(self, config: AppConfig, sections: list[str], now: datetime) -> dict[str, Any]:
        """The figures of the last REPORT_DAYS days for each of `sections`."""
        window = _window(now - timedelta(days=REPORT_DAYS), now)
        app_id = config.app_id
        first, last = window.days()
        figures: dict[str, Any] = {"from": window.start, "to": window.end}
        daily = None
        if {"overview", "kpis", "measures"} & set(sections):
            daily = self.metrics.daily_rollups(app_id, window)
        if "overview" in sections:
            figures["overview"] = domain.overview(daily, config, window, self.kanon_min)
        if "kpis" in sections:
            figures["kpis"] = domain.kpis(daily, config, domain.Selection(), window, self.kanon_min)[0]
        if "measures" in sections:
            figures["measures"] = _combined(_in_window(daily, window), "measure", self.kanon_min)
        if "spans" in sections:
            spans = domain.span_rollup(self.metrics.lake.read("span_daily", app_id, first, last))
            figures["spans"] = _combined(_in_window(spans, window), "span", self.kanon_min)
        if "incidents" in sections:
            # every open incident, queried by status: however many resolved ones are newer
            open_incidents = self.incidents.open_incidents(app_id)
            figures["incidents"] = {
                "open": open_incidents[:OPEN_INCIDENTS_SHOWN],
                "open_count": len(open_incidents),
                "stats": self.incidents.stats(app_id, window.start, window.end),
            }
        return figures

    def week(self, config: AppConfig, start: datetime, end: datetime) -> WeekData:
        """The rows the weekly report reads for [start, end)."""
        window = _window(start, end)
        app_id = config.app_id
        first, last = window.days()
        daily = _in_window(self.metrics.daily_rollups(app_id, window), window)
        hourly = self.metrics.lake.read("rollup_hourly", app_id, first, last)
        ts = hourly["ts"]
        start_ts = pa.scalar(window.start, type=pa.timestamp("us", tz="UTC"))
        end_ts = pa.scalar(window.end, type=pa.timestamp("us", tz="UTC"))
        alerts = alert_events(config)
        hourly = hourly.filter(
            pc.and_(
                pc.and_(pc.greater_equal(ts, start_ts), pc.less(ts, end_ts)),
                pc.and_(
                    pc.and_(
                        pc.equal(hourly["kind"], "events"),
                        pc.is_in(hourly["name"], value_set=pa.array([TOTAL, *alerts], pa.string())),
                    ),
                    pc.equal(hourly["dim_name"], TOTAL),
                ),
            )
        ).select(["ts", "name", "n"])
        spans = _in_window(self.metrics.lake.read("span_daily", app_id, first, last), window)
        hourly_rows = hourly.to_pylist()
        return WeekData(
            start=window.start,
            end=window.end,
            daily=daily.select(["kind", "name", "dim_name", "dim_value", "n", "num", "users"]).to_pylist(),
            hourly_totals=[(r["ts"], r["n"]) for r in hourly_rows if r["name"] == TOTAL],
            spans=spans.select(["span", "dim_name", "n", "avg", "users"]).to_pylist(),
            incident_stats=self.incidents.stats(app_id, window.start, window.end),
            hourly_alerts=[(r["ts"], r["n"]) for r in hourly_rows if r["name"] in alerts],
        )

    def experiment(self, config: AppConfig, experiment_id: str, now: datetime) -> dict[str, Any] | None:
        """The readout of the last EXPERIMENT_DAYS days, or None for an unknown experiment."""
        from liveops.services.readouts import experiment_readout

        definition = self.metrics.experiments(config.app_id, experiment_id)
        if definition is None:
            return None
        window = _window(now - timedelta(days=EXPERIMENT_DAYS), now)
        first, last = window.days()
        rows = self.metrics.lake.read("experiment_daily", config.app_id, first, last)
        metrics, suppressed = domain.experiment(
            rows, experiment_id, config.experiments.metrics, window, self.kanon_min
        )
        return {
            "experiment": experiment_id,
            "name": definition.get("name") or experiment_id,
            "status": definition.get("status"),
            "from": window.start,
            "to": window.end,
            "suppressed": suppressed,
            "readout": experiment_readout(config, definition, metrics),
        }
