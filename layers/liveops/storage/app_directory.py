"""Resolves client API keys to compiled app configs, with a short in-container cache."""

from __future__ import annotations

import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from liveops.domain.hashing import app_user_hash_key, token_hash
from liveops.domain.ingest import CompiledApp
from liveops.errors import Unauthorized, Unavailable
from liveops.storage.apps_store import AppsStore

NEGATIVE_CACHE_SECONDS = 5.0


class AppDirectory:
    def __init__(
        self,
        store: AppsStore,
        *,
        ttl_seconds: float,
        master_secret: Callable[[], str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._master_secret = master_secret
        self._clock = clock
        self._keys: dict[str, tuple[float, str | None]] = {}
        self._apps: dict[str, tuple[float, CompiledApp, bytes]] = {}

    def authenticate(self, api_key: str | None) -> tuple[CompiledApp, bytes]:
        """The app owning this client key and its user-hash key; Unauthorized otherwise."""
        if not api_key:
            raise Unauthorized("missing X-Api-Key header", code="missing_api_key")
        if len(api_key) > 200:
            raise Unauthorized("invalid API key", code="invalid_api_key")
        now = self._clock()
        digest = token_hash(api_key)
        cached = self._keys.get(digest)
        if cached is None or cached[0] <= now:
            try:
                record = self._store.find_key(digest)
            except (BotoCoreError, ClientError) as exc:
                raise Unavailable("the key store is unreachable; retry later") from exc
            app_id = record.app_id if record is not None and record.active else None
            ttl = self._ttl if app_id is not None else NEGATIVE_CACHE_SECONDS
            self._keys[digest] = (now + ttl, app_id)
        else:
            app_id = cached[1]
        if app_id is None:
            raise Unauthorized("invalid or revoked API key", code="invalid_api_key")
        return self._app(app_id, now)

    def _app(self, app_id: str, now: float) -> tuple[CompiledApp, bytes]:
        cached = self._apps.get(app_id)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        try:
            found = self._store.get_config(app_id)
            secret = self._master_secret()
        except (BotoCoreError, ClientError) as exc:
            raise Unavailable("the app store is unreachable; retry later") from exc
        if found is None:
            raise Unauthorized("the app of this key no longer exists", code="invalid_api_key")
        compiled = CompiledApp.build(found[0])
        hash_key = app_user_hash_key(secret.encode(), app_id)
        self._apps[app_id] = (now + self._ttl, compiled, hash_key)
        return compiled, hash_key
