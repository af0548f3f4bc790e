"""docs/openapi.json is generated from the code (`make openapi`) and must not drift from it."""

from __future__ import annotations

import json
from pathlib import Path

from liveops.api.openapi import build_document, document_json

ROOT = Path(__file__).resolve().parents[2]


def test_committed_document_matches_the_code() -> None:
    committed = (ROOT / "layers" / "liveops" / "api" / "openapi.json").read_text(encoding="utf-8")
    assert committed == document_json(), "run `make openapi` and commit layers/liveops/api/openapi.json"
    assert (ROOT / "docs" / "openapi.json").resolve() == (
        ROOT / "layers" / "liveops" / "api" / "openapi.json"
    )


def test_document_describes_the_batch_route_and_its_errors() -> None:
    document = build_document()
    post = document["paths"]["/v1/telemetry/batch"]["post"]
    assert {"202", "400", "401", "413", "422", "503"} <= set(post["responses"])
    assert post["security"] == [{"ApiKey": []}]
    headers = {p["name"] for p in post["parameters"] if p["in"] == "header"}
    assert {"x-api-key", "idempotency-key"} <= headers
    schemas = document["components"]["schemas"]
    assert set(schemas["BatchIn"]["required"]) == {"session_id", "platform", "events"}
    assert schemas["BatchIn"]["properties"]["events"]["maxItems"] == 500
    assert document["components"]["securitySchemes"]["ApiKey"]["name"] == "X-Api-Key"
    json.dumps(document)  # serialisable as is
