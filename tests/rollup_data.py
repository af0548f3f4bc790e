"""Shared raw-event test data for the rollup engines (docs/rollups.md).

A small but realistic app (`CONFIG`) and three days of its raw lake rows (`raw_events()`), built
deterministically, with every case the contract cares about:

- duplicate event ids: later-received copies in another hour/partition with another envelope
  (the earliest received copy must win), copies differing only by `batch_id`, copies received at
  the same instant with different times (the smaller `batch_id` wins), a triple copy;
- late events (received a day later, written as a separate file into the old partition), empty
  hours (DAY0 03:00-06:00), tiny groups (a one-user platform, one-event dimension values),
  unicode/emoji dimension values, an integer payload dimension (`tier`), missing dimension
  values, sessions without `user_hash` (identity `session:<id>`);
- spans with repeated keys, ends before starts, pairs longer than `max_minutes`, a pair across
  midnight, an integer span key reaching back more than a day;
- funnels by session and by user with steps out of order, beyond the window, across sessions and
  across midnight;
- experiment assignments (`assignments()`, schema.ASSIGNMENTS) for two experiments, with users in
  both, an inactive assigned user and active users that are not assigned.

`write_lake(root)` writes them as the lake does: `raw/events/app_id=/dt=/hour=/part-N.parquet`
(several files per partition) and `curated/assignments/app_id=/part-0.parquet`. `EMPTY_CONFIG` is
an app with the same config and no rows at all.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from hypothesis import strategies as st

from liveops.domain.raw_batch import RAW_EVENTS_SCHEMA
from liveops.models.app_config import AppConfig, load_app_config
from liveops.rollups.schema import ASSIGNMENTS

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
MINUTE_MS = 60_000

APP_ID = "rollup-test"
EMPTY_APP_ID = "quiet-app"
DAY0_MS = int(datetime(2026, 3, 10, tzinfo=UTC).timestamp() * 1000)
DAYS_MS = (DAY0_MS - DAY_MS, DAY0_MS, DAY0_MS + DAY_MS)  # the days that hold events
EMPTY_HOURS_MS = tuple(DAY0_MS + h * HOUR_MS for h in (3, 4, 5))

CONFIG_DOC: dict[str, Any] = {
    "app_id": APP_ID,
    "name": "Rollup test",
    "platforms": ["web", "android", "ios"],
    "events": {
        "session_start": {"fields": {"launch": {"type": "string", "enum": ["cold", "resume"]}}},
        "run_start": {
            "fields": {
                "run_id": {"type": "string", "required": True},
                "tier": {"type": "integer", "min": 1, "max": 5},
                "mode": {"type": "string"},
            }
        },
        "run_end": {
            "fields": {
                "run_id": {"type": "string", "required": True},
                "outcome": {"type": "string", "enum": ["win", "loss", "abandon"]},
                "score": {"type": "integer", "min": 0},
                "duration_ms": {"type": "number", "min": 0},
                "boss": {"type": "boolean"},
                "tier": {"type": "integer", "min": 1, "max": 5},
                "mode": {"type": "string"},
            }
        },
        "purchase": {
            "fields": {
                "amount": {"type": "number", "min": 0},
                "currency": {"type": "string"},
                "tier": {"type": "integer"},
            }
        },
        "quest_start": {"fields": {"quest_id": {"type": "integer"}}},
        "quest_end": {"fields": {"quest_id": {"type": "integer"}}},
        "level_up": {"fields": {"level": {"type": "integer"}}},
    },
    "dimensions": [
        "platform",
        "client_version",
        "content_version",
        {"name": "tier", "from": "payload.tier"},
        {"name": "mode", "from": "payload.mode"},
    ],
    "measures": {
        "run_score": {"event": "run_end", "field": "score", "aggs": ["count", "sum", "avg", "p50", "p95"]},
        "win_ms": {
            "event": "run_end",
            "field": "duration_ms",
            "where": {"outcome": "win", "boss": True},
            "aggs": ["avg", "p50", "p95", "p99"],
        },
        "tier2_score": {"event": "run_end", "field": "score", "where": {"tier": 2}, "aggs": ["avg", "max"]},
        "spend": {"event": "purchase", "field": "amount", "aggs": ["sum", "avg", "p99"]},
    },
    "kpis": {
        "win_rate": {
            "numerator": {"event": "run_end", "where": {"outcome": "win"}},
            "denominator": {"event": "run_end"},
        },
        "runs_per_session": {"numerator": {"event": "run_start"}, "denominator": {"event": "session_start"}},
        "gem_buy_rate": {
            "numerator": {"event": "purchase", "where": {"currency": "gems"}},
            "denominator": {"event": "session_start", "where": {"launch": "cold"}},
        },
        "boss_kill_rate": {
            "numerator": {"event": "run_end", "where": {"boss": True, "outcome": "win"}},
            "denominator": {"event": "run_start", "where": {"tier": 3}},
        },
    },
    "spans": {
        "run_time": {"start": "run_start", "end": "run_end", "key": "run_id", "max_minutes": 90},
        "quest_time": {"start": "quest_start", "end": "quest_end", "key": "quest_id", "max_minutes": 2000},
    },
    "funnels": {
        "first_run": {
            "by": "session",
            "window_minutes": 60,
            "steps": ["session_start", "run_start", "run_end"],
        },
        "buyer": {"by": "user", "window_minutes": 360, "steps": ["session_start", "run_end", "purchase"]},
    },
    "experiments": {
        "metrics": ["win_rate", "win_ms.avg", "run_score.sum", "run_score.count", "events.count"]
    },
}

CONFIG: AppConfig = load_app_config(CONFIG_DOC)
EMPTY_CONFIG: AppConfig = load_app_config({**CONFIG_DOC, "app_id": EMPTY_APP_ID, "name": "Quiet"})

PLATFORMS = ("web", "web", "web", "android", "android")
CLIENT_VERSIONS = ("1.4.0", "1.4.0", "1.5.0-β", None)
CONTENT_VERSIONS = ("cv-12", "cv-13", None)
MODES = ("normal", "normal", "ranked", "ñormal-daily", None)

_STRINGS = {
    name for spec in CONFIG.events.values() for name, field in spec.fields.items() if field.type == "string"
}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


class _Builder:
    """Rows of RAW_EVENTS_SCHEMA plus the file each one is written to (`_file`)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._serial = 0

    def event_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-{self._serial:05d}"

    def add(
        self,
        event_type: str,
        time_ms: int,
        *,
        session: str,
        user: str | None,
        platform: str = "web",
        client_version: str | None = "1.4.0",
        content_version: str | None = "cv-12",
        batch: str | None = None,
        received_ms: int | None = None,
        event_id: str | None = None,
        skew_ms: int = 0,
        file: int = 0,
        app_id: str = APP_ID,
        **payload: Any,
    ) -> dict[str, Any]:
        received = received_ms if received_ms is not None else time_ms + 1_500
        nums: list[tuple[str, float]] = []
        attrs: list[tuple[str, str]] = []
        for key, value in payload.items():
            if value is None:
                continue
            if key in _STRINGS:
                attrs.append((key, str(value)))
            elif isinstance(value, bool):
                nums.append((key, 1.0 if value else 0.0))
            else:
                nums.append((key, float(value)))
        row = {
            "event_id": event_id or self.event_id(session),
            "event_type": event_type,
            "event_time": time_ms,
            "client_event_time": time_ms + skew_ms,
            "received_at": received,
            "sent_at": received - 120,
            "batch_id": batch or f"b-{session}-{time_ms // (10 * MINUTE_MS)}",
            "session_id": session,
            "user_hash": user,
            "platform": platform,
            "client_version": client_version,
            "content_version": content_version,
            "nums": nums,
            "attrs": attrs,
            "payload": json.dumps({k: v for k, v in payload.items() if v is not None}, ensure_ascii=False),
            "_file": file,
            "_app": app_id,
        }
        self.rows.append(row)
        return row

    def copy(self, row: dict[str, Any], **changes: Any) -> dict[str, Any]:
        """Another stored copy of an already added event (same event_id)."""
        twin = {**row, **changes}
        if "received_at" in changes and "sent_at" not in changes:
            twin["sent_at"] = changes["received_at"] - 120
        self.rows.append(twin)
        return twin


def _user_hash(i: int) -> str:
    return f"uh{i:03d}" + "f" * 8


def _random_sessions(b: _Builder, rng: random.Random) -> None:
    """The bulk: ordinary sessions of 24 users and some anonymous ones over the three days."""
    users = [_user_hash(i) for i in range(24)]
    platform_of = {u: PLATFORMS[i % len(PLATFORMS)] for i, u in enumerate(users)}
    run_serial = 0
    quest_serial = 100
    for day in DAYS_MS:
        for s in range(30):
            anonymous = s % 7 == 3
            user = None if anonymous else users[rng.randrange(len(users))]
            platform = "web" if user is None else platform_of[user]
            session = f"s{(day - DAY0_MS) // DAY_MS + 1}{s:02d}{'a' if anonymous else ''}"
            envelope: dict[str, Any] = {
                "session": session,
                "user": user,
                "platform": platform,
                "client_version": rng.choice(CLIENT_VERSIONS),
                "content_version": rng.choice(CONTENT_VERSIONS),
            }
            # never in DAY0 03:00-06:00 (empty hours), sessions of at most ~3 hours
            hour = rng.choice([h for h in range(21) if not (day == DAY0_MS and 0 <= h <= 6)])
            t = day + hour * HOUR_MS + rng.randrange(HOUR_MS)
            launch = rng.choice(["cold", "cold", "resume"])
            b.add("session_start", t, launch=launch, **envelope)
            for _ in range(rng.randrange(0, 4)):
                t += rng.randrange(10_000, 8 * MINUTE_MS)
                run_serial += 1
                run_id = f"run-{run_serial:04d}"
                tier = rng.choice([1, 2, 2, 3, None])
                mode = rng.choice(MODES)
                b.add("run_start", t, run_id=run_id, tier=tier, mode=mode, **envelope)
                duration = rng.randrange(20_000, 25 * MINUTE_MS)
                if rng.random() < 0.85:
                    t += duration
                    outcome = rng.choice(["win", "win", "loss", "abandon"])
                    b.add(
                        "run_end",
                        t,
                        run_id=run_id,
                        outcome=outcome,
                        score=rng.randrange(0, 5000) if outcome != "abandon" else None,
                        duration_ms=duration + rng.random(),
                        boss=rng.random() < 0.5,
                        tier=tier,
                        mode=mode,
                        **envelope,
                    )
                if rng.random() < 0.3:
                    t += rng.randrange(1_000, 60_000)
                    b.add(
                        "purchase",
                        t,
                        amount=rng.choice([0.99, 4.99, 9.99, 19.99]),
                        currency=rng.choice(["gems", "gems", "gold"]),
                        tier=tier,
                        **envelope,
                    )
            if rng.random() < 0.4:
                quest_serial += 1
                b.add("quest_start", t + 1_000, quest_id=quest_serial, **envelope)
                if rng.random() < 0.7:
                    b.add(
                        "quest_end",
                        t + rng.randrange(2_000, 40 * MINUTE_MS),
                        quest_id=quest_serial,
                        **envelope,
                    )
            if rng.random() < 0.5:
                b.add("level_up", t + 3_000, level=rng.randrange(2, 60), **envelope)


def _edge_cases(b: _Builder) -> None:
    d0 = DAY0_MS
    u_dup, u_ios, u_span, u_funnel = _user_hash(90), _user_hash(91), _user_hash(92), _user_hash(93)

    # --- duplicates ------------------------------------------------------------------------------
    # received twice: the later copy has another corrected time (another hour partition) and came
    # through a newer client; the earliest received copy (10:20) must win
    first = b.add(
        "run_end",
        d0 + 10 * HOUR_MS + 20 * MINUTE_MS,
        session="dupA",
        user=u_dup,
        run_id="run-dup-1",
        outcome="win",
        score=4242,
        duration_ms=95_000.5,
        boss=True,
        tier=3,
        mode="ranked",
        received_ms=d0 + 10 * HOUR_MS + 21 * MINUTE_MS,
        batch="b-dupA-9",
    )
    b.copy(
        first,
        event_time=d0 + 11 * HOUR_MS + 5 * MINUTE_MS,
        received_at=d0 + 12 * HOUR_MS,
        client_version="1.5.0-β",
        batch_id="b-dupA-0",
        _file=2,
    )
    # the later received copy sits in an *earlier* partition: file order and event time must not matter
    second = b.add(
        "run_start",
        d0 + 9 * HOUR_MS + 50 * MINUTE_MS,
        session="dupA",
        user=u_dup,
        run_id="run-dup-1",
        tier=3,
        mode="ranked",
        received_ms=d0 + 10 * HOUR_MS,
        batch="b-dupA-5",
    )
    b.copy(second, event_time=d0 + 8 * HOUR_MS + 55 * MINUTE_MS, received_at=d0 + 10 * HOUR_MS + 1, _file=1)
    # copies differing only by batch_id (a re-sent batch)
    third = b.add(
        "session_start", d0 + 9 * HOUR_MS, session="dupA", user=u_dup, launch="cold", batch="b-dupA-2"
    )
    b.copy(third, batch_id="b-dupA-1", _file=1)
    # same received_at, different batch and time: the smaller batch_id ("b-dupA-3") wins
    fourth = b.add(
        "purchase",
        d0 + 10 * HOUR_MS + 30 * MINUTE_MS,
        session="dupA",
        user=u_dup,
        amount=4.99,
        currency="gems",
        tier=3,
        batch="b-dupA-4",
        received_ms=d0 + 10 * HOUR_MS + 40 * MINUTE_MS,
    )
    b.copy(fourth, batch_id="b-dupA-3", event_time=d0 + 13 * HOUR_MS + 2 * MINUTE_MS, _file=2)
    # a triple copy (a client that retried twice), the middle one received first
    fifth = b.add(
        "level_up",
        d0 + 14 * HOUR_MS,
        session="dupA",
        user=u_dup,
        level=7,
        received_ms=d0 + 14 * HOUR_MS + 9_000,
        batch="b-dupA-7",
    )
    b.copy(fifth, received_at=d0 + 14 * HOUR_MS + 5_000, batch_id="b-dupA-8", platform="android", _file=1)
    b.copy(fifth, received_at=d0 + 15 * HOUR_MS, batch_id="b-dupA-6", event_time=d0 + 15 * HOUR_MS, _file=2)

    # --- late events: played offline at DAY0 02:xx, received the next morning -------------------
    late: dict[str, Any] = {
        "session": "lateS",
        "user": _user_hash(5),
        "platform": "android",
        "client_version": "1.4.0",
    }
    late_recv = d0 + DAY_MS + 9 * HOUR_MS
    t = d0 + 2 * HOUR_MS + 10 * MINUTE_MS
    b.add("session_start", t, launch="cold", received_ms=late_recv, batch="b-late-1", file=3, **late)
    b.add(
        "run_start",
        t + 60_000,
        run_id="run-late",
        tier=2,
        mode="normal",
        received_ms=late_recv,
        batch="b-late-1",
        file=3,
        **late,
    )
    b.add(
        "run_end",
        t + 11 * MINUTE_MS,
        run_id="run-late",
        outcome="loss",
        score=120,
        duration_ms=600_000.0,
        boss=False,
        tier=2,
        mode="normal",
        received_ms=late_recv,
        batch="b-late-1",
        file=3,
        **late,
    )
    b.add(
        "purchase",
        t + 12 * MINUTE_MS,
        amount=0.99,
        currency="gems",
        received_ms=late_recv,
        batch="b-late-1",
        file=3,
        **late,
    )

    # --- tiny groups and odd dimension values -----------------------------------------------------
    ios: dict[str, Any] = {
        "session": "iosS",
        "user": u_ios,
        "platform": "ios",
        "client_version": "2.0.0-🚀",
        "content_version": "cv-☃",
    }
    t = d0 + 16 * HOUR_MS + 3 * MINUTE_MS
    b.add("session_start", t, launch="resume", **ios)
    b.add("run_start", t + 1_000, run_id="run-ios", tier=5, mode="🔥 ranked", **ios)
    b.add(
        "run_end",
        t + 61_000,
        run_id="run-ios",
        outcome="win",
        score=9999,
        duration_ms=60_000.0,
        boss=True,
        tier=5,
        mode="🔥 ranked",
        **ios,
    )

    # quotes and backslashes in string values (SQL literals must be escaped)
    b.add("run_start", t + 70_000, run_id="run-ios-2", tier=5, mode="it's", **ios)
    b.add("run_end", t + 90_000, run_id="run-ios-2", outcome="win", score=12, mode="d'or \\ 🔥 ''", **ios)
    b.add("run_end", t + 95_000, run_id="run-ios-3", outcome="loss", score=3, mode="it's", **ios)

    # --- spans -----------------------------------------------------------------------------------
    sp: dict[str, Any] = {"session": "spanS", "user": u_span, "platform": "web"}
    t = d0 + 17 * HOUR_MS
    # repeated key: two starts (the earliest counts) and two ends (the earliest at/after it counts)
    b.add("run_start", t, run_id="run-rep", tier=1, mode="normal", **sp)
    b.add("run_start", t + 2 * MINUTE_MS, run_id="run-rep", tier=2, mode="ranked", **sp)
    b.add(
        "run_end",
        t + 7 * MINUTE_MS,
        run_id="run-rep",
        outcome="win",
        score=10,
        duration_ms=420_000.0,
        boss=True,
        tier=1,
        **sp,
    )
    b.add("run_end", t + 9 * MINUTE_MS, run_id="run-rep", outcome="loss", score=11, **sp)
    # an end before its start: ignored, the next end counts
    b.add("run_end", t + 20 * MINUTE_MS, run_id="run-early", outcome="abandon", **sp)
    b.add("run_start", t + 25 * MINUTE_MS, run_id="run-early", tier=3, mode="normal", **sp)
    b.add("run_end", t + 40 * MINUTE_MS, run_id="run-early", outcome="win", score=300, boss=True, **sp)
    # longer than max_minutes (90): dropped
    b.add("run_start", t + 50 * MINUTE_MS, run_id="run-long", tier=3, **sp)
    b.add("run_end", t + 50 * MINUTE_MS + 91 * MINUTE_MS, run_id="run-long", outcome="win", score=5, **sp)
    # exactly max_minutes: kept; zero duration: kept
    b.add("run_start", t + 60 * MINUTE_MS, run_id="run-edge", tier=1, **sp)
    b.add("run_end", t + 60 * MINUTE_MS + 90 * MINUTE_MS, run_id="run-edge", outcome="loss", score=1, **sp)
    b.add("run_start", t + 61 * MINUTE_MS, run_id="run-zero", **sp)
    b.add("run_end", t + 61 * MINUTE_MS, run_id="run-zero", outcome="loss", score=0, **sp)
    # across midnight: starts on DAY-1, ends on DAY0 (belongs to DAY0, dimensions of the start)
    mid: dict[str, Any] = {"session": "midS", "user": None, "platform": "android", "client_version": None}
    b.add("run_start", d0 - 20 * MINUTE_MS, run_id="run-midnight", tier=2, mode="ñormal-daily", **mid)
    b.add(
        "run_end",
        d0 + 15 * MINUTE_MS,
        run_id="run-midnight",
        outcome="win",
        score=77,
        duration_ms=2_100_000.0,
        boss=True,
        tier=2,
        mode="ñormal-daily",
        **mid,
    )
    # an integer key reaching back more than a day (max 2000 minutes): kept; 35 hours: dropped
    b.add("quest_start", d0 - 20 * HOUR_MS, quest_id=7, **sp)
    b.add("quest_end", d0 + 2 * HOUR_MS + 30 * MINUTE_MS, quest_id=7, **sp)
    b.add("quest_start", d0 - 35 * HOUR_MS, quest_id=8, session="oldS", user=u_span, platform="web")
    b.add("quest_end", d0 + 12 * HOUR_MS, quest_id=8, **sp)
    # a quest ending on DAY+1 whose start also repeats on DAY+1 (the earliest start counts)
    b.add("quest_start", d0 + 23 * HOUR_MS, quest_id=9, **sp)
    b.add("quest_start", d0 + DAY_MS + HOUR_MS, quest_id=9, **sp)
    b.add("quest_end", d0 + DAY_MS + 2 * HOUR_MS, quest_id=9, **sp)

    # --- funnels ---------------------------------------------------------------------------------
    fu: dict[str, Any] = {"user": u_funnel, "platform": "android", "client_version": "1.5.0-β"}
    t = d0 + 19 * HOUR_MS
    # steps out of order: run_end before run_start (not step 2), and no later run_end
    b.add("session_start", t, session="funA", launch="cold", **fu)
    b.add("run_end", t + 2 * MINUTE_MS, session="funA", run_id="run-fa", outcome="win", score=3, **fu)
    b.add("run_start", t + 5 * MINUTE_MS, session="funA", run_id="run-fa", tier=1, **fu)
    # beyond the window: run_end 70 minutes after entering (window 60)
    b.add("session_start", t + 3 * HOUR_MS, session="funB", launch="cold", **fu)
    b.add("session_start", t + 3 * HOUR_MS + MINUTE_MS, session="funB", launch="resume", **fu)  # second entry
    b.add("run_start", t + 3 * HOUR_MS + 30 * MINUTE_MS, session="funB", run_id="run-fb", tier=2, **fu)
    b.add(
        "run_end",
        t + 3 * HOUR_MS + 70 * MINUTE_MS,
        session="funB",
        run_id="run-fb",
        outcome="loss",
        score=9,
        **fu,
    )
    # by user across sessions and across midnight: enters on DAY0 23:50, purchase on DAY+1 00:30
    # (another session of the same user), within the 360 minute window
    b.add(
        "session_start",
        d0 + DAY_MS - 10 * MINUTE_MS,
        session="funC",
        user=_user_hash(94),
        launch="cold",
        platform="web",
    )
    b.add(
        "run_start",
        d0 + DAY_MS - 9 * MINUTE_MS,
        session="funC",
        user=_user_hash(94),
        run_id="run-fc",
        tier=1,
        platform="web",
    )
    b.add(
        "run_end",
        d0 + DAY_MS - 2 * MINUTE_MS,
        session="funC",
        user=_user_hash(94),
        run_id="run-fc",
        outcome="win",
        score=50,
        boss=False,
        platform="web",
    )
    b.add(
        "purchase",
        d0 + DAY_MS + 30 * MINUTE_MS,
        session="funD",
        user=_user_hash(94),
        amount=9.99,
        currency="gold",
        platform="web",
    )
    # an anonymous funnel unit by user: identity session:<id>
    b.add(
        "session_start",
        d0 + 20 * HOUR_MS,
        session="funE",
        user=None,
        launch="cold",
        platform="ios",
        client_version=None,
        content_version=None,
    )
    b.add(
        "run_end",
        d0 + 20 * HOUR_MS + 5 * MINUTE_MS,
        session="funE",
        user=None,
        run_id="run-fe",
        outcome="loss",
        score=1,
        platform="ios",
        client_version=None,
        content_version=None,
    )

    # a different app in the same lake: never in this app's figures
    b.add(
        "session_start",
        d0 + 10 * HOUR_MS,
        session="otherS",
        user=_user_hash(1),
        launch="cold",
        app_id="other-app",
    )


_ROWS: list[dict[str, Any]] | None = None


def _rows() -> list[dict[str, Any]]:
    global _ROWS
    if _ROWS is None:
        builder = _Builder()
        _random_sessions(builder, random.Random(20260310))
        _edge_cases(builder)
        _ROWS = builder.rows
    return _ROWS


def table_of(rows: list[dict[str, Any]]) -> pa.Table:
    """RAW_EVENTS_SCHEMA rows from dicts: times as epoch ms, nums/attrs as dicts or (key, value)
    lists; missing columns are null."""
    arrays = []
    for f in RAW_EVENTS_SCHEMA:
        values = [r.get(f.name) for r in rows]
        if pa.types.is_timestamp(f.type):
            arrays.append(pa.array(values, pa.int64()).cast(f.type))
        else:
            if f.name in ("nums", "attrs"):
                values = [list(v.items()) if isinstance(v, dict) else v for v in values]
            arrays.append(pa.array(values, f.type))
    return pa.Table.from_arrays(arrays, schema=RAW_EVENTS_SCHEMA)


def raw_events(app_id: str = APP_ID) -> pa.Table:
    """Every stored raw row of the app (duplicates included), in RAW_EVENTS_SCHEMA."""
    return table_of([r for r in _rows() if r["_app"] == app_id])


def in_window(raw: pa.Table, start_ms: int, end_ms: int) -> pa.Table:
    """The rows whose event_time falls in [start_ms, end_ms), as a reader of the lake gets them."""
    times = pc.cast(raw["event_time"], pa.int64())
    return raw.filter(pc.and_(pc.greater_equal(times, start_ms), pc.less(times, end_ms)))


def assignments() -> pa.Table:
    """Assignments (schema.ASSIGNMENTS) of two experiments; some users in both."""
    rows: list[tuple[str, str, str, int]] = []
    for i in range(0, 24, 1):
        if i % 5 != 4:  # users 4, 9, 14, 19: active but not assigned
            rows.append(
                ("exp_rewards", "generous" if i % 2 else "control", _user_hash(i), DAY0_MS - 3 * DAY_MS)
            )
        if i % 3 == 0:
            rows.append(
                ("exp_ui", ["a", "b", "c"][i % 9 // 3], _user_hash(i), DAY0_MS - DAY_MS + i * HOUR_MS)
            )
    rows.append(("exp_rewards", "generous", _user_hash(90), DAY0_MS))  # the duplicate-event user
    rows.append(("exp_ui", "b", _user_hash(91), DAY0_MS))  # the one ios user
    rows.append(("exp_rewards", "control", _user_hash(93), DAY0_MS))  # the funnel user
    rows.append(("exp_rewards", "control", _user_hash(99), DAY0_MS))  # assigned, never active
    return pa.table(
        {
            "experiment_id": [r[0] for r in rows],
            "variant_id": [r[1] for r in rows],
            "user_hash": [r[2] for r in rows],
            "assigned_at": pa.array([r[3] for r in rows], pa.int64()).cast(
                ASSIGNMENTS.field("assigned_at").type
            ),
        },
        schema=ASSIGNMENTS,
    )


def write_lake(root: Path) -> Path:
    """Write every app's raw rows as Hive-partitioned Parquet under `root`, plus the assignments.

    Layout: raw/events/app_id=<app>/dt=<YYYY-MM-DD>/hour=<HH>/part-<file>.parquet and
    curated/assignments/app_id=<app>/part-0.parquet. Returns `root`.
    """
    files: dict[tuple[str, str, str, int], list[dict[str, Any]]] = {}
    for row in _rows():
        hour_index = row["event_time"] // HOUR_MS
        key = (row["_app"], _iso(row["event_time"]), f"{hour_index % 24:02d}", row["_file"])
        files.setdefault(key, []).append(row)
    for (app, dt, hour, file), rows in sorted(files.items()):
        folder = root / "raw" / "events" / f"app_id={app}" / f"dt={dt}" / f"hour={hour}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table_of(rows), folder / f"part-{file}.parquet")
    folder = root / "curated" / "assignments" / f"app_id={APP_ID}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(assignments(), folder / "part-0.parquet")
    return root


def read_lake(root: Path, app_id: str = APP_ID) -> pa.Table:
    """The app's raw rows read back from the files `write_lake` wrote (one chunk per file)."""
    tables = [
        pq.read_table(path).cast(RAW_EVENTS_SCHEMA)
        for path in sorted((root / "raw" / "events" / f"app_id={app_id}").glob("dt=*/hour=*/*.parquet"))
    ]
    return pa.concat_tables(tables) if tables else RAW_EVENTS_SCHEMA.empty_table()


# ---------------------------------------------------------------------------- random raw tables
RANDOM_ASSIGNED: list[dict[str, Any]] = [
    {"experiment_id": "exp", "variant_id": "a", "user_hash": "u0", "assigned_at": 0},
    {"experiment_id": "exp", "variant_id": "b", "user_hash": "u1", "assigned_at": 0},
    {"experiment_id": "exp", "variant_id": "a", "user_hash": "u2", "assigned_at": 0},
    {"experiment_id": "exp2", "variant_id": "x", "user_hash": "u2", "assigned_at": 0},
]


def random_assignments() -> pa.Table:
    """RANDOM_ASSIGNED as a schema.ASSIGNMENTS table."""
    return pa.table(
        {
            "experiment_id": [a["experiment_id"] for a in RANDOM_ASSIGNED],
            "variant_id": [a["variant_id"] for a in RANDOM_ASSIGNED],
            "user_hash": [a["user_hash"] for a in RANDOM_ASSIGNED],
            "assigned_at": pa.array([a["assigned_at"] for a in RANDOM_ASSIGNED], pa.int64()).cast(
                ASSIGNMENTS.field("assigned_at").type
            ),
        },
        schema=ASSIGNMENTS,
    )


STRING_VALUES = {
    "run_id": ["r0", "r1", "r2"],
    "outcome": ["win", "loss", "abandon"],
    "mode": ["normal", "🔥"],
    "currency": ["gems", "gold"],
    "launch": ["cold", "resume"],
}
NUMBER_VALUES: dict[str, st.SearchStrategy[float]] = {
    "tier": st.sampled_from([1.0, 2.0, 3.0]),
    "score": st.integers(0, 60).map(float),
    "quest_id": st.sampled_from([7.0, 8.0]),
    "level": st.sampled_from([1.0, 2.0]),
    "duration_ms": st.floats(0, 1e7, allow_nan=False, allow_infinity=False),
    "amount": st.sampled_from([0.99, 4.99, 1e-3]),
    "boss": st.sampled_from([0.0, 1.0]),
}


# one denominator row of every KPI of CONFIG somewhere in each random table: a period with numerator
# rows and no denominator row crashes the embedded engine (test_rollup_reference has an xfail test)
ANCHORS = [
    ("session_start", {}, {"launch": "cold"}),
    ("run_end", {}, {}),
    ("run_start", {"tier": 3.0}, {}),
]


@st.composite
def random_raw_rows(draw: st.DrawFn, unique_copies: bool = False) -> list[dict[str, Any]]:
    """Hypothesis strategy: small raw tables of CONFIG's events around DAY0 (rows for `table_of`)
    with many repeated event ids. `unique_copies`: no two copies share (received_at, batch_id), so
    that the copy dedupe keeps is never an arbitrary pick (SQL row_number is not stable)."""
    rows: list[dict[str, Any]] = []
    count = draw(st.integers(0, 40))
    for index in range(count + len(ANCHORS)):
        anchor = index >= count
        if anchor:
            event_type, anchor_nums, anchor_attrs = ANCHORS[index - count]
        else:
            event_type = draw(st.sampled_from(sorted(CONFIG.events)))
        minute = draw(st.one_of(st.integers(-2000, 2 * 1440 + 400), st.sampled_from([0, 5, 60, 1439, 1440])))
        time = DAY0_MS + minute * 60_000 + draw(st.sampled_from([0, 1, 999]))
        nums: dict[str, float] = {}
        attrs: dict[str, str] = {}
        for name, field in CONFIG.events[event_type].fields.items():
            if draw(st.booleans()) or draw(st.booleans()):
                if field.type == "string":
                    attrs[name] = draw(st.sampled_from(STRING_VALUES[name]))
                else:
                    nums[name] = draw(NUMBER_VALUES[name])
        if anchor:
            nums.update(anchor_nums)
            attrs.update(anchor_attrs)
        rows.append(
            {
                "event_id": f"anchor{index}" if anchor else f"e{draw(st.integers(0, 30)):02d}",
                "event_type": event_type,
                "event_time": time,
                "client_event_time": time,
                "received_at": time + draw(st.integers(0, 2)) * 1000,
                "batch_id": draw(st.sampled_from(["b0", "b1", "b2"]))
                + (f"-{index:03d}" if unique_copies else ""),
                "session_id": draw(st.sampled_from(["s0", "s1", "s2"])),
                "user_hash": draw(st.sampled_from(["u0", "u1", "u2", "u3", None])),
                "platform": draw(st.sampled_from(["web", "android"])),
                "client_version": draw(st.sampled_from(["1.0", "é", None])),
                "content_version": draw(st.sampled_from(["c1", None])),
                "nums": nums,
                "attrs": attrs,
            }
        )
    return rows
