"""Shapes of the admin API answers (OpenAPI documentation; tests validate real answers against them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppSummary(Out):
    app_id: str
    version: int


class AppList(Out):
    apps: list[AppSummary]


class AppDetail(Out):
    app_id: str
    version: int
    config: dict[str, Any] = Field(description="the applied app config, in the format `apps apply` takes")


class AppApplied(Out):
    app_id: str
    version: int
    created: bool


class ClientKey(Out):
    app_id: str
    key_id: str
    api_key: str = Field(description="shown once; only its SHA-256 is stored")
