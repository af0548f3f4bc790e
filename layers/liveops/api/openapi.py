"""The OpenAPI document of the whole HTTP API, merged from every function's resolver.

The functions serving HTTP routes are read from template.yaml, so a new function's routes are
documented with no change here.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer, SecurityScheme

from liveops import __version__
from liveops.local.template import functions, project_template

SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    "ApiKey": APIKey(name="X-Api-Key", **{"in": APIKeyIn.header}),
    "BearerAuth": HTTPBearer(description="admin/metrics token with a role: viewer, editor or admin"),
}

DESCRIPTION = (
    "liveops: telemetry ingestion, client live-ops endpoints, metrics and admin for games and Discord "
    "communities. Errors always have the shape "
    '`{"error": {"code", "message", "details"}}`.'
)


DISCORD_SCHEMA: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "liveops", "version": __version__},
    "paths": {
        "/discord/interactions": {
            "post": {
                "summary": "Discord interactions webhook (PING, slash commands, buttons)",
                "description": "Ed25519 signature over timestamp + raw body (headers X-Signature-Ed25519 and "
                "X-Signature-Timestamp); a bad, missing or stale signature is 401.",
                "tags": ["discord"],
                "operationId": "discord_interactions_post",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {
                    "200": {"description": "An interaction response (PONG, message or deferral)"},
                    "400": {"description": "Signed but malformed body"},
                    "401": {"description": "Bad, missing or stale signature"},
                    "413": {"description": "Body over 1 MiB"},
                },
            }
        }
    },
}


def _resolver_schema(name: str, path: Path) -> dict[str, Any]:
    """One function's OpenAPI schema, with the security schemes its routes name."""
    spec = importlib.util.spec_from_file_location(f"liveops_openapi_{name}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.app.configure_openapi(title="liveops", security_schemes=SECURITY_SCHEMES)
    schema: dict[str, Any] = json.loads(module.app.get_openapi_json_schema())
    return schema


def build_document() -> dict[str, Any]:
    merge = OpenAPIMerge(
        title="liveops",
        version=__version__,
        description=DESCRIPTION,
        security_schemes=SECURITY_SCHEMES,
        on_conflict="error",
    )
    for spec in functions(project_template()):
        if any(event.get("Type") == "HttpApi" for event in spec.events.values()):
            path = spec.code_dir / f"{spec.handler.rsplit('.', 1)[0]}.py"
            # the Discord front has no resolver (cold-start budget): its route is described below
            if "\napp = " in path.read_text(encoding="utf-8"):
                merge.add_schema(_resolver_schema(spec.logical_id, path))
    merge.add_schema(DISCORD_SCHEMA)
    return dict(json.loads(merge.get_openapi_json_schema()))


def document_json() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
