"""The retention boundary rule (liveops.domain.retention): what is past retention, exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from liveops.domain import retention as rules

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def test_day_at_the_edge_is_kept_the_day_before_is_deleted() -> None:
    # cutoff = 2026-11-20 03:00: 2026-11-20 is partly inside the window
    assert rules.first_kept_day(NOW, 10) == date(2026, 11, 20)
    assert not rules.is_expired(date(2026, 11, 20), None, NOW, 10)
    assert rules.is_expired(date(2026, 11, 19), None, NOW, 10)
    assert not rules.is_expired(date(2026, 11, 29), None, NOW, 10)


@pytest.mark.parametrize("moment", ["00:00:00", "00:00:01", "23:59:59"])
def test_the_day_rule_does_not_depend_on_the_time_of_day(moment: str) -> None:
    now = datetime.fromisoformat(f"2026-11-30T{moment}+00:00")
    assert rules.first_kept_day(now, 10) == date(2026, 11, 20)
    assert not rules.is_expired(date(2026, 11, 20), None, now, 10)
    assert rules.is_expired(date(2026, 11, 19), None, now, 10)


def test_hour_partitions_go_once_the_whole_hour_is_past() -> None:
    # cutoff 2026-11-27 03:00: hour 02 ends exactly at the cutoff, hour 03 contains it
    assert rules.is_expired(date(2026, 11, 27), 2, NOW, 3)
    assert not rules.is_expired(date(2026, 11, 27), 3, NOW, 3)
    assert rules.is_expired(date(2026, 11, 26), 23, NOW, 3)
    late = datetime(2026, 11, 30, 3, 0, 1, tzinfo=UTC)
    assert not rules.is_expired(date(2026, 11, 27), 3, late, 3)


def test_partition_keys_are_parsed_and_odd_keys_never_selected() -> None:
    assert rules.parse_partition("dt=2026-01-02/hour=05/part-a.parquet", hourly=True) == rules.PartitionId(
        date(2026, 1, 2), 5
    )
    assert rules.parse_partition("dt=2026-01-02/part-0.parquet", hourly=False) == rules.PartitionId(
        date(2026, 1, 2)
    )
    for odd in ("dt=2026-01-02/part.parquet", "dt=2026-02-31/hour=01/x", "dt=2026-01-02/hour=24/x", "x/y"):
        assert rules.parse_partition(odd, hourly=True) is None
    assert rules.parse_partition("notes.txt", hourly=False) is None


def test_select_expired_counts_everything_and_selects_only_past_partitions() -> None:
    prefix = "exports/app_id=a/"
    objects = [
        (prefix + "dt=2026-11-25/e1/summary.json", 10),  # the edge day (5 days): kept
        (prefix + "dt=2026-11-24/e2/summary.json", 20),  # deleted
        (prefix + "dt=2026-11-24/e2/kpis.csv", 5),  # deleted
        (prefix + "README", 7),  # outside any partition: kept
    ]
    selection = rules.select_expired(objects, prefix, hourly=False, now=NOW, days=5)
    assert (selection.total_objects, selection.total_bytes) == (4, 42)
    assert sorted(selection.keys) == sorted(k for k, _ in objects[1:3])
    assert selection.expired_bytes == 25
    assert [p.label() for p in selection.expired] == ["dt=2026-11-24"]


def test_finished_experiments_expire_by_their_finishing_day() -> None:
    experiments = [
        {"id": "edge", "status": "finished", "updated_at": "2026-11-28T23:59:59Z"},
        {"id": "old", "status": "finished", "updated_at": "2026-11-27T23:59:59Z"},
        {"id": "running", "status": "running", "updated_at": "2020-01-01T00:00:00Z"},
        {"id": "garbled", "status": "finished", "updated_at": "yesterday"},
    ]
    assert rules.expired_experiments(experiments, NOW, 2) == ["old"]


def test_long_lists_are_capped_in_reports() -> None:
    labels = [f"dt=2026-01-{d:02d}" for d in range(1, 31)] * 5
    shown = rules.listed(labels)
    assert len(shown["partitions"]) == rules.REPORT_LIST_LIMIT
    assert shown["partitions_not_listed"] == len(labels) - rules.REPORT_LIST_LIMIT
    assert rules.listed(["dt=2026-01-01"]) == {"partitions": ["dt=2026-01-01"]}
