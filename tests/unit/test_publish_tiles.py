"""The dashboard's overview tiles for every example app: SLO health, traffic and errors are always
there, each saying what it counts (issue 6: "overview tiles (SLO health, traffic, errors)")."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import yaml

from liveops.models.app_config import AppConfig, load_app_config
from liveops.publish.html import render_dashboard
from liveops.publish.svg import MISSING
from liveops.services.figures import Figures

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "apps"
START = datetime(2026, 9, 1, tzinfo=UTC)
END = datetime(2026, 11, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)
TILE = re.compile(
    r'<div class="tile" data-tile="(?P<key>[a-z-]+)"><b class="(?P<tone>[a-z]*)">(?P<value>[^<]*)</b>'
    r"<span>(?P<label>[^<]*)</span>(?:<small>(?P<basis>[^<]*)</small>)?</div>"
)

# per example app: the errors tile's value and what it says it is computed from (KPI values below)
EXPECTED_ERRORS = {
    "abyssal-architect": ("7.0%", "crash_rate (worst failure KPI)"),
    "ash-bot": ("1", "open critical incidents (no failure or success KPI)"),
    "awf": ("2.0%", "fallback_rate (worst failure KPI)"),
    "great-work": ("9.0%", "1 - llm_success_rate (worst success KPI)"),
    "web-qa": ("4.0%", "artifact_failure_rate (worst failure KPI)"),
}
KPI_VALUES = {
    "crash_rate": 0.07,
    "fallback_rate": 0.02,
    "command_success_rate": 0.97,
    "llm_success_rate": 0.91,
    "archive_publish_success_rate": 1.0,
    "fatal_error_rate": 0.01,
    "artifact_failure_rate": 0.04,
    "pass_rate": 0.5,  # a success KPI, but web-qa has failure KPIs: those are read first
    "craft_success_rate": 0.6,  # likewise for awf
}


def example(name: str) -> AppConfig:
    return load_app_config(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()))


def figures_for(config: AppConfig, incidents: list[dict[str, Any]]) -> Figures:
    """What the collector would produce: every KPI of the config, one SLO row per threshold."""
    kpis = [
        {"kpi": name, "numerator": 10, "denominator": 100, "value": KPI_VALUES.get(name, 0.5)}
        for name in config.kpis
    ]
    statuses = ("ok", "breached", "no_data")
    slo = [
        {
            "threshold_id": t.id,
            "metric": t.metric,
            "where": "",
            "op": t.op,
            "value": t.value,
            "severity": t.severity,
            "observed": 1.0,
            "t": "2026-11-29T00:00:00Z",
            "status": statuses[i % 3],
        }
        for i, t in enumerate(config.thresholds)
    ]
    tables = {
        "overview": [
            {"section": "totals", "name": "events", "value": 5000, "n": None},
            {"section": "totals", "name": "users_lower_bound", "value": 40, "n": None},
        ],
        "kpis": kpis,
        "timeseries": [{"metric": "events.count", "t": "2026-11-29T00:00:00Z", "value": 321, "n": 321}],
        "slo": slo,
        "incidents": incidents,
    }
    return Figures(config.app_id, config.name, START, END, NOW, tables, {"kpis": 0})


def tiles(page: str) -> dict[str, dict[str, str]]:
    section = page[page.index('<section class="tiles">') :]
    section = section[: section.index("</section>")]
    found = {
        match["key"]: {key: unescape(value or "") for key, value in match.groupdict().items()}
        for match in TILE.finditer(section)
    }
    assert section.count('class="tile"') == len(found), section  # every tile parsed
    return found


CRITICAL = {
    "incident_id": "inc-1",
    "severity": "critical",
    "status": "new",
    "source": "threshold",
    "metric": "time_to_acknowledge.max",
    "summary": "slow",
    "opened_at": "2026-11-29T10:00:00Z",
}


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_every_example_app_gets_slo_traffic_and_errors_tiles(name: str) -> None:
    config = example(name)
    page = render_dashboard(figures_for(config, [CRITICAL] if name == "ash-bot" else []), "", "archive/")
    found = tiles(page)
    assert list(found) == ["slo", "traffic", "users", "latest-day", "errors", "incidents"]

    slo, n = found["slo"], len(config.thresholds)
    ok, breached = (n + 2) // 3, (n + 1) // 3
    assert (slo["value"], slo["label"]) == (f"{ok}/{n}", "SLOs healthy")
    assert slo["basis"] == f"{breached} breached, {n - ok - breached} no data" and slo["tone"] == "bad"

    assert (found["traffic"]["value"], found["traffic"]["label"]) == ("5k", "events")
    assert found["latest-day"]["value"] == "321" and found["users"]["value"] == "40"

    errors = found["errors"]
    assert errors["label"] == "errors" and (errors["value"], errors["basis"]) == EXPECTED_ERRORS[name]
    critical = 1 if name == "ash-bot" else 0
    assert (found["incidents"]["value"], found["incidents"]["basis"]) == (
        str(critical),
        f"{critical} critical",
    )


def test_tiles_without_thresholds_data_or_kpis_still_say_what_they_show() -> None:
    config = example("ash-bot")
    empty = Figures(config.app_id, config.name, START, END, NOW, {}, {"kpis": 2})
    found = tiles(render_dashboard(empty, "", "archive/"))
    assert list(found) == ["slo", "traffic", "users", "latest-day", "errors", "incidents"]
    assert found["slo"]["basis"] == "no thresholds in the app config" and found["slo"]["value"] == MISSING
    assert found["errors"]["basis"] == "open critical incidents (KPIs hidden by k-anonymity)"
    assert found["errors"]["value"] == "0" and found["errors"]["tone"] == "ok"

    # failure KPIs without a value in the range: named, with no figure
    no_value = {"kpis": [{"kpi": "crash_rate", "numerator": 0, "denominator": 0, "value": None}]}
    errors = tiles(render_dashboard(Figures("a-b-c", "A", START, END, NOW, no_value), "", ""))["errors"]
    assert (errors["value"], errors["basis"]) == (MISSING, "crash_rate: no data in this range")
