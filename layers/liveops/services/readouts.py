"""An experiment's readout: the summed experiment_daily statistics through the statistics of
`liveops.domain.readout` (Welch / delta method, SRM, Benjamini-Hochberg, minimum-sample gating).
Shared by GET /v1/metrics/experiment and `liveops experiments report`."""

from __future__ import annotations

from typing import Any

from liveops.domain.readout import VariantStats, readout
from liveops.models.app_config import AppConfig


def experiment_readout(
    config: AppConfig, experiment: dict[str, Any], metrics: list[dict[str, Any]]
) -> dict[str, Any]:
    """`metrics` as liveops.domain.metrics.experiment returns them (summed per metric and variant).

    The control is the experiment's first variant; expected shares are the variants' weights."""
    variants = experiment["config"]["variants"]
    total = sum(float(v["weight"]) for v in variants) or 1.0
    weights = {v["id"]: float(v["weight"]) / total for v in variants}
    stats: dict[str, dict[str, VariantStats]] = {}
    for metric in metrics:
        for row in metric["variants"]:
            stats.setdefault(row["variant"], {})[metric["metric"]] = VariantStats(
                row["variant"],
                int(row["units"]),
                float(row["sum_x"]),
                float(row["sum_x2"]),
                float(row["sum_y"]),
                float(row["sum_y2"]),
                float(row["sum_xy"]),
            )
    return readout(variants[0]["id"], stats, weights, config.experiments.min_sample_per_variant)
