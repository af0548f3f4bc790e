"""Admin/metrics bearer tokens with a role, shared by the CLI, the admin API and the local stack.

Roles are ordered: viewer < editor < admin; a token may call every route whose role is at most its
own. Tokens look like client keys (`lot_<token_id>_<random>`) and are stored as SHA-256 digests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from liveops.domain.hashing import new_key_id, new_secret_token, token_hash
from liveops.errors import BadRequest, Forbidden, Unauthorized
from liveops.storage.tokens_store import TokenRecord, TokensStore

TOKEN_PREFIX = "lot_"
Role = Literal["viewer", "editor", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
# a real token is ~60 characters; anything much longer is refused before it is hashed or looked up
MAX_TOKEN_LENGTH = 200
# what a 401 tells the client to send (RFC 6750)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="liveops"'}


class TokenLookup(Protocol):
    def find(self, token_hash: str) -> TokenRecord | None: ...


@dataclass(frozen=True)
class NewToken:
    token_id: str
    role: Role
    token: str


def role_allows(granted: str, needed: Role) -> bool:
    """True when a token of role `granted` may call a route that needs `needed`."""
    if granted not in ROLES:
        return False  # a role this code does not know grants nothing
    return ROLES.index(granted) >= ROLES.index(needed)


def parse_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise BadRequest(f"unknown role {role!r}; one of {', '.join(ROLES)}", code="unknown_role")


def create_token(store: TokensStore, role: str) -> NewToken:
    checked = parse_role(role)
    token_id = new_key_id()
    token = new_secret_token(TOKEN_PREFIX, token_id)
    store.add(token_id, token_hash(token), checked)
    return NewToken(token_id=token_id, role=checked, token=token)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; 401 when absent or malformed."""
    if not authorization or not authorization.strip():
        raise Unauthorized("send Authorization: Bearer <token>", headers=CHALLENGE)
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be `Bearer <token>`", headers=CHALLENGE)
    return token


def authorize(tokens: TokenLookup, authorization: str | None, needed: Role) -> TokenRecord:
    """The token's record when it may call a route needing `needed`; 401 unknown/revoked, 403 role."""
    token = bearer_token(authorization)
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized("invalid token", headers=CHALLENGE)
    record = tokens.find(token_hash(token))
    if record is None or not record.active:
        # one message for unknown and revoked tokens: the answer reveals nothing about either
        raise Unauthorized("invalid token", headers=CHALLENGE)
    return check_role(record, needed)


def check_role(record: TokenRecord, needed: Role) -> TokenRecord:
    """The record when its role may call a route needing `needed`; else 403."""
    if not role_allows(record.role, needed):
        raise Forbidden(f"this route needs the {needed} role; the token's role is {record.role}")
    return record
