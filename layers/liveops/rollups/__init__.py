"""Rollups of raw events into the curated tables (docs/rollups.md): two engines, one contract."""

ROLLUP_JOBS = ("rollup", "rollup-daily")
ENGINES = ("embedded", "athena")
