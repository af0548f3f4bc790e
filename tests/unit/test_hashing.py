"""Unit tests for secrets derived and compared without storing them (domain/hashing.py)."""

from __future__ import annotations

import hashlib
import hmac
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from liveops.domain.hashing import (
    API_KEY_PREFIX,
    app_user_hash_key,
    new_key_id,
    new_secret_token,
    token_hash,
    user_hash,
)

MASTER = b"deployment-secret-0123456789abcdef"


def test_user_hash_is_hmac_sha256_rfc4231_case_2() -> None:
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    assert user_hash(b"Jefe", "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_user_hash_shape_and_determinism() -> None:
    key = app_user_hash_key(MASTER, "acme")
    first = user_hash(key, "player-42")
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert user_hash(key, "player-42") == first
    assert user_hash(key, "player-43") != first
    assert "player-42" not in first


def test_user_hash_encodes_utf8() -> None:
    key = b"k"
    assert user_hash(key, "jos\u00e9") == hmac.new(key, "jos\u00e9".encode(), hashlib.sha256).hexdigest()
    # the composed and decomposed forms are different ids
    assert user_hash(key, "jos\u00e9") != user_hash(key, "jose\u0301")


def test_app_key_is_derived_per_app_and_per_secret() -> None:
    acme = app_user_hash_key(MASTER, "acme")
    other = app_user_hash_key(MASTER, "other")
    assert isinstance(acme, bytes) and len(acme) == 32
    assert acme == app_user_hash_key(MASTER, "acme")
    assert acme != other
    assert acme != app_user_hash_key(b"another-secret", "acme")
    # the same user gets unlinkable hashes in two apps
    assert user_hash(acme, "player-42") != user_hash(other, "player-42")


def test_app_key_is_domain_separated() -> None:
    expected = hmac.new(MASTER, b"liveops-user-hash:acme", hashlib.sha256).digest()
    assert app_user_hash_key(MASTER, "acme") == expected
    # not simply HMAC(master, app_id): the derivation has its own label
    assert app_user_hash_key(MASTER, "acme") != hmac.new(MASTER, b"acme", hashlib.sha256).digest()


def test_new_key_id() -> None:
    ids = {new_key_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[0-9a-f]{12}", i) for i in ids)


def test_new_secret_token_format() -> None:
    key_id = new_key_id()
    token = new_secret_token(API_KEY_PREFIX, key_id)
    assert API_KEY_PREFIX == "lo_"
    assert token.startswith(f"lo_{key_id}_")
    secret = token.removeprefix(f"lo_{key_id}_")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)  # 32 random bytes, URL-safe base64
    assert new_secret_token("tok_", "abc").startswith("tok_abc_")


def test_new_secret_tokens_are_unique() -> None:
    tokens = {new_secret_token(API_KEY_PREFIX, "same") for _ in range(200)}
    assert len(tokens) == 200


def test_token_hash_is_sha256_hex() -> None:
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert token_hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    token = new_secret_token(API_KEY_PREFIX, new_key_id())
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in token_hash(token)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.text(min_size=1, max_size=40), st.text(max_size=40))
def test_user_hash_property(secret: bytes, app_id: str, user_id: str) -> None:
    key = app_user_hash_key(secret, app_id)
    digest = user_hash(key, user_id)
    assert digest == hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()
    assert len(digest) == 64 and digest == digest.lower()
    assert user_hash(key, user_id + "x") != digest


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80))
def test_token_hash_property(a: str, b: str) -> None:
    assert (token_hash(a) == token_hash(b)) == (a == b)
    assert re.fullmatch(r"[0-9a-f]{64}", token_hash(a))
