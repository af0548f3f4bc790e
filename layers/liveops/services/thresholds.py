"""The thresholds an app is evaluated against, and their validation.

Precedence: the app config's `thresholds` are the defaults; a threshold stored through the admin
API (or `liveops thresholds put`) with the same id replaces the config's entirely (an override
with `enabled: false` switches a default off), and one with a new id adds a threshold. Deleting
a stored threshold brings the config's default of that id back. Re-applying the app config
changes the defaults, never the stored overrides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from liveops.errors import BadRequest, Conflict, NotFound
from liveops.models.app_config import AppConfig, ThresholdSpec, semantic_problems
from liveops.services.configs import ConfigSource, applied_config
from liveops.storage.thresholds_store import ThresholdsStore


@dataclass(frozen=True)
class EffectiveThreshold:
    spec: ThresholdSpec
    source: Literal["config", "api"]
    overrides_config: bool = False
    updated_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.spec.model_dump(mode="json", exclude_none=True),
            "source": self.source,
            "overrides_config": self.overrides_config,
            "updated_at": self.updated_at,
        }


def effective_thresholds(
    config: AppConfig, stored: list[tuple[ThresholdSpec, str]]
) -> list[EffectiveThreshold]:
    """Config defaults overridden or extended by stored thresholds, in config order then by id."""
    overrides = {spec.id: (spec, updated_at) for spec, updated_at in stored}
    out: list[EffectiveThreshold] = []
    for spec in config.thresholds:
        if spec.id in overrides:
            override, updated_at = overrides.pop(spec.id)
            out.append(EffectiveThreshold(override, "api", True, updated_at))
        else:
            out.append(EffectiveThreshold(spec, "config"))
    for threshold_id in sorted(overrides):
        spec, updated_at = overrides[threshold_id]
        out.append(EffectiveThreshold(spec, "api", False, updated_at))
    return out


def validate_threshold(config: AppConfig, threshold_id: str, body: Any) -> ThresholdSpec:
    """A threshold body checked against the app: shape, metric, dimensions, notify targets.
    BadRequest lists every problem (path relative to the threshold)."""
    if not isinstance(body, dict):
        raise BadRequest("the threshold must be a JSON object", code="invalid_threshold")
    document = {"id": threshold_id, **body}
    if document["id"] != threshold_id:
        raise BadRequest(
            f"the body is threshold {document['id']!r} but the path names {threshold_id!r}",
            code="threshold_id_mismatch",
        )
    try:
        spec = ThresholdSpec.model_validate(document)
    except ValidationError as exc:
        details = [
            {"path": ".".join(str(part) for part in err["loc"]), "message": err["msg"]}
            for err in exc.errors()
        ]
        raise BadRequest(
            f"the threshold was refused ({len(details)} problems); nothing changed",
            code="invalid_threshold",
            details=details,
        ) from None
    # the config's own cross-reference checks, on the config with only this threshold
    alone = config.model_copy(update={"thresholds": [spec]})
    problems = [p for p in semantic_problems(alone) if p.path.startswith("thresholds[0]")]
    if problems:
        details = [
            {"path": p.path.removeprefix("thresholds[0]").lstrip("."), "message": p.message} for p in problems
        ]
        codes = {"unknown metric": "unknown_metric", "is not a dimension": "unknown_dimension"}
        code = next(
            (c for text, c in codes.items() if any(text in p.message for p in problems)), "invalid_threshold"
        )
        raise BadRequest(
            f"the threshold was refused: {'; '.join(d['message'] for d in details)}",
            code=code,
            details=details,
        )
    return spec


class ThresholdService:
    def __init__(self, configs: ConfigSource, store: ThresholdsStore) -> None:
        self._configs = configs
        self._store = store

    def config(self, app_id: str) -> AppConfig:
        return applied_config(self._configs, app_id)[0]

    def effective(self, app_id: str, config: AppConfig | None = None) -> list[EffectiveThreshold]:
        return effective_thresholds(config or self.config(app_id), self._store.list(app_id))

    def get(self, app_id: str, threshold_id: str) -> EffectiveThreshold:
        for threshold in self.effective(app_id):
            if threshold.spec.id == threshold_id:
                return threshold
        raise NotFound(f"no threshold {threshold_id!r} in {app_id!r}", code="unknown_threshold")

    def put(self, app_id: str, threshold_id: str, body: Any) -> EffectiveThreshold:
        config = self.config(app_id)
        spec = validate_threshold(config, threshold_id, body)
        updated_at = self._store.put(app_id, spec)
        overrides = any(t.id == threshold_id for t in config.thresholds)
        return EffectiveThreshold(spec, "api", overrides, updated_at)

    def delete(self, app_id: str, threshold_id: str) -> EffectiveThreshold | None:
        """Delete a stored threshold; the config default it overrode (None if it had none)."""
        config = self.config(app_id)
        default = next((t for t in config.thresholds if t.id == threshold_id), None)
        if not self._store.delete(app_id, threshold_id):
            if default is not None:
                raise Conflict(
                    f"threshold {threshold_id!r} comes from the app config: change the config, or "
                    "override it with a PUT (enabled: false switches it off)",
                    code="threshold_from_config",
                )
            raise NotFound(f"no threshold {threshold_id!r} in {app_id!r}", code="unknown_threshold")
        return EffectiveThreshold(default, "config") if default is not None else None
