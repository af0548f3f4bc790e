"""Secrets derived and compared without ever storing what they protect."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

API_KEY_PREFIX = "lo_"


def app_user_hash_key(master_secret: bytes, app_id: str) -> bytes:
    """Each app gets its own HMAC key, derived from one deployment secret."""
    return hmac.new(master_secret, b"liveops-user-hash:" + app_id.encode(), hashlib.sha256).digest()


@lru_cache(maxsize=256)
def _keyed(app_key: bytes) -> hmac.HMAC:
    # the key schedule (two SHA-256 blocks) is done once per app; each hash copies its state
    return hmac.new(app_key, digestmod=hashlib.sha256)


def user_hash(app_key: bytes, user_id: str) -> str:
    mac = _keyed(app_key).copy()
    mac.update(user_id.encode("utf-8"))
    return mac.hexdigest()


def new_secret_token(prefix: str, key_id: str) -> str:
    """`<prefix><key_id>_<random>`: the id is visible for support; the random part is the secret."""
    return f"{prefix}{key_id}_{secrets.token_urlsafe(32)}"


def new_key_id() -> str:
    return secrets.token_hex(6)


def token_hash(token: str) -> str:
    """Keys and tokens are stored as SHA-256: they are long random strings, so no slow KDF is needed."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
