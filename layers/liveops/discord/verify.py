"""Ed25519 verification of Discord interaction requests (pure; no I/O).

Discord signs `timestamp + raw body` with the application's key. The exact bytes received are
verified: a body decoded and re-serialised as JSON differs (key order, spacing, non-ASCII
escapes) and fails.
"""

from __future__ import annotations

from functools import lru_cache

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

# requests whose timestamp is further than this from now (either way) are refused as replays
MAX_SKEW_SECONDS = 300
SIGNATURE_HEX_LENGTH = 128  # 64-byte Ed25519 signature
PUBLIC_KEY_HEX_LENGTH = 64  # 32-byte Ed25519 public key
_MAX_TIMESTAMP_DIGITS = 12


class SignatureError(Exception):
    """The request is not signed by the application's key (or is stale): answer 401."""


class PublicKeyError(ValueError):
    """The configured public key is not a 32-byte hex string (a deployment error, not the caller's)."""


@lru_cache(maxsize=8)
def verify_key(public_key_hex: str) -> VerifyKey:
    """The PyNaCl key for a hex public key, built once per key and container."""
    if len(public_key_hex) != PUBLIC_KEY_HEX_LENGTH:
        raise PublicKeyError(f"the Discord public key must be {PUBLIC_KEY_HEX_LENGTH} hex characters")
    try:
        return VerifyKey(bytes.fromhex(public_key_hex))
    except ValueError as exc:
        raise PublicKeyError("the Discord public key is not hex") from exc


def verify_request(
    public_key_hex: str,
    signature_hex: str | None,
    timestamp: str | None,
    body: bytes,
    now: float,
) -> None:
    """Returns when `signature_hex` signs `timestamp + body` with the key and the timestamp is within
    MAX_SKEW_SECONDS of `now` (Unix seconds); raises SignatureError otherwise."""
    key = verify_key(public_key_hex)
    if not signature_hex:
        raise SignatureError("missing X-Signature-Ed25519 header")
    if not timestamp:
        raise SignatureError("missing X-Signature-Timestamp header")
    if len(signature_hex) != SIGNATURE_HEX_LENGTH:
        raise SignatureError(f"X-Signature-Ed25519 must be {SIGNATURE_HEX_LENGTH} hex characters")
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError as exc:
        raise SignatureError("X-Signature-Ed25519 is not hex") from exc
    # str.isdigit alone would accept other scripts' digits; int() would accept "1_0" and spaces
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
        raise SignatureError("X-Signature-Timestamp must be Unix seconds")
    age = now - int(timestamp)
    if age > MAX_SKEW_SECONDS:
        raise SignatureError("the request timestamp is older than 5 minutes")
    if age < -MAX_SKEW_SECONDS:
        raise SignatureError("the request timestamp is more than 5 minutes in the future")
    try:
        key.verify(timestamp.encode("ascii") + body, signature)
    except BadSignatureError as exc:
        raise SignatureError("invalid request signature") from exc
