"""Admin routes for credentials [admin]: an app's client keys (list, revoke) and the admin/metrics
tokens (create, list, revoke). The same operations as `liveops keys` and `liveops tokens`; secrets
are shown once at creation and only their hashes are stored.
"""

# No `from __future__ import annotations`: Powertools reads the dependencies from the evaluated
# annotations.

from collections.abc import Callable
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel, ConfigDict, Field

from liveops.api.admin_docs import BEARER, NO_STORE, AppIdPath, ok_json, protected_responses
from liveops.api.http import json_response
from liveops.errors import NotFound
from liveops.services.configs import applied_config
from liveops.services.tokens import create_token
from liveops.storage.apps_store import AppsStore
from liveops.storage.tokens_store import TokenRecord, TokensStore

logger = Logger(service="liveops")

# ids are the short hex ids printed by `liveops keys list` / `liveops tokens list`
IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the key or token id")]


class KeyInfo(BaseModel):
    key_id: str
    created_at: str
    revoked_at: str | None
    active: bool


class KeyList(BaseModel):
    app_id: str
    keys: list[KeyInfo]


class TokenInfo(BaseModel):
    token_id: str
    role: str
    created_at: str
    revoked_at: str | None
    active: bool


class TokenList(BaseModel):
    tokens: list[TokenInfo]


class NewTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["viewer", "editor", "admin"] = Field(description="what the token may do")


class NewTokenOut(BaseModel):
    token_id: str
    role: str
    token: str = Field(description="shown once; only its SHA-256 is stored")


class Revoked(BaseModel):
    id: str
    revoked: bool


def _responses(ok: int, model: type, not_found: str | None) -> dict[int, Any]:
    return protected_responses("admin", ok_json(model, ok), not_found=not_found)


def register(
    app: APIGatewayHttpResolver,
    apps: Callable[[], AppsStore],
    tokens: Callable[[], TokensStore],
    admin: Callable[[], TokenRecord],
) -> None:
    def require_app(app_id: str) -> None:
        applied_config(apps(), app_id)

    @app.get(
        "/v1/admin/apps/<app_id>/keys",
        summary="An app's client keys (ids and state only)",
        tags=["admin"],
        security=BEARER,
        responses=_responses(200, KeyList, "Unknown app"),
    )
    def list_keys(caller: Annotated[TokenRecord, Depends(admin)], app_id: AppIdPath) -> Response[Any]:
        require_app(app_id)
        keys = [
            {"key_id": k.key_id, "created_at": k.created_at, "revoked_at": k.revoked_at, "active": k.active}
            for k in apps().list_keys(app_id)
        ]
        return json_response(200, {"app_id": app_id, "keys": keys})

    @app.delete(
        "/v1/admin/apps/<app_id>/keys/<key_id>",
        summary="Revoke a client key (takes effect within the config cache time, 60 s by default)",
        tags=["admin"],
        security=BEARER,
        responses=_responses(200, Revoked, "Unknown app or key"),
    )
    def revoke_key(
        caller: Annotated[TokenRecord, Depends(admin)], app_id: AppIdPath, key_id: IdPath
    ) -> Response[Any]:
        require_app(app_id)
        if not apps().revoke_key(app_id, key_id):
            raise NotFound(f"no key {key_id!r} for app {app_id!r}", code="unknown_key")
        logger.info(
            "client key revoked", extra={"app_id": app_id, "key_id": key_id, "token_id": caller.token_id}
        )
        return json_response(200, {"id": key_id, "revoked": True})

    @app.get(
        "/v1/admin/tokens",
        summary="The admin/metrics tokens (ids, roles and state only)",
        tags=["admin"],
        security=BEARER,
        responses=_responses(200, TokenList, None),
    )
    def list_tokens(caller: Annotated[TokenRecord, Depends(admin)]) -> Response[Any]:
        rows = [
            {
                "token_id": t.token_id,
                "role": t.role,
                "created_at": t.created_at,
                "revoked_at": t.revoked_at,
                "active": t.active,
            }
            for t in tokens().list()
        ]
        return json_response(200, {"tokens": rows})

    @app.post(
        "/v1/admin/tokens",
        summary="Create a token with a role (shown once, stored hashed)",
        tags=["admin"],
        security=BEARER,
        responses=_responses(201, NewTokenOut, None),
    )
    def post_token(
        caller: Annotated[TokenRecord, Depends(admin)], body: Annotated[NewTokenIn, Body()]
    ) -> Response[Any]:
        token = create_token(tokens(), body.role)
        logger.info(
            "token created",
            extra={"new_token_id": token.token_id, "role": token.role, "token_id": caller.token_id},
        )
        return json_response(
            201, {"token_id": token.token_id, "role": token.role, "token": token.token}, NO_STORE
        )

    @app.delete(
        "/v1/admin/tokens/<token_id>",
        summary="Revoke a token (takes effect at once)",
        tags=["admin"],
        security=BEARER,
        responses=_responses(200, Revoked, "Unknown token"),
    )
    def revoke_token(caller: Annotated[TokenRecord, Depends(admin)], token_id: IdPath) -> Response[Any]:
        if not tokens().revoke(token_id):
            raise NotFound(f"no token {token_id!r}", code="unknown_token")
        logger.info("token revoked", extra={"revoked_token_id": token_id, "token_id": caller.token_id})
        return json_response(200, {"id": token_id, "revoked": True})
