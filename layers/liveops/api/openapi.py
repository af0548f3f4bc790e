"""The OpenAPI document of the whole HTTP API, merged from every function's resolver.

The functions serving HTTP routes are read from template.yaml, so a new function's routes are
documented with no change here.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

from liveops import __version__
from liveops.api.http import SECURITY_SCHEMES
from liveops.local.template import functions, project_template

DESCRIPTION = (
    "liveops: telemetry ingestion, client live-ops endpoints, metrics and admin for games and Discord "
    "communities. Errors always have the shape "
    '`{"error": {"code", "message", "details"}}`.'
)


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
            module = spec.handler.rsplit(".", 1)[0]
            merge.add_file(spec.code_dir / f"{module}.py", resolver_name="app")
    return dict(json.loads(merge.get_openapi_json_schema()))


def document_json() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
