"""Shapes of the telemetry batch API (request envelope and responses)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PrivateAttr, WithJsonSchema

# Events are typed loosely here on purpose: each one is validated on its own against the app's
# taxonomy, so a bad event is rejected alone instead of failing the whole batch.
EVENT_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event_id", "event_type", "event_time"],
    "properties": {
        "event_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "event_type": {"type": "string", "description": "one of the app's allow-listed event types"},
        "event_time": {"type": "string", "format": "date-time", "description": "client time, with offset"},
        "payload": {"type": "object", "description": "fields of the event type; at most 16 KiB as JSON"},
    },
}
RawEvent = Annotated[Any, WithJsonSchema(EVENT_JSON_SCHEMA)]


class BatchIn(BaseModel):
    """A batch of telemetry events from one client session."""

    model_config = ConfigDict(extra="forbid")

    session_id: Annotated[str, Field(min_length=1, max_length=128)]
    platform: Annotated[str, Field(min_length=1, max_length=32)]
    client_version: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    content_version: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    user_id: (
        Annotated[str, Field(min_length=1, max_length=256, description="hashed; never stored")] | None
    ) = None
    sent_at: AwareDatetime | None = Field(
        default=None, description="client clock when sending; corrects skew"
    )
    events: Annotated[list[RawEvent], Field(min_length=1, max_length=500)]
    # the events as JSON text, when an app's decoder read them: queued as they are, encoded once
    _events_json: bytes | None = PrivateAttr(default=None)

    @classmethod
    def decoded(cls, envelope: dict[str, Any], events: list[Any], events_json: bytes) -> BatchIn:
        """The batch an app's decoder read (`events_json`: its events encoded, in order)."""
        batch = cls.model_validate({**envelope, "events": events})
        batch._events_json = events_json
        return batch

    @property
    def events_json(self) -> bytes | None:
        return self._events_json

    def __repr__(self) -> str:
        # short, and without user_id: frameworks log request models (Powertools formats it eagerly)
        return f"BatchIn(session_id={self.session_id!r}, events=<{len(self.events)}>)"

    __str__ = __repr__


class Rejection(BaseModel):
    index: int
    code: str
    message: str


class BatchAccepted(BaseModel):
    batch_id: str
    accepted: int
    rejected: list[Rejection]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[Any] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorDetail
