"""`liveops discord register-commands [--guild G] [--application-id ID]`: bulk-overwrite the slash
commands (liveops.discord.commands.COMMANDS) as the bot, globally or for one guild (guild
commands update at once, global ones can take up to an hour to show)."""

from __future__ import annotations

import argparse
import os
import re

from liveops import wiring
from liveops.cli.output import emit, fail
from liveops.errors import LiveopsError

SNOWFLAKE = re.compile(r"^[0-9]{5,25}$")
APPLICATION_ID_ENV = "DISCORD_APPLICATION_ID"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    discord = sub.add_parser("discord", help="the Discord application").add_subparsers(
        dest="action", required=True
    )
    register = discord.add_parser(
        "register-commands",
        help="register /telemetry_report, /weekly_report, /incidents and /experiment (bulk overwrite)",
    )
    register.add_argument("--guild", default=None, help="register for this guild (server) id only")
    register.add_argument(
        "--application-id",
        default=os.environ.get(APPLICATION_ID_ENV),
        help=f"the Discord application id (default: ${APPLICATION_ID_ENV})",
    )
    register.add_argument("--json", action="store_true", help="print one JSON object")
    register.set_defaults(run=run_register)


def run_register(args: argparse.Namespace) -> int:
    from liveops.discord.commands import COMMANDS
    from liveops.discord.rest import DiscordError

    if not args.application_id:
        return fail(
            f"--application-id is required (the Discord application's id, from the Developer Portal; "
            f"or set {APPLICATION_ID_ENV})"
        )
    if not SNOWFLAKE.match(args.application_id):
        return fail(f"--application-id must be a Discord id (5 to 25 digits), not {args.application_id!r}")
    if args.guild is not None and not SNOWFLAKE.match(args.guild):
        return fail(f"--guild must be a Discord id (5 to 25 digits), not {args.guild!r}")
    try:
        rest = wiring.discord_rest()
        registered = rest.bulk_overwrite_commands(args.application_id, COMMANDS, guild_id=args.guild)
    except LiveopsError as exc:  # the bot token could not be read from SSM
        return fail(f"{exc.message} (put the bot token in the SSM parameter first)")
    except DiscordError as exc:
        return fail(f"Discord refused the commands: {exc}")
    names = sorted(str(c.get("name")) for c in registered)
    where = f"guild {args.guild}" if args.guild else "every guild (global; may take up to an hour to show)"
    emit(
        args.json,
        {"application_id": args.application_id, "guild_id": args.guild, "commands": names},
        f"registered {len(names)} commands for {where}: {', '.join('/' + n for n in names)}",
    )
    return 0
