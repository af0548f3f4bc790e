"""Rollups of raw events into the curated tables (docs/rollups.md): two engines, one contract."""

JOBS = ("rollup", "rollup-daily")
ENGINES = ("embedded", "athena")
