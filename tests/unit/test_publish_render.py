"""The dashboard's SVG charts and HTML page: escaping, empty data, suppressed groups, CSP."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from liveops.publish.html import CSP, STYLE_HASH, render_archive_index, render_dashboard
from liveops.publish.render import render_site
from liveops.publish.style import CSS
from liveops.publish.svg import Series, bar_chart, line_chart, number, percent
from liveops.services.figures import Figures

NASTY = "<script>alert(\"x\")</script> & Ünïcødé 🎮 'q'"
START = datetime(2026, 9, 1, tzinfo=UTC)
END = datetime(2026, 11, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)


def figures(tables: dict | None = None, suppressed: dict | None = None, name: str = "Acme") -> Figures:
    return Figures("acme-game", name, START, END, NOW, tables or {}, suppressed or {})


def full_tables() -> dict:
    days = [f"2026-11-{d:02d}T00:00:00Z" for d in range(1, 11)]
    return {
        "overview": [
            {"section": "totals", "name": "events", "value": 12345, "n": None},
            {"section": "totals", "name": "users_lower_bound", "value": 321, "n": None},
            {"section": "events_by_type", "name": NASTY, "value": 99, "n": None},
        ],
        "kpis": [{"kpi": "command_success_rate", "numerator": 90, "denominator": 100, "value": 0.9}],
        "timeseries": [
            {"metric": "events.count", "t": t, "value": 100 + i, "n": 100 + i} for i, t in enumerate(days)
        ]
        + [
            {"metric": "latency_ms.p95", "t": t, "value": None if i == 3 else 50.0 + i, "n": 10}
            for i, t in enumerate(days)
        ]
        + [{"metric": "command_success_rate", "t": t, "value": 0.9, "n": 100} for t in days],
        "spans": [
            {
                "span": "time_to_ack",
                "t": t,
                "n": 20,
                "avg": 60000.0,
                "p50": 50000.0,
                "p95": 90000.0,
                "p99": 1e5,
            }
            for t in days
        ],
        "funnels": [
            {
                "funnel": "first_run",
                "by": "session",
                "step": 0,
                "name": "session_start",
                "units": 100,
                "conversion_from_start": 1.0,
                "conversion_from_previous": None,
            },
            {
                "funnel": "first_run",
                "by": "session",
                "step": 1,
                "name": NASTY,
                "units": 40,
                "conversion_from_start": 0.4,
                "conversion_from_previous": 0.4,
            },
        ],
        "experiments": [
            {
                "experiment": "exp-1",
                "experiment_name": NASTY,
                "status": "running",
                "metric": "win_rate",
                "variant": "control",
                "is_control": True,
                "units": 500,
                "mean": 0.5,
                "relative_lift": None,
                "relative_lift_ci_low": None,
                "relative_lift_ci_high": None,
                "p_value": None,
                "p_adjusted": None,
                "significant": None,
                "gated": None,
                "srm_warning": True,
            },
            {
                "experiment": "exp-1",
                "experiment_name": NASTY,
                "status": "running",
                "metric": "win_rate",
                "variant": "treatment",
                "is_control": False,
                "units": 500,
                "mean": 0.55,
                "relative_lift": 0.1,
                "relative_lift_ci_low": 0.02,
                "relative_lift_ci_high": 0.18,
                "p_value": 0.01,
                "p_adjusted": 0.01,
                "significant": True,
                "gated": False,
                "srm_warning": True,
            },
        ],
        "slo": [
            {
                "threshold_id": "slow",
                "metric": "latency_ms.p95",
                "where": "command=" + NASTY,
                "op": ">",
                "value": 40.0,
                "severity": "warning",
                "observed": 59.0,
                "t": days[-1],
                "status": "breached",
            },
        ],
        "incidents": [
            {
                "incident_id": "inc-1",
                "severity": "critical",
                "status": "new",
                "source": "threshold",
                "metric": "latency_ms.p95",
                "summary": NASTY,
                "opened_at": "2026-11-29T10:00:00Z",
            },
        ],
        "incident_stats": [{"name": "count", "value": 1}],
    }


def test_numbers_are_compact() -> None:
    assert number(1234) == "1.23k"
    assert number(0.4567) == "0.457"
    assert number(None) == "\u2013"
    assert percent(0.5) == "50.0%"


def test_line_chart_escapes_labels_and_breaks_lines_at_gaps() -> None:
    svg = line_chart([Series(NASTY, [("a", 1.0), ("b", None), ("c", 2.0), ("d", 3.0)])], NASTY)
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg and "Ünïcødé 🎮" in svg
    path = re.search(r' d="([^"]+)"', svg)
    assert path is not None and path.group(1).count("M") == 2  # the gap starts a new line


def test_empty_charts_render_nothing() -> None:
    assert line_chart([], "x") == ""
    assert line_chart([Series("s", [("a", None)])], "x") == ""
    assert bar_chart([], "x") == ""


def test_single_point_is_a_dot() -> None:
    assert "<circle" in line_chart([Series("s", [("a", 5.0)])], "x")


def test_bar_chart_escapes_names_and_notes() -> None:
    svg = bar_chart([(NASTY, 3.0), ("b", 0.0)], "t", note=["<b>", ""])
    assert "<script" not in svg and "<b>" not in svg and "&lt;b&gt;" in svg


def test_page_escapes_every_value_and_has_a_strict_csp() -> None:
    page = render_dashboard(figures(full_tables(), name=NASTY), "archive/x/", "archive/")
    assert "<script" not in page.lower()
    assert page.count("&lt;script&gt;") >= 6  # name, bar label, funnel, experiment, SLO, incident
    assert "Ünïcødé 🎮" in page
    assert f'content="{CSP}"' in page and f"'sha256-{STYLE_HASH}'" in CSP
    assert f"<style>{CSS}</style>" in page
    assert re.search(r"(src|href)=\"(https?:)?//", page) is None  # nothing remote
    assert page.count("<svg") >= 5
    assert "significant ▲" in page and "sample ratio mismatch" in page
    assert 'href="archive/x/data.json"' in page and 'href="archive/x/csv/kpis.csv"' in page


def test_empty_figures_render_a_readable_page() -> None:
    page = render_dashboard(figures(), "", "../")
    assert "No events in this range" in page and "No open incidents" in page
    assert "<svg" not in page


def test_suppressed_groups_are_announced() -> None:
    page = render_dashboard(figures(full_tables(), {"funnels": 2, "kpis": 0}), "", "../")
    assert "k-anonymity" in page and "funnels: 2" in page and "kpis: 0" not in page
    assert "k-anonymity" not in render_dashboard(figures(full_tables(), {"kpis": 0}), "", "../")


def test_site_files_reference_only_their_own_snapshot() -> None:
    rendered = render_site(figures(full_tables()), "20261130T023000Z")
    paths = [f.path for f in rendered.snapshot]
    assert paths[:2] == ["index.html", "data.json"] and "csv/funnels.csv" in paths
    current = rendered.switch[0].body.decode()
    assert 'href="archive/20261130T023000Z/data.json"' in current
    pointer = json.loads(rendered.switch[1].body)
    assert pointer["snapshot"] == "20261130T023000Z" and pointer["app"] == "acme-game"
    assert all(p.startswith("archive/20261130T023000Z/") for p in pointer["files"])


def test_figures_json_and_csv() -> None:
    data = figures(full_tables())
    document = json.loads(data.to_json())
    assert document["app"] == "acme-game" and document["to"] == "2026-11-30T00:00:00Z"
    assert document["tables"]["overview"][2]["name"] == NASTY
    csv = data.to_csv("slo").decode()
    assert csv.splitlines()[0] == "threshold_id,metric,where,op,value,severity,observed,t,status"
    formula = (
        Figures("a-b", "n", START, END, NOW, {"t": [{"name": "=cmd()", "ok": True}]}).to_csv("t").decode()
    )
    assert formula.splitlines()[1] == "'=cmd(),true"


def test_archive_index_lists_snapshots_escaped() -> None:
    page = render_archive_index(
        "acme-game", NASTY, [{"id": "20261130T023000Z", "generated_at": "x", "files": 3}]
    )
    assert 'href="20261130T023000Z/"' in page.decode() and "<script" not in page.decode()


def test_incident_response_times_are_summarised() -> None:
    stats = [
        {"name": "total", "value": 3},
        {"name": "by_severity.critical", "value": 1},
        {"name": "time_to_acknowledge_seconds.mean", "value": 90.0},
        {"name": "time_to_acknowledge_seconds.median", "value": 30.0},
        {"name": "time_to_resolve_seconds.mean", "value": None},
    ]
    page = render_dashboard(figures({"incident_stats": stats}), "", "../")
    assert "3 incidents opened (1 critical)" in page and "mean 1.5 min, median 30 s" in page
    assert "to resolve: mean \u2013" in page
