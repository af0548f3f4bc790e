"""`liveops tokens ...`: bearer tokens (viewer < editor < admin) for the admin and metrics API."""

from __future__ import annotations

import argparse

from liveops import wiring
from liveops.cli.output import emit, fail
from liveops.services.tokens import ROLES, create_token
from liveops.storage.tokens_store import TokensStore


def add_parsers(sub: argparse._SubParsersAction) -> None:
    tokens = sub.add_parser("tokens", help="admin/metrics API tokens").add_subparsers(
        dest="action", required=True
    )
    create = tokens.add_parser("create", help="create a token (printed once, stored hashed)")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--json", action="store_true")
    create.set_defaults(run=run_create)
    listing = tokens.add_parser("list", help="list tokens (ids and roles only)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_list)
    revoke = tokens.add_parser("revoke", help="revoke a token by its id (takes effect at once)")
    revoke.add_argument("token_id")
    revoke.set_defaults(run=run_revoke)


def _store() -> TokensStore:
    # tokens live in the apps table; `connect` has pointed settings and clients at the target
    store: TokensStore = wiring.tokens_store()
    return store


def run_create(args: argparse.Namespace) -> int:
    token = create_token(_store(), args.role)
    emit(
        args.json,
        {"token_id": token.token_id, "role": token.role, "token": token.token},
        f"{token.role} token {token.token_id} (shown once; store it now):\n{token.token}",
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    records = _store().list()
    rows = [
        {"token_id": r.token_id, "role": r.role, "created_at": r.created_at, "revoked_at": r.revoked_at}
        for r in records
    ]
    lines = [
        f"{r.token_id}\t{r.role}\t{r.created_at}\t{('revoked ' + r.revoked_at) if r.revoked_at else 'active'}"
        for r in records
    ]
    emit(args.json, {"tokens": rows}, "\n".join(lines) or "no tokens yet")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    if not _store().revoke(args.token_id):
        return fail(f"no token {args.token_id!r}")
    print(f"revoked {args.token_id}")
    return 0
