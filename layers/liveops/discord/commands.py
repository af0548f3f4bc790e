"""The slash commands and buttons liveops answers: their definitions (registered with Discord by
`liveops discord register-commands`), their custom ids, and the front's handlers.

The front answers within Discord's 3 seconds without reading any data: every command is answered
with a deferred message (type 5) and every button with a deferred update (type 6), after handing
the interaction to the `discord-worker` function, which does the work and edits the original
response. Stdlib only: this module is on the front's import path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# interaction callback types
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
EPHEMERAL = 1 << 6

# application command option types
STRING = 3
INTEGER = 4

# interaction context types (where a command may be used): GUILD 0, BOT_DM 1, PRIVATE_CHANNEL 2.
# Every liveops command needs a server linked to an app (discord.guild_id), so: servers only
# (Discord's default without `contexts` also offers them in the bot's DMs).
GUILD_CONTEXT = 0
CONTEXTS: list[int] = [GUILD_CONTEXT]

REPORT_SECTIONS = ("overview", "kpis", "measures", "spans", "incidents")
PAGE_PREFIX = "rpt"
ALERT_PREFIXES = ("ack", "resolve")

# the `app` option every command takes (a guild may link several apps)
APP_OPTION: dict[str, Any] = {
    "type": STRING,
    "name": "app",
    "description": "an app linked to this server (default: the server's app)",
    "required": False,
    "max_length": 40,
}

# one definition list, registered as is (bulk overwrite): names, descriptions, typed options and
# the contexts each may be used in (servers only)
COMMANDS: list[dict[str, Any]] = [
    {
        "name": "telemetry_report",
        "type": 1,
        "contexts": CONTEXTS,
        "description": "Telemetry of the last 7 days: totals, KPIs, measures, spans, incidents",
        "options": [
            APP_OPTION,
            {
                "type": STRING,
                "name": "section",
                "description": "only this section",
                "required": False,
                "choices": [{"name": name, "value": name} for name in REPORT_SECTIONS],
            },
        ],
    },
    {
        "name": "weekly_report",
        "type": 1,
        "contexts": CONTEXTS,
        "description": "The weekly report of the server's app, now (last 7 days)",
        "options": [APP_OPTION],
    },
    {
        "name": "incidents",
        "type": 1,
        "contexts": CONTEXTS,
        "description": "Open incidents of the server's app, with Acknowledge / Resolve buttons",
        "options": [APP_OPTION],
    },
    {
        "name": "experiment",
        "type": 1,
        "contexts": CONTEXTS,
        "description": "An experiment's readout (last 30 days): variants, lift, confidence, SRM",
        "options": [
            {
                "type": STRING,
                "name": "id",
                "description": "the experiment id",
                "required": True,
                "max_length": 128,
            },
            APP_OPTION,
        ],
    },
]
COMMAND_NAMES: tuple[str, ...] = tuple(str(command["name"]) for command in COMMANDS)
# commands whose answer only the invoking user sees
EPHEMERAL_COMMANDS = frozenset({"incidents", "experiment"})


def options(interaction: Mapping[str, Any]) -> dict[str, Any]:
    """The command's options by name (top-level options only: liveops has no subcommands)."""
    data = interaction.get("data")
    found = data.get("options") if isinstance(data, Mapping) else None
    out: dict[str, Any] = {}
    for option in found if isinstance(found, list) else []:
        if isinstance(option, Mapping) and isinstance(option.get("name"), str):
            out[option["name"]] = option.get("value")
    return out


# --- pagination buttons: `rpt:<app_id>:<section>:<page>` ---------------------------------------


def page_custom_id(app_id: str, section: str, page: int) -> str:
    return f"{PAGE_PREFIX}:{app_id}:{section}:{page}"


def parse_page_custom_id(custom_id: str) -> tuple[str, str, int] | None:
    """(app_id, section, page) of a pagination button; None for anything else."""
    parts = custom_id.split(":")
    if len(parts) != 4 or parts[0] != PAGE_PREFIX or not parts[1]:
        return None
    section = parts[2]
    if section != "all" and section not in REPORT_SECTIONS:
        return None
    if not (parts[3].isascii() and parts[3].isdigit() and len(parts[3]) <= 4):
        return None
    return parts[1], section, int(parts[3])


# --- the front's handlers -----------------------------------------------------------------------

Defer = Callable[[dict[str, Any]], None]
Handler = Callable[[dict[str, Any]], dict[str, Any]]


def deferred_message(ephemeral: bool) -> dict[str, Any]:
    """Type 5: Discord shows "thinking…" until the worker edits the original response."""
    return (
        {"type": DEFERRED_CHANNEL_MESSAGE, "data": {"flags": EPHEMERAL}}
        if ephemeral
        else {"type": DEFERRED_CHANNEL_MESSAGE}
    )


def front_handlers(defer: Defer) -> tuple[dict[str, Handler], dict[str, Handler]]:
    """(commands, components) for InteractionsFront: each hands the interaction to the worker
    (`defer`, an async invoke) and answers the deferral. A failing `defer` raises, and the front
    answers an ephemeral "try again" message instead."""

    def command(interaction: dict[str, Any]) -> dict[str, Any]:
        defer(interaction)
        name = str((interaction.get("data") or {}).get("name") or "")
        return deferred_message(name in EPHEMERAL_COMMANDS)

    def component(interaction: dict[str, Any]) -> dict[str, Any]:
        defer(interaction)
        return {"type": DEFERRED_UPDATE_MESSAGE}

    commands: dict[str, Handler] = {name: command for name in COMMAND_NAMES}
    components: dict[str, Handler] = {prefix: component for prefix in (*ALERT_PREFIXES, PAGE_PREFIX)}
    return commands, components
