"""Rollups of raw events into the curated tables (docs/rollups.md): two engines, one contract."""
