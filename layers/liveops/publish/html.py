"""The static dashboard page and the archive index page, from a Figures object.

Self-contained: one hashed <style> block, inline SVG charts, no scripts, fonts, images or remote
URLs, with a CSP that forbids anything else. Every value from the data is HTML-escaped (dimension
values and names come from game clients and app configs).
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from liveops.publish.style import CSS
from liveops.publish.svg import MISSING, SERIES_CLASSES, Series, bar_chart, line_chart, number, percent
from liveops.services.figures import Figures

Row = dict[str, Any]
STYLE_HASH = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode()
CSP = (
    f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; img-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)
# measure aggregations drawn together on one chart (same unit); count and sum get their own
VALUE_AGGS = ("avg", "min", "max", "p50", "p95", "p99")


def page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """`rows` cells are already HTML (escape data before passing it)."""
    head = "".join(
        f'<th class="num">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _figure(caption: str, chart: str, labels: Sequence[str] = ()) -> str:
    if not chart:
        return ""
    legend = ""
    if len(labels) > 1:
        legend = (
            '<span class="legend">'
            + "".join(
                f'<i class="{SERIES_CLASSES[i % len(SERIES_CLASSES)]}"></i>{escape(label)}'
                for i, label in enumerate(labels)
            )
            + "</span>"
        )
    return f"<figure><figcaption>{escape(caption)} {legend}</figcaption>{chart}</figure>"


def _empty(what: str) -> str:
    return f'<p class="note">No {escape(what)} in this range.</p>'


def _badge(text: str, tone: str) -> str:
    return f'<span class="badge {tone}">{escape(text)}</span>'


def _tile(value: str, label: str, tone: str = "", basis: str = "", key: str = "") -> str:
    """One overview tile: the figure, what it is, and (small) what it is computed from."""
    note = f"<small>{escape(basis)}</small>" if basis else ""
    data = f' data-tile="{escape(key)}"' if key else ""
    return (
        f'<div class="tile"{data}><b class="{tone}">{escape(value)}</b>'
        f"<span>{escape(label)}</span>{note}</div>"
    )


def _series_by_metric(rows: list[Row]) -> dict[str, list[tuple[str, float | None]]]:
    out: dict[str, list[tuple[str, float | None]]] = {}
    for row in rows:
        out.setdefault(row["metric"], []).append((row["t"], row["value"]))
    return out


# ---------------------------------------------------------------- sections


def _tiles(figures: Figures) -> str:
    """The overview, always the same tiles for every app: SLO health, traffic (events, users, the
    latest day), errors and open incidents; each says what it counts."""
    tables = figures.tables
    slo = tables.get("slo", [])
    breached = sum(1 for r in slo if r["status"] == "breached")
    healthy = sum(1 for r in slo if r["status"] == "ok")
    no_data = len(slo) - breached - healthy
    totals = {r["name"]: r["value"] for r in tables.get("overview", []) if r["section"] == "totals"}
    daily = _series_by_metric(tables.get("timeseries", [])).get("events.count", [])
    latest_day = daily[-1][1] if daily else None
    open_incidents = tables.get("incidents", [])
    critical = sum(1 for r in open_incidents if r["severity"] == "critical")
    slo_tone = "bad" if breached else ("ok" if slo else "mute")
    slo_basis = f"{breached} breached, {no_data} no data" if slo else "no thresholds in the app config"
    tiles = [
        _tile(f"{healthy}/{len(slo)}" if slo else MISSING, "SLOs healthy", slo_tone, slo_basis, "slo"),
        _tile(number(totals.get("events")), "events", "", "traffic over the range", "traffic"),
        _tile(number(totals.get("users_lower_bound")), "users (busiest day)", key="users"),
        _tile(number(latest_day), "events, latest day", key="latest-day"),
        _errors_tile(tables.get("kpis", []), critical, figures.suppressed.get("kpis", 0)),
        _tile(
            str(len(open_incidents)),
            "open incidents",
            "bad" if critical else "",
            f"{critical} critical",
            "incidents",
        ),
    ]
    return f'<section class="tiles">{"".join(tiles)}</section>'


# KPI name words (split on "_") that make it a failure rate, or a success rate (errors = 1 - it)
FAILURE_WORDS = ("error", "fail", "crash", "exception", "timeout", "reject", "fallback")
SUCCESS_WORDS = ("success", "pass")
ERROR_RATE_WARN = 0.05


def error_basis(kpis: list[Row]) -> tuple[str, list[Row]]:
    """Which KPIs the errors tile reads: ("failure", the KPIs named as failures — error, fail,
    crash, exception, timeout, reject, fallback), else ("success", those named as successes, read
    as 1 - value), else ("incidents", [])."""

    def named(words: tuple[str, ...]) -> list[Row]:
        return [r for r in kpis if any(w.startswith(words) for w in str(r["kpi"]).lower().split("_"))]

    failures = named(FAILURE_WORDS)
    if failures:
        return "failure", failures
    successes = named(SUCCESS_WORDS)
    return ("success", successes) if successes else ("incidents", [])


def _errors_tile(kpis: list[Row], critical_incidents: int, kpis_suppressed: int) -> str:
    """Errors, for every app: the worst failure KPI (or 1 - the worst success KPI) over the range;
    an app that has neither gets its open critical incidents. The tile names its source."""
    kind, candidates = error_basis(kpis)
    if kind == "incidents":
        why = "KPIs hidden by k-anonymity" if kpis_suppressed else "no failure or success KPI"
        return _tile(
            str(critical_incidents),
            "errors",
            "bad" if critical_incidents else "ok",
            f"open critical incidents ({why})",
            "errors",
        )
    rates = [
        (float(r["value"]) if kind == "failure" else 1.0 - float(r["value"]), str(r["kpi"]))
        for r in candidates
        if r.get("value") is not None
    ]
    if not rates:
        names = ", ".join(str(r["kpi"]) for r in candidates)
        return _tile(MISSING, "errors", "mute", f"{names}: no data in this range", "errors")
    rate, name = max(rates)
    basis = f"{name} (worst failure KPI)" if kind == "failure" else f"1 - {name} (worst success KPI)"
    return _tile(percent(rate), "errors", "bad" if rate > ERROR_RATE_WARN else "ok", basis, "errors")


def _slo(rows: list[Row]) -> str:
    if not rows:
        return ""
    tone = {"ok": "ok", "breached": "bad", "no_data": "mute"}
    cells = [
        (
            _badge(r["status"].replace("_", " "), tone[r["status"]]),
            escape(r["threshold_id"]),
            escape(r["metric"] + (f" [{r['where']}]" if r["where"] else "")),
            escape(f"{r['op']} {number(r['value'])}"),
            escape(number(r["observed"])),
            escape(r["severity"]),
        )
        for r in rows
    ]
    return "<h2>SLO health</h2>" + _table(
        ["status", "threshold", "metric", "limit", "latest", "severity"], cells, [4]
    )


def _kpis(figures: Figures) -> str:
    kpis = figures.tables.get("kpis", [])
    if not kpis:
        return ""
    series = _series_by_metric(figures.tables.get("timeseries", []))
    cells = [
        (
            escape(r["kpi"]),
            percent(r["value"]),
            escape(number(r["numerator"])),
            escape(number(r["denominator"])),
        )
        for r in kpis
    ]
    charts = "".join(
        _figure(r["kpi"], line_chart([Series(r["kpi"], series.get(r["kpi"], []))], r["kpi"], percent))
        for r in kpis
    )
    return (
        "<h2>KPIs</h2>"
        + _table(["KPI", "value", "numerator", "denominator"], cells, [1, 2, 3])
        + f'<div class="grid2">{charts}</div>'
    )


def _traffic(figures: Figures) -> str:
    series = _series_by_metric(figures.tables.get("timeseries", []))
    events = line_chart([Series("events", series.get("events.count", []))], "events per day")
    by_type = [
        (str(r["name"]), float(r["value"]))
        for r in figures.tables.get("overview", [])
        if r["section"] == "events_by_type"
    ]
    bars = bar_chart(by_type[:15], "events by type")
    body = _figure("Events per day", events) + _figure("Events by type", bars)
    return "<h2>Traffic</h2>" + (f'<div class="grid2">{body}</div>' if body else _empty("events"))


def _measures(figures: Figures) -> str:
    series = _series_by_metric(figures.tables.get("timeseries", []))
    groups: dict[tuple[str, str], list[str]] = {}
    for metric in series:
        head, dot, agg = metric.partition(".")
        if not dot or head == "events":
            continue
        groups.setdefault((head, "value" if agg in VALUE_AGGS else agg), []).append(metric)
    charts = []
    for (measure, kind), metrics in groups.items():
        labels = [m.partition(".")[2] for m in metrics]
        lines = [Series(label, series[m]) for label, m in zip(labels, metrics, strict=True)]
        caption = measure if kind == "value" else f"{measure} ({kind})"
        charts.append(_figure(caption, line_chart(lines, caption), labels))
    body = "".join(charts)
    return "<h2>Measures</h2>" + (f'<div class="grid2">{body}</div>' if body else _empty("measures"))


def _funnels(rows: list[Row]) -> str:
    if not rows:
        return ""
    by_funnel: dict[str, list[Row]] = {}
    for row in rows:
        by_funnel.setdefault(row["funnel"], []).append(row)
    charts = []
    for name, steps in by_funnel.items():
        steps.sort(key=lambda r: r["step"])
        bars = [(f"{s['step'] + 1}. {s['name']}", float(s["units"])) for s in steps]
        notes = [
            f"· {percent(s['conversion_from_start'])} · drop {percent(1 - s['conversion_from_previous'])}"
            if s["conversion_from_previous"] is not None
            else f"· {percent(s['conversion_from_start'])}"
            for s in steps
        ]
        caption = f"{name} (by {steps[0]['by']})"
        charts.append(_figure(caption, bar_chart(bars, caption, note=notes)))
    return "<h2>Funnels</h2>" + f'<div class="grid2">{"".join(charts)}</div>'


def _spans(rows: list[Row]) -> str:
    if not rows:
        return ""
    by_span: dict[str, list[Row]] = {}
    for row in rows:
        by_span.setdefault(row["span"], []).append(row)
    charts = []
    cells = []
    for name, points in by_span.items():
        labels = ["p50", "p95", "avg"]
        lines = [Series(agg, [(p["t"], p[agg]) for p in points]) for agg in labels]
        charts.append(_figure(f"{name} (response time)", line_chart(lines, name, _duration), labels))
        total = sum(p["n"] for p in points)
        weighted = [(p["avg"], p["n"]) for p in points if p["avg"] is not None]
        mean = sum(a * n for a, n in weighted) / sum(n for _, n in weighted) if weighted else None
        latest = next((p for p in reversed(points) if p["p95"] is not None), None)
        cells.append(
            (
                escape(name),
                escape(number(total)),
                escape(_duration(mean)),
                escape(_duration(latest["p95"] if latest else None)),
            )
        )
    table = _table(["span", "pairs", "mean", "p95 (latest day)"], cells, [1, 2, 3])
    return "<h2>Response times</h2>" + table + f'<div class="grid2">{"".join(charts)}</div>'


def _duration(value: float | None) -> str:
    """Spans are stored in milliseconds."""
    if value is None or not math.isfinite(value):
        return MISSING
    seconds = value / 1000
    if abs(seconds) >= 3600:
        return f"{seconds / 3600:.3g} h"
    if abs(seconds) >= 60:
        return f"{seconds / 60:.3g} min"
    if abs(seconds) >= 1:
        return f"{seconds:.3g} s"
    return f"{value:.3g} ms"


def _experiments(rows: list[Row]) -> str:
    if not rows:
        return ""
    by_experiment: dict[str, list[Row]] = {}
    for row in rows:
        by_experiment.setdefault(row["experiment"], []).append(row)
    out = ["<h2>Experiments</h2>"]
    for experiment, variants in by_experiment.items():
        first = variants[0]
        srm = _badge("sample ratio mismatch", "bad") if first["srm_warning"] else ""
        out.append(
            f'<h3>{escape(first["experiment_name"])} <span class="note">{escape(experiment)} · '
            f"{escape(str(first['status']))}</span> {srm}</h3>"
        )
        cells = [
            (
                escape(r["metric"]),
                escape(r["variant"]) + (" (control)" if r["is_control"] else ""),
                escape(number(r["units"])),
                escape(number(r["mean"])),
                escape(_lift(r)),
                escape(number(r["p_adjusted"])),
                _significance(r),
            )
            for r in variants
        ]
        out.append(
            _table(
                ["metric", "variant", "user-days", "mean", "lift (95% CI)", "p (adj.)", ""], cells, [2, 3, 5]
            )
        )
    return "".join(out)


def _lift(row: Row) -> str:
    if row["is_control"] or row.get("relative_lift") is None:
        return MISSING
    low, high = row.get("relative_lift_ci_low"), row.get("relative_lift_ci_high")
    interval = f" [{percent(low)}, {percent(high)}]" if low is not None and high is not None else ""
    return f"{percent(row['relative_lift'])}{interval}"


def _significance(row: Row) -> str:
    if row["is_control"]:
        return ""
    if row.get("gated"):
        return _badge("too few users", "mute")
    if row.get("significant"):
        lift = row.get("relative_lift") or 0.0
        # neutral: whether up is good depends on the metric (a stuck rate should fall)
        return _badge("significant ▲" if lift > 0 else "significant ▼", "sig")
    if row.get("significant") is False:
        return _badge("not significant", "mute")
    return ""


def _incident_summary(stats: list[Row]) -> str:
    """One line from the incident stats of the range (opened, by severity, response times)."""
    found = {row["name"]: row["value"] for row in stats}
    if not found.get("total"):
        return ""

    def seconds(name: str) -> str:
        value = found.get(name)
        return _duration(float(value) * 1000) if value is not None else MISSING

    return (
        f'<p class="note">In this range: {escape(str(found["total"]))} incidents opened '
        f"({escape(str(found.get('by_severity.critical', 0)))} critical). Time to acknowledge: mean "
        f"{seconds('time_to_acknowledge_seconds.mean')}, "
        f"median {seconds('time_to_acknowledge_seconds.median')}; "
        f"to resolve: mean {seconds('time_to_resolve_seconds.mean')}, "
        f"median {seconds('time_to_resolve_seconds.median')}.</p>"
    )


def _incidents(rows: list[Row], stats: list[Row]) -> str:
    summary = _incident_summary(stats)
    if not rows:
        return "<h2>Open incidents</h2>" + '<p class="note">No open incidents.</p>' + summary
    cells = [
        (
            _badge(r["severity"], "bad" if r["severity"] == "critical" else "warn"),
            escape(r["status"]),
            escape(r["opened_at"]),
            escape(r["source"] if r["source"] != "threshold" else str(r["metric"] or "")),
            escape(r["summary"]),
        )
        for r in rows
    ]
    return (
        "<h2>Open incidents</h2>"
        + _table(["severity", "status", "opened", "what", "summary"], cells)
        + summary
    )


def _downloads(figures: Figures, data_base: str, archive_href: str) -> str:
    links = [f'<a href="{escape(data_base)}data.json">data.json</a>']
    links += [
        f'<a href="{escape(data_base)}csv/{escape(name)}.csv">{escape(name)}.csv</a>'
        for name, rows in figures.tables.items()
        if rows
    ]
    links.append(f'<a href="{escape(archive_href)}">archive</a>')
    return '<p class="meta">Data: ' + " · ".join(links) + "</p>"


def _suppressed(figures: Figures) -> str:
    hidden = {name: count for name, count in figures.suppressed.items() if count}
    if not hidden:
        return ""
    parts = ", ".join(f"{escape(name)}: {count}" for name, count in hidden.items())
    return (
        '<p class="note">Groups left out because fewer than the minimum number of users are behind them '
        f"(k-anonymity): {parts}.</p>"
    )


def render_dashboard(figures: Figures, data_base: str, archive_href: str) -> str:
    """The page; `data_base` is where data.json and csv/ are relative to the page ("" inside a
    snapshot, "archive/<snapshot>/" for the current copy)."""
    meta = figures.metadata()
    header = (
        f"<h1>{escape(figures.app_name)}</h1>"
        f'<p class="meta">{escape(figures.app_id)} · {escape(meta["from"][:10])} to '
        f"{escape(meta['to'][:10])} (UTC, end exclusive)"
        f" · generated {escape(meta['generated_at'])}</p>"
    )
    sections = [
        header,
        _tiles(figures),
        _slo(figures.tables.get("slo", [])),
        _incidents(figures.tables.get("incidents", []), figures.tables.get("incident_stats", [])),
        _traffic(figures),
        _kpis(figures),
        _measures(figures),
        _funnels(figures.tables.get("funnels", [])),
        _spans(figures.tables.get("spans", [])),
        _experiments(figures.tables.get("experiments", [])),
        _suppressed(figures),
        _downloads(figures, data_base, archive_href),
    ]
    return page(f"{figures.app_name} — liveops dashboard", "".join(sections))


def render_archive_index(app_id: str, app_name: str, snapshots: list[Row]) -> bytes:
    cells = [
        (
            f'<a href="{escape(s["id"])}/">{escape(s["generated_at"])}</a>',
            escape(f"{str(s.get('from', ''))[:10]} to {str(s.get('to', ''))[:10]}"),
            escape(number(s.get("files"))),
            escape(number(s.get("bytes"))),
        )
        for s in snapshots
    ]
    body = (
        f"<h1>{escape(app_name)} — archive</h1>"
        f'<p class="meta">{escape(app_id)} · {len(snapshots)} snapshots, newest first · '
        '<a href="../">current dashboard</a></p>'
        + (_table(["published", "range", "files", "bytes"], cells, [2, 3]) if cells else _empty("snapshots"))
    )
    return page(f"{app_name} — archive", body).encode("utf-8")


def render_app_list(apps: list[str]) -> bytes:
    """/dashboard/ locally: the apps with a published dashboard."""
    items = "".join(f'<li><a href="{escape(app)}/">{escape(app)}</a></li>' for app in apps)
    body = "<h1>Dashboards</h1>" + (f"<ul>{items}</ul>" if items else _empty("published dashboards"))
    return page("liveops dashboards", body).encode("utf-8")
