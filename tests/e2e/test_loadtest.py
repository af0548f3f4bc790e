"""The load test's own contract, on a short run: it reconciles exactly and reports what it saw."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from liveops.local.loadtest import run_load
from liveops.local.process import StackProcess, start_stack_process


@pytest.fixture(scope="module")
def fresh_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    # its own stack: the reconciliation counts every event in the lake
    stack = start_stack_process(Path(tmp_path_factory.mktemp("load-state")))
    yield stack
    stack.stop()


def test_short_load_reconciles_exactly(fresh_stack: StackProcess) -> None:
    report = run_load(fresh_stack, clients=3, duration=4, seed=7, progress=lambda message: None)

    assert report["problems"] == []
    assert report["ok"] is True
    assert report["requests"] > 0 and report["events_accepted"] > 0
    # each client sends every kind of batch first (valid, partly invalid, retried, malformed);
    # malformed ones are refused with 400
    assert "valid" in report["batches"] and set(report["batches"]) <= {
        "valid",
        "partly_invalid",
        "retried",
        "malformed",
    }
    assert report["statuses"].get("400", 0) == report["batches"].get("malformed", 0)
    assert not any(status.startswith("5") for status in report["statuses"])
    for figures in report["apps"].values():
        assert figures["lost"] == 0 and figures["unacknowledged_in_lake"] == 0
        assert (
            figures["accepted"]
            == figures["lake_distinct"]
            == figures["rollup_hourly"]
            == figures["rollup_daily"]
        )


def test_short_load_under_aws_faults_loses_nothing(tmp_path: Path) -> None:
    stack = start_stack_process(tmp_path, "--faults", "0.1")
    try:
        assert stack.info["fault_rate"] == 0.1
        report = run_load(stack, clients=3, duration=4, seed=9, progress=lambda message: None)
    finally:
        _, output = stack.stop()

    assert report["problems"] == [] and report["ok"] is True, output[-5000:]
    assert set(report["statuses"]) <= {"202", "400", "503"}
    for figures in report["apps"].values():
        assert figures["lost"] == 0 and figures["unacknowledged_in_lake"] == 0
        assert (
            figures["accepted"] + figures["given_up_in_lake"]
            == figures["lake_distinct"]
            == figures["rollup_daily"]
        )
