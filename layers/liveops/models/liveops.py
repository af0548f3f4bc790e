"""Shapes of live events, experiments and content manifests (admin and client APIs).

They follow the roguelike studio's design (seeds/004: live_events, experiments, config_json).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Version = Annotated[str, Field(min_length=1, max_length=64)]
ExperimentStatus = Literal["draft", "running", "paused", "finished"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def utc_text(moment: datetime) -> str:
    """How every stored time is written: UTC with a Z, so stored texts order as the moments do."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class LiveEventIn(Strict):
    type: Literal["event", "season"]
    start_at: AwareDatetime
    end_at: AwareDatetime
    content_version: Version = "*"
    rules: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _window(self) -> LiveEventIn:
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        return self

    def document(self) -> dict[str, Any]:
        """The stored live event (the admin API and the CLI store the same thing)."""
        return {
            "type": self.type,
            "start_at": utc_text(self.start_at),
            "end_at": utc_text(self.end_at),
            "content_version": self.content_version,
            "rules": self.rules,
        }


class ActiveEvent(BaseModel):
    """A live event as game clients see it (the spec's shape: no content_version)."""

    id: str
    type: Literal["event", "season"]
    start_at: str
    end_at: str
    rules: dict[str, Any]


class LiveEventOut(ActiveEvent):
    content_version: str
    updated_at: str


class LiveEventList(BaseModel):
    events: list[LiveEventOut]


class ActiveEvents(BaseModel):
    server_time: str
    events: list[ActiveEvent]


class Variant(Strict):
    id: Identifier
    weight: float = Field(ge=0)
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("weight")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be finite")
        return value


class Namespace(Strict):
    id: Identifier
    range: tuple[float, float]

    @field_validator("range")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 <= low < high <= 1:
            raise ValueError("range must satisfy 0 <= start < end <= 1")
        return value


class Targeting(Strict):
    platforms: list[str] | None = None
    min_client_version: Version | None = None
    max_client_version: Version | None = None


class ExperimentConfig(Strict):
    variants: list[Variant] = Field(min_length=2, max_length=20)
    coverage: float = Field(default=1.0, ge=0, le=1)
    namespace: Namespace | None = None
    targeting: Targeting = Field(default_factory=Targeting)

    @model_validator(mode="after")
    def _variants(self) -> ExperimentConfig:
        ids = [v.id for v in self.variants]
        if len(set(ids)) != len(ids):
            raise ValueError("variant ids must be unique")
        if sum(v.weight for v in self.variants) <= 0:
            raise ValueError("variant weights must not all be zero")
        return self


class ExperimentIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    description: Annotated[str, Field(max_length=2000)] = ""
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None
    config: ExperimentConfig

    @model_validator(mode="after")
    def _window(self) -> ExperimentIn:
        if self.start_at and self.end_at and self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        return self

    def document(self) -> dict[str, Any]:
        """The stored experiment definition (status and timestamps are the store's)."""
        return {
            "name": self.name,
            "description": self.description,
            "start_at": utc_text(self.start_at) if self.start_at else None,
            "end_at": utc_text(self.end_at) if self.end_at else None,
            "config": self.config.model_dump(mode="json"),
        }


class ExperimentOut(BaseModel):
    id: str
    name: str
    description: str
    start_at: str | None
    end_at: str | None
    status: ExperimentStatus
    config: dict[str, Any]
    updated_at: str


class ExperimentList(BaseModel):
    experiments: list[ExperimentOut]


class StatusIn(Strict):
    status: Literal["running", "paused", "finished"]


class Assignment(BaseModel):
    experiment_id: str
    variant_id: str
    parameters: dict[str, Any]


class Assignments(BaseModel):
    assignments: list[Assignment]


class ContentIn(Strict):
    version: Version
    content_hash: Annotated[str, Field(min_length=1, max_length=256)]
    min_supported_client_version: Version


class ContentRecord(BaseModel):
    active_version: str
    content_hash: str
    min_supported_client_version: str
    updated_at: str


class ContentHistoryEntry(BaseModel):
    seq: int
    action: Literal["set", "rollback"]
    version: str
    content_hash: str
    min_supported_client_version: str
    at: str


class ContentState(BaseModel):
    current: ContentRecord | None
    history: list[ContentHistoryEntry]


class Manifest(BaseModel):
    active_version: str
    content_hash: str
    min_supported_client_version: str
    update_required: bool
