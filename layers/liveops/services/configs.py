"""Where an app's applied config comes from, and the one way to require it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from liveops.errors import NotFound

if TYPE_CHECKING:
    from liveops.models.app_config import AppConfig


class ConfigSource(Protocol):
    def get_config(self, app_id: str) -> tuple[AppConfig, int] | None: ...


def applied_config(configs: ConfigSource, app_id: str) -> tuple[AppConfig, int]:
    """The app's applied config and its version; NotFound (`unknown_app`) when there is none."""
    found = configs.get_config(app_id)
    if found is None:
        raise NotFound(f"no app {app_id!r}", code="unknown_app")
    return found
