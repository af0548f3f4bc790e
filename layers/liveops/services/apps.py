"""Operations on apps and their client keys, shared by the CLI, the admin API and the local stack."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from liveops.domain.hashing import API_KEY_PREFIX, new_key_id, new_secret_token, token_hash
from liveops.errors import NotFound
from liveops.models.app_config import AppConfig, AppConfigError, Problem, load_app_config
from liveops.storage.apps_store import AppsStore


@dataclass(frozen=True)
class AppliedConfig:
    app_id: str
    version: int
    created: bool


@dataclass(frozen=True)
class NewKey:
    app_id: str
    key_id: str
    api_key: str


def parse_config_text(text: str) -> AppConfig:
    """YAML (or JSON) text -> validated config; AppConfigError lists every problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise AppConfigError(
            [Problem(path=where, message=f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from None
    return load_app_config(data)


def parse_config_file(path: Path) -> AppConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AppConfigError([Problem(path=str(path), message=f"cannot read: {exc}")]) from None
    return parse_config_text(text)


def apply_config(store: AppsStore, config: AppConfig) -> AppliedConfig:
    current = store.get_config(config.app_id)
    version = store.put_config(config, expected_version=current[1] if current else None)
    return AppliedConfig(app_id=config.app_id, version=version, created=current is None)


def create_key(store: AppsStore, app_id: str) -> NewKey:
    if store.get_config(app_id) is None:
        raise NotFound(
            f"no app {app_id!r}; apply its config first (liveops apps apply -f FILE)", code="unknown_app"
        )
    key_id = new_key_id()
    api_key = new_secret_token(API_KEY_PREFIX, key_id)
    store.add_key(app_id, key_id, token_hash(api_key))
    return NewKey(app_id=app_id, key_id=key_id, api_key=api_key)
