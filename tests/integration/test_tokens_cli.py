"""`liveops tokens create|list|revoke` against moto, and the tokens it prints at the admin API."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from liveops import aws
from liveops.cli.main import build_parser
from tests.integration.conftest import AwsStack
from tests.integration.helpers import Api


def printed(out: str, key: str) -> dict[str, Any]:
    """The command's JSON document among the captured lines (the API calls log to stdout too)."""
    found: dict[str, Any] = next(
        json.loads(line) for line in out.splitlines() if line.startswith(f'{{"{key}"')
    )
    return found


def tokens(*args: str) -> int:
    parsed = build_parser().parse_args(["tokens", *args])
    return int(parsed.run(parsed))


def test_created_tokens_carry_their_role_and_are_stored_hashed(
    stack: AwsStack, game: str, capsys: pytest.CaptureFixture[str]
) -> None:
    created = {}
    for role in ("viewer", "editor", "admin"):
        assert tokens("create", "--role", role, "--json") == 0
        created[role] = printed(capsys.readouterr().out, "token_id")
        assert created[role]["role"] == role and created[role]["token"]
    api = Api()
    read_thresholds = "/v1/admin/apps/test-game/thresholds"  # editor and up (spec)
    for role, expected in (("viewer", 403), ("editor", 200), ("admin", 200)):
        status, _, answer = api.call(
            "GET", read_thresholds, headers={"authorization": f"Bearer {created[role]['token']}"}
        )
        assert status == expected, (role, answer)

    items = aws.client("dynamodb").scan(TableName=stack.env["APPS_TABLE"])["Items"]
    text = json.dumps(items)
    for token in created.values():
        assert token["token"] not in text
    assert hashlib.sha256(created["admin"]["token"].encode()).hexdigest() in text

    capsys.readouterr()
    assert tokens("list", "--json") == 0
    listed = {t["token_id"]: t for t in printed(capsys.readouterr().out, "tokens")["tokens"]}
    assert {listed[t["token_id"]]["role"] for t in created.values()} == {"viewer", "editor", "admin"}
    assert all(t["token"] not in json.dumps(listed) for t in created.values())

    assert tokens("revoke", created["editor"]["token_id"]) == 0
    capsys.readouterr()
    status, _, answer = api.call(
        "GET", read_thresholds, headers={"authorization": f"Bearer {created['editor']['token']}"}
    )
    assert status == 401, answer


def test_bad_roles_and_unknown_tokens_are_clear_errors(
    stack: AwsStack, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        tokens("create", "--role", "owner")
    assert exited.value.code == 2 and "invalid choice: 'owner'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tokens("create")
    assert "--role" in capsys.readouterr().err
    assert tokens("revoke", "no-such-token") != 0
    assert "no-such-token" in capsys.readouterr().err
