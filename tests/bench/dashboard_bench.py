"""Benchmark: the published dashboard of a realistic app with 120 days of data — page weight
(inline charts included) and load + render time in headless chromium (Debian's, driven by
Playwright), served over 127.0.0.1 by the local gateway's dashboard handler.

The app is examples/apps/awf.yaml (6 measures with 17 aggregations, 9 KPIs, a 7-step funnel, two
running experiments); its curated tables hold 120 days of synthetic daily rows (total and per
dimension value) in an in-memory S3 stand-in. The dashboard shows its last 90 days.
Reference (same run): the same browser loading a minimal page from the same server, and the
size of the page's own data.json.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from metrics_bench import MemoryS3  # noqa: E402
from tests.headless import browser_missing, load_page  # noqa: E402

from liveops.api.metrics import MetricsBackend  # noqa: E402
from liveops.local.gateway import DASHBOARD_PREFIX, Gateway  # noqa: E402
from liveops.local.stack import free_port  # noqa: E402
from liveops.models.app_config import AppConfig  # noqa: E402
from liveops.publish.html import page  # noqa: E402
from liveops.publish.render import render_site  # noqa: E402
from liveops.rollups.schema import EXPERIMENT_DAILY, FUNNEL_DAILY, ROLLUP, SPAN_DAILY, TOTAL  # noqa: E402
from liveops.services.apps import parse_config_file  # noqa: E402
from liveops.services.figures import FiguresCollector, default_range  # noqa: E402
from liveops.settings import Settings  # noqa: E402
from liveops.storage.curated import CuratedLake  # noqa: E402

DAYS = 120
DASHBOARD_DAYS = 90
DIM_VALUES = 4  # values per dimension (rows the dashboard reads past: it shows totals)
EXPERIMENTS = [
    {
        "id": f"exp-{i}",
        "name": f"Narrator prompt v{i + 2}",
        "status": "running",
        "updated_at": f"2026-11-0{i + 1}T00:00:00Z",
        "config": {"variants": [{"id": "control", "weight": 1}, {"id": "treatment", "weight": 1}]},
    }
    for i in range(2)
]


class Configs:
    def __init__(self, config: AppConfig) -> None:
        self.config = config

    def get_config(self, app_id: str) -> tuple[AppConfig, int] | None:
        return (self.config, 1) if app_id == self.config.app_id else None


class Experiments:
    def list_experiments(self, app_id: str) -> list[dict[str, Any]]:
        return EXPERIMENTS


def _day_tables(config: AppConfig, ts: datetime, rng: np.random.Generator) -> dict[str, pa.Table]:
    sets = [(TOTAL, TOTAL)] + [
        (spec.name, f"{spec.name}-{i}") for spec in config.dimension_specs() for i in range(DIM_VALUES)
    ]
    scale = {TOTAL: 1.0}
    rollup: dict[str, list[Any]] = {f.name: [] for f in ROLLUP}
    figures = [("events", TOTAL)] + [("events", e) for e in config.events]
    figures += [("measure", m) for m in config.measures] + [("kpi", k) for k in config.kpis]
    for dim_name, dim_value in sets:
        share = scale.get(dim_name, 1.0 / DIM_VALUES)
        for kind, name in figures:
            n = int(rng.integers(2_000, 20_000) * share) + 50
            base = float(rng.uniform(200, 900))
            measure = kind == "measure"
            rollup["ts"].append(ts)
            rollup["kind"].append(kind)
            rollup["name"].append(name)
            rollup["dim_name"].append(dim_name)
            rollup["dim_value"].append(dim_value)
            rollup["n"].append(n)
            rollup["users"].append(max(n // 4, 20))
            rollup["num"].append(
                base * n if measure else (float(int(n * rng.uniform(0.02, 0.9))) if kind == "kpi" else None)
            )
            for column, factor in (("min", 0.1), ("p50", 1.0), ("p95", 2.5), ("p99", 4.0), ("max", 6.0)):
                rollup[column].append(base * factor if measure else None)
    funnel: dict[str, list[Any]] = {f.name: [] for f in FUNNEL_DAILY}
    for name, spec in config.funnels.items():
        units = int(rng.integers(3_000, 6_000))
        for step, step_name in enumerate(spec.steps):
            for column, value in (("ts", ts), ("funnel", name), ("dim_name", TOTAL), ("dim_value", TOTAL)):
                funnel[column].append(value)
            funnel["step"].append(step)
            funnel["step_name"].append(step_name)
            funnel["units"].append(units)
            units = int(units * rng.uniform(0.55, 0.9))
    spans: dict[str, list[Any]] = {f.name: [] for f in SPAN_DAILY}
    for name in config.spans:
        base = float(rng.uniform(30_000, 90_000))
        for column, value in (("ts", ts), ("span", name), ("dim_name", TOTAL), ("dim_value", TOTAL)):
            spans[column].append(value)
        for column, value in (
            ("n", 500),
            ("users", 200),
            ("avg", base),
            ("min", base * 0.1),
            ("max", base * 5),
        ):
            spans[column].append(value)
        for column, factor in (("p50", 0.9), ("p95", 2.5), ("p99", 4.0)):
            spans[column].append(base * factor)
    experiment: dict[str, list[Any]] = {f.name: [] for f in EXPERIMENT_DAILY}
    for definition in EXPERIMENTS:
        for variant, lift in (("control", 1.0), ("treatment", 1.04)):
            for metric in config.experiments.metrics:
                units = int(rng.integers(400, 600))
                mean = float(rng.uniform(0.2, 0.6)) * lift
                sum_x = mean * units
                for column, value in (
                    ("ts", ts),
                    ("experiment_id", definition["id"]),
                    ("variant_id", variant),
                ):
                    experiment[column].append(value)
                experiment["metric"].append(metric)
                experiment["units"].append(units)
                experiment["sum_x"].append(sum_x)
                experiment["sum_x2"].append(sum_x * 1.1)
                experiment["sum_y"].append(float(units))
                experiment["sum_y2"].append(float(units))
                experiment["sum_xy"].append(sum_x)
    return {
        "rollup_daily": pa.table(rollup, schema=ROLLUP),
        "funnel_daily": pa.table(funnel, schema=FUNNEL_DAILY),
        "span_daily": pa.table(spans, schema=SPAN_DAILY),
        "experiment_daily": pa.table(experiment, schema=EXPERIMENT_DAILY),
    }


def build_site() -> tuple[dict[str, bytes], float, int]:
    """The published files of the bench app (path -> bytes), collect + render seconds, lake rows."""
    config = parse_config_file(ROOT / "examples" / "apps" / "awf.yaml")
    rng = np.random.default_rng(11)
    lake = CuratedLake(MemoryS3(), "bench")
    now = datetime.now(UTC)
    rows = 0
    for offset in range(DAYS):
        day = (now - timedelta(days=offset)).date()
        ts = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for table_name, table in _day_tables(config, ts, rng).items():
            lake.write(table_name, config.app_id, day, table)
            rows += table.num_rows
    backend = MetricsBackend(
        configs=Configs(config),
        lake=lake,
        usage=None,  # type: ignore[arg-type]  # the dashboard reads no storage figures
        prefixes=lambda app: {},
        settings=Settings(),
    )
    collector = FiguresCollector(backend, Experiments(), incidents=None)
    start, end = default_range(now, DASHBOARD_DAYS)
    started = time.perf_counter()
    rendered = render_site(collector.collect(config.app_id, start, end), "bench")
    seconds = time.perf_counter() - started
    files = {f"archive/bench/{f.path}": f.body for f in rendered.snapshot}
    files.update({f.path: f.body for f in rendered.switch})
    return files, seconds, rows


def _serve(files: dict[str, bytes]) -> tuple[Any, str]:
    blank = page("blank", "<p>reference</p>").encode()

    def serve(path: str) -> tuple[int, dict[str, str], bytes]:
        rest = path.removeprefix(DASHBOARD_PREFIX + "/bench/")
        if path.endswith("/blank/"):
            return 200, {"content-type": "text/html; charset=utf-8"}, blank
        body = files.get(rest or "index.html")
        if body is None:
            return 404, {}, b""
        return 200, {"content-type": "text/html; charset=utf-8"}, body

    port = free_port()
    server = Gateway([], lambda fn, event: None, static={DASHBOARD_PREFIX: serve}).serve("127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}{DASHBOARD_PREFIX}"


def bench_dashboard() -> list[tuple[str, str, str, str]]:
    files, render_seconds, rows = build_site()
    html = files["index.html"]
    rows_out = [
        (
            "dashboard page weight (120-day app)",
            f"{len(html) / 1024:.0f} KB, {html.count(b'<svg')} inline charts",
            f"its data.json {len(files['archive/bench/data.json']) / 1024:.0f} KB; "
            f"collect+render {render_seconds * 1000:.0f} ms over {rows:,} curated rows",
            "≤ 300 KB",
        )
    ]
    missing = browser_missing()
    if missing is not None:
        return [*rows_out, ("dashboard load+render, headless", "skipped", missing, "≤ 1.5 s")]
    server, base = _serve(files)
    try:
        load_page(f"{base}/bench/")  # warm the disk cache of the browser binary
        loads = [load_page(f"{base}/bench/") for _ in range(3)]
        blanks = [load_page(f"{base}/blank/") for _ in range(3)]
    finally:
        server.shutdown()
        server.server_close()
    errors = sum(len(r.console_errors) + len(r.page_errors) for r in loads)
    rows_out.append(
        (
            "dashboard load+render, headless chromium",
            f"{statistics.median(r.seconds for r in loads) * 1000:.0f} ms median of 3 "
            f"({loads[0].svg_charts} charts, {errors} console errors)",
            f"minimal page {statistics.median(r.seconds for r in blanks) * 1000:.0f} ms",
            "≤ 1.5 s",
        )
    )
    return rows_out


if __name__ == "__main__":
    for row in bench_dashboard():
        print(" | ".join(row))
