"""The discord-worker: finishes the interactions the front deferred, then edits the original
response (PATCH webhooks/{application_id}/{token}/messages/@original). Always: a refusal or a
failure is shown there too, so nobody is left with "thinking…".

- commands (`/telemetry_report`, `/weekly_report`, `/incidents`, `/experiment`): the answer;
- `ack:` / `resolve:` buttons: the responder role check (the app config's
  discord.responder_role_ids against the member's roles), then IncidentService.acknowledge /
  resolve with the interaction id (a repeated press changes nothing). Pressed on the alert
  message, the original response *is* that message: it is edited with render_alert_message, and
  once Discord took the edit the service is told which revision the message shows, so nothing
  edits it again (and a webhook announcement goes out at once). Pressed on an `/incidents` list, the
  list is redrawn and the service edits the alert message. A refused press redraws the message
  as it is and tells the user in an ephemeral follow-up;
- `rpt:` buttons: another page of the report.

A guild maps to the app whose config has discord.guild_id equal to it; the `app` option picks
another app linked to the same guild.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from liveops.discord import report_messages as messages
from liveops.discord.commands import (
    EPHEMERAL,
    REPORT_SECTIONS,
    options,
    parse_page_custom_id,
)
from liveops.discord.rest import DiscordError
from liveops.errors import NotFound

logger = Logger(service="liveops")

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
FAILED = "Something went wrong while preparing this answer; please try again in a minute."


def refusal(interaction: Mapping[str, Any], text: str) -> dict[str, Any]:
    """The original response's new content when the interaction was refused or failed."""
    if interaction.get("type") == MESSAGE_COMPONENT:
        # the original response is the message the button is on: keep it, add the notice
        return {"content": f"⚠️ {text}"[:2000], "allowed_mentions": {"parse": []}}
    return messages.notice(text)


def finish(
    event: Mapping[str, Any],
    worker: Callable[[], DiscordWorker],
    webhook_rest: Callable[[], Any],
) -> dict[str, Any]:
    """The discord-worker function: `worker()` (built on the first invoke: settings, the bot token
    from SSM, the apps store) finishes `event["interaction"]`. Whatever fails on the way, the
    construction included, the original response is still edited with an error notice through
    `webhook_rest()`, a client without the bot token (the interaction token in the path is the
    only credential that route needs), so nobody is left with "thinking…". Never raises: a Lambda
    retry would only repeat the notice."""
    interaction = event.get("interaction") if isinstance(event, Mapping) else None
    if not isinstance(interaction, dict):
        logger.error("discord-worker invoked without an interaction")
        return {"status": "invalid"}
    context = {"interaction_id": interaction.get("id"), "interaction_type": interaction.get("type")}
    try:
        built = worker()
    except Exception:
        logger.exception("discord-worker could not start", extra=context)
    else:
        try:
            return built.handle(interaction)
        except Exception:  # handle() reports its own failures; this is anything it let through
            logger.exception("Discord interaction failed in the worker", extra=context)
    try:
        webhook_rest().edit_original_interaction_response(
            str(interaction.get("application_id")),
            str(interaction.get("token")),
            refusal(interaction, FAILED),
        )
    except Exception as exc:  # e.g. the interaction token expired (15 minutes)
        logger.warning("could not edit the interaction response", extra={**context, "error": str(exc)})
        return {**context, "status": "not_delivered", "error": str(exc)}
    return {**context, "status": "failed"}


class Refusal(Exception):
    """Something the user asked that cannot be done; the message says why (shown to them)."""


@dataclass
class Outcome:
    """What the worker sends: the original response's new content and an optional ephemeral
    follow-up for the user who clicked."""

    original: dict[str, Any]
    followup: str | None = None
    status: str = "ok"
    # (app_id, incident_id, revision) when `original` is that incident's alert message redrawn
    shows: tuple[str, str, int] | None = None


@dataclass
class GuildApps:
    """guild id -> linked app ids, from the app configs, cached for `ttl_seconds`."""

    apps: Any  # AppsStore: list_apps(), get_config(app_id)
    ttl_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _cache: tuple[float, dict[str, list[str]]] | None = field(default=None, init=False)

    def linked(self, guild_id: str) -> list[str]:
        now = self.clock()
        if self._cache is None or now - self._cache[0] > self.ttl_seconds:
            mapping: dict[str, list[str]] = {}
            for app_id, _version in self.apps.list_apps():
                found = self.apps.get_config(app_id)
                if found is not None and found[0].discord.guild_id:
                    mapping.setdefault(found[0].discord.guild_id, []).append(app_id)
            self._cache = (now, mapping)
        return sorted(self._cache[1].get(guild_id, []))


class DiscordWorker:
    def __init__(
        self,
        rest: Any,  # DiscordRest
        apps: Any,  # AppsStore
        incidents: Callable[[], Any],  # -> IncidentService
        data: Callable[[], Any],  # -> ReportData (pyarrow loads when a report needs it)
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        config_cache_seconds: float = 60.0,
    ) -> None:
        self.rest = rest
        self.apps = apps
        self.incidents = incidents
        self.data = data
        self.clock = clock
        self.guilds = GuildApps(apps, config_cache_seconds)

    # --- entry point ---------------------------------------------------------------------------

    def handle(self, interaction: dict[str, Any]) -> dict[str, Any]:
        """Finish one interaction; returns what was done (for the logs and tests)."""
        kind = interaction.get("type")
        context = {"interaction_id": interaction.get("id"), "interaction_type": kind}
        try:
            if kind == APPLICATION_COMMAND:
                outcome = self._command(interaction)
            elif kind == MESSAGE_COMPONENT:
                outcome = self._component(interaction)
            else:
                raise Refusal("This interaction is not supported.")
        except Refusal as exc:
            outcome = Outcome(self._refused(interaction, str(exc)), status="refused")
        except Exception:  # the user sees a notice; the logs keep the cause
            logger.exception("Discord interaction failed in the worker", extra=context)
            outcome = Outcome(self._refused(interaction, FAILED), status="failed")
        application_id, token = str(interaction.get("application_id")), str(interaction.get("token"))
        try:
            try:
                self.rest.edit_original_interaction_response(application_id, token, outcome.original)
            except DiscordError as exc:
                if exc.status != 400:
                    raise
                # Discord refused the answer itself: say so rather than leave "thinking…"
                logger.error("Discord refused the worker's answer", extra={**context, "error": str(exc)})
                outcome = Outcome(self._refused(interaction, FAILED), status="failed")
                self.rest.edit_original_interaction_response(application_id, token, outcome.original)
            if outcome.shows is not None and outcome.status == "ok":
                self._shown(*outcome.shows)
            if outcome.followup:
                self.rest.create_followup_message(
                    application_id,
                    token,
                    {"content": outcome.followup, "flags": EPHEMERAL, "allowed_mentions": {"parse": []}},
                )
        except DiscordError as exc:  # e.g. the interaction token expired (15 minutes)
            logger.warning("could not edit the interaction response", extra={**context, "error": str(exc)})
            return {**context, "status": "not_delivered", "error": str(exc)}
        return {**context, "status": outcome.status}

    def _shown(self, app_id: str, incident_id: str, revision: int) -> None:
        """The alert message now shows this revision: the service need not edit it again (its
        webhook announcement, if any, goes out now). A failure here only means a later edit."""
        try:
            self.incidents().shown_on_discord(app_id, incident_id, revision)
        except Exception as exc:
            logger.warning(
                "incident delivery not recorded", extra={"incident_id": incident_id, "error": str(exc)}
            )

    def _refused(self, interaction: dict[str, Any], text: str) -> dict[str, Any]:
        return refusal(interaction, text)

    # --- which app -----------------------------------------------------------------------------

    def _app(self, interaction: Mapping[str, Any], requested: Any = None) -> Any:
        """The app config the interaction is about (a guild's linked app)."""
        guild_id = interaction.get("guild_id")
        if not guild_id:
            raise Refusal("liveops commands work in a server linked to an app (discord.guild_id).")
        linked = self.guilds.linked(str(guild_id))
        if requested:
            app_id = str(requested)
            if app_id not in linked:
                raise Refusal(f"The app `{app_id.replace('`', '')[:40]}` is not linked to this server.")
        elif not linked:
            raise Refusal("No app is linked to this server: set discord.guild_id in an app config.")
        elif len(linked) > 1:
            raise Refusal(
                f"Several apps are linked to this server; pick one with `app`: {', '.join(linked)}."
            )
        else:
            app_id = linked[0]
        found = self.apps.get_config(app_id)
        if found is None:
            raise Refusal(f"The app `{app_id}` no longer exists.")
        return found[0]

    # --- commands ------------------------------------------------------------------------------

    def _command(self, interaction: dict[str, Any]) -> Outcome:
        name = str((interaction.get("data") or {}).get("name") or "")
        given = options(interaction)
        config = self._app(interaction, given.get("app"))
        now = self.clock()
        if name == "telemetry_report":
            section = str(given.get("section") or "all")
            if section != "all" and section not in REPORT_SECTIONS:
                raise Refusal(f"Unknown section; one of {', '.join(REPORT_SECTIONS)}.")
            return Outcome(self._report_page(config, section, 0))
        if name == "weekly_report":
            from liveops.domain.weekly_report import render, week_window
            from liveops.models.app_config import WEEKLY_SECTIONS

            spec = config.discord.weekly_report
            sections = list(spec.sections) if spec is not None else list(WEEKLY_SECTIONS)
            start, end = week_window(now)
            data = self.data()
            return Outcome(render(config, sections, data.week(config, start, end), data.kanon_min))
        if name == "incidents":
            return Outcome(self._incidents_list(config))
        if name == "experiment":
            experiment_id = str(given.get("id") or "").strip()
            if not experiment_id:
                raise Refusal("Name the experiment: `/experiment id:<experiment id>`.")
            result = self.data().experiment(config, experiment_id, now)
            if result is None:
                raise Refusal(f"{config.app_id} has no experiment `{experiment_id.replace('`', '')[:128]}`.")
            return Outcome(messages.experiment_message(config.name, result))
        raise Refusal(f"`/{name[:32]}` is not a liveops command.")

    def _report_page(self, config: Any, section: str, page: int) -> dict[str, Any]:
        sections = list(REPORT_SECTIONS) if section == "all" else [section]
        figures = self.data().telemetry(config, sections, self.clock())
        pages = messages.report_pages(config.name, section, figures)
        return messages.report_page(config.app_id, section, pages, page)

    def _incidents_list(self, config: Any) -> dict[str, Any]:
        # queried by status: an old open incident is listed however many resolved ones are newer
        return messages.incidents_message(config.name, self.incidents().open_incidents(config.app_id))

    # --- buttons -------------------------------------------------------------------------------

    def _component(self, interaction: dict[str, Any]) -> Outcome:
        from liveops.discord.alert_message import parse_custom_id

        custom_id = str((interaction.get("data") or {}).get("custom_id") or "")
        page = parse_page_custom_id(custom_id)
        if page is not None:
            app_id, section, number = page
            config = self._app(interaction, app_id)
            return Outcome(self._report_page(config, section, number))
        alert = parse_custom_id(custom_id)
        if alert is None:
            raise Refusal("This button is not supported.")
        action, app_id, incident_id = alert
        config = self._app(interaction, app_id)
        service = self.incidents()
        try:
            incident = service.get(app_id, incident_id)
        except NotFound:
            raise Refusal("This incident no longer exists.") from None
        message_id = str((interaction.get("message") or {}).get("id") or "")
        on_alert_message = bool(message_id) and message_id == incident.discord_message_id

        def redraw(current: Any) -> dict[str, Any]:
            from liveops.discord.alert_message import render_alert_message

            if not on_alert_message:
                return self._incidents_list(config)
            return {**render_alert_message(current), "content": ""}  # also clears an earlier notice

        member = interaction.get("member") or {}
        roles = {str(role) for role in member.get("roles") or []}
        allowed = set(config.discord.responder_role_ids)
        if not roles & allowed:
            why = (
                "Only members with a responder role can do this."
                if allowed
                else "This app has no responder roles (discord.responder_role_ids): nobody can do this."
            )
            return Outcome(redraw(incident), followup=why, status="refused")
        user = (member.get("user") or interaction.get("user") or {}).get("id")
        change = service.acknowledge if action == "ack" else service.resolve
        updated = change(
            app_id,
            incident_id,
            by=f"discord:{user}",
            interaction_id=str(interaction.get("id")),
            edit_message=not on_alert_message,
        )
        shows = (app_id, incident_id, updated.revision) if on_alert_message else None
        return Outcome(redraw(updated), shows=shows)
