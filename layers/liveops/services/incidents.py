"""IncidentService: the one way incidents are read, opened, acknowledged, resolved, notified and
pruned. Built by `liveops.wiring.incident_service()`; used by the alerts job, the admin API, the
Discord buttons (worker), the weekly report, the dashboard and the retention job.

Guarantees:
- at most one open incident per dedupe key (threshold + scope, or job source): the incident and
  its open-lock are written in one conditional transaction, and released with the resolution;
- every change is a put conditioned on the version read (optimistic concurrency, retried), so two
  writers (an alerts run and a button press) never lose each other's change;
- a change that the alert message shows bumps `revision` and sets `notification_pending`;
  `deliver` posts (first time) or edits the Discord message and announces status changes to the
  webhook, and clears `notification_pending` only when everything was delivered. A failure keeps
  it pending for the next `alerts` run. The first post is claimed (a conditional write) before it
  is sent and carries an enforced Discord nonce, and its message id is recorded before anything
  else changes, so no run posts a second message for the same incident.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from liveops.discord.alert_message import render_alert_message, render_webhook_message
from liveops.domain import incident_lifecycle as lifecycle
from liveops.domain.retention import expires_at as retention_expiry
from liveops.errors import BadRequest, Conflict, NotFound
from liveops.models.app_config import AppConfig, ThresholdSpec
from liveops.models.incidents import OPEN_STATUSES, Incident, NotifyTarget
from liveops.services.configs import ConfigSource
from liveops.storage.incidents_store import IncidentsStore, StaleWrite, Stored

logger = Logger(service="liveops")

MAX_ATTEMPTS = 6  # optimistic-concurrency retries of one change
CLAIM_SECONDS = 120  # how long a run owns the first post of an incident's message
UNKNOWN_MESSAGE = 10008  # Discord's code for a message that no longer exists
STATUSES = ("new", "acknowledged", "resolved")


class DiscordClient(Protocol):
    def create_message(self, channel_id: str, payload: Any) -> dict[str, Any]: ...
    def edit_message(self, channel_id: str, message_id: str, payload: Any) -> dict[str, Any]: ...
    def execute_webhook(self, url: str, payload: Any) -> dict[str, Any] | None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_incident_id(at: datetime) -> str:
    """`inc-<UTC time to the millisecond>-<random>`: ids sort by opening time."""
    at = at.astimezone(UTC)
    return f"inc-{at:%Y%m%d%H%M%S}{at.microsecond // 1000:03d}-{secrets.token_hex(4)}"


def _nonce(incident_id: str) -> str:
    # Discord nonces are at most 25 characters: the id without its prefix and dashes (22)
    return incident_id.removeprefix("inc-").replace("-", "")


class IncidentService:
    def __init__(
        self,
        store: IncidentsStore,
        configs: ConfigSource,
        discord: Callable[[], DiscordClient],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._configs = configs
        self._discord = discord  # built on first use: reading the bot token may fail (then: pending)
        self._clock = clock

    # ------------------------------------------------------------------ reads
    def list(self, app_id: str, status: str | None = None, limit: int = 50) -> list[Incident]:
        """The app's incidents, newest first, optionally only those with `status`."""
        if status is not None and status not in STATUSES:
            raise BadRequest(f"status must be one of {', '.join(STATUSES)}", code="invalid_status")
        found = self._store.scan_incidents(app_id, status=status)
        return [stored.incident for stored in islice(found, max(0, limit))]

    def open_incidents(self, app_id: str) -> builtins.list[Incident]:
        """Every open incident of the app (new or acknowledged), newest first, queried by status so
        that none is missed however many resolved incidents are newer (open ones stay few: at most
        one per threshold and scope or job)."""
        found = [
            stored.incident
            for status in OPEN_STATUSES
            for stored in self._store.scan_incidents(app_id, status=status)
        ]
        return sorted(found, key=lambda incident: incident.incident_id, reverse=True)

    def get(self, app_id: str, incident_id: str) -> Incident:
        """One incident; liveops.errors.NotFound when unknown."""
        return self._stored(app_id, incident_id).incident

    def _stored(self, app_id: str, incident_id: str) -> Stored:
        stored = self._store.get(app_id, incident_id)
        if stored is None:
            raise NotFound(f"no incident {incident_id!r} in {app_id!r}", code="unknown_incident")
        return stored

    def open_incident(self, app_id: str, dedupe_key: str) -> Incident | None:
        """The incident open for `dedupe_key`, if any."""
        incident_id = self._store.open_incident_id(app_id, dedupe_key)
        if incident_id is None:
            return None
        stored = self._store.get(app_id, incident_id)
        return stored.incident if stored is not None and stored.incident.is_open else None

    def stats(self, app_id: str, start: datetime, end: datetime) -> dict[str, Any]:
        """Incidents opened in [start, end): counts by severity, status and source, mean and median
        time to acknowledge and resolve (seconds), responders (actor ids) with their counts."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        found = self._store.scan_incidents(
            app_id,
            newest_first=False,
            opened_from=f"inc-{start:%Y%m%d%H%M%S}",
            opened_to=f"inc-{end:%Y%m%d%H%M%S}",
        )
        incidents = [s.incident for s in found if start <= s.incident.opened_at < end]
        return {
            "app_id": app_id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            **lifecycle.stats(incidents),
        }

    # ------------------------------------------------------------------ changes
    def _config(self, app_id: str) -> AppConfig | None:
        found = self._configs.get_config(app_id)
        return found[0] if found is not None else None

    def _expires_at(self, app_id: str, incident: Incident) -> int | None:
        """The TTL of a resolved incident: when the retention job's whole-day rule deletes it (the
        start of its resolution's UTC day + the app's `incidents_days` + 1 day); a backstop only."""
        if incident.resolved_at is None:
            return None
        config = self._config(app_id)
        days = config.retention.incidents_days if config is not None else 365
        return int(retention_expiry(incident.resolved_at.astimezone(UTC).date(), days).timestamp())

    def _mutate(
        self, app_id: str, incident_id: str, change: Callable[[Incident], Incident | None]
    ) -> tuple[Incident, bool]:
        """Apply `change` to the stored incident until the conditional write succeeds; (incident,
        whether it changed). Resolving releases the open-lock in the same transaction."""
        for _ in range(MAX_ATTEMPTS):
            stored = self._stored(app_id, incident_id)
            changed = change(stored.incident)
            if changed is None:
                return stored.incident, False
            closes = stored.incident.is_open and not changed.is_open
            try:
                self._store.replace(
                    changed,
                    stored.version,
                    release_lock=changed.dedupe_key if closes and changed.dedupe_key else None,
                    expires_at=self._expires_at(app_id, changed),
                )
            except StaleWrite:
                continue  # someone else changed it meanwhile: decide again on the fresh copy
            return changed, True
        raise Conflict(f"incident {incident_id!r} kept changing; retry", code="incident_busy")

    def _act(
        self,
        action: Callable[..., Incident | None],
        app_id: str,
        incident_id: str,
        by: str,
        note: str | None,
        interaction_id: str | None,
        edit_message: bool,
    ) -> Incident:
        at = self._clock()
        incident, changed = self._mutate(
            app_id,
            incident_id,
            lambda current: action(current, by=by, at=at, note=note, interaction_id=interaction_id),
        )
        if changed:
            logger.info(
                "incident changed",
                extra={"app_id": app_id, "incident_id": incident_id, "status": incident.status, "by": by},
            )
            if edit_message:
                incident = self.deliver(app_id, incident_id)
        return incident

    def acknowledge(
        self,
        app_id: str,
        incident_id: str,
        *,
        by: str,
        note: str | None = None,
        interaction_id: str | None = None,
        edit_message: bool = True,
    ) -> Incident:
        """new -> acknowledged. Idempotent: a repeated interaction id, or an incident already
        acknowledged or resolved, changes nothing and returns the incident as it is."""
        return self._act(lifecycle.acknowledge, app_id, incident_id, by, note, interaction_id, edit_message)

    def resolve(
        self,
        app_id: str,
        incident_id: str,
        *,
        by: str,
        note: str | None = None,
        interaction_id: str | None = None,
        edit_message: bool = True,
    ) -> Incident:
        """new|acknowledged -> resolved. Idempotent like `acknowledge`."""
        return self._act(lifecycle.resolve, app_id, incident_id, by, note, interaction_id, edit_message)

    def shown_on_discord(self, app_id: str, incident_id: str, revision: int) -> Incident:
        """The alert message was redrawn at `revision` by other means (the interaction response
        of a button pressed on it): record it, then deliver what is still due (the webhook)."""

        def mark(current: Incident) -> Incident | None:
            if current.discord_message_id is None or current.discord_revision >= revision:
                return None
            return current.model_copy(update={"discord_revision": min(revision, current.revision)})

        self._mutate(app_id, incident_id, mark)
        return self.deliver(app_id, incident_id)

    def observe(self, app_id: str, incident_id: str, observed: float) -> Incident:
        """An open incident's latest figure (edits the message on the next delivery if it changed)."""
        at = self._clock()
        incident, _ = self._mutate(
            app_id, incident_id, lambda current: lifecycle.observe(current, observed, at)
        )
        return incident

    def _open(self, incident: Incident) -> Incident:
        """Create `incident` unless one is already open for its dedupe key: then that one."""
        for _ in range(MAX_ATTEMPTS):
            try:
                self._store.create(incident, incident.dedupe_key)
            except StaleWrite:
                existing = self.open_incident(incident.app_id, incident.dedupe_key)
                if existing is not None:
                    return existing
                continue  # the open one was resolved meanwhile: try again
            logger.info(
                "incident opened",
                extra={
                    "app_id": incident.app_id,
                    "incident_id": incident.incident_id,
                    "key": incident.dedupe_key,
                },
            )
            return incident
        raise Conflict(f"could not open an incident for {incident.dedupe_key!r}; retry", code="incident_busy")

    def open_threshold_incident(
        self, app_id: str, threshold: ThresholdSpec, dedupe_key: str, observed: float, summary: str
    ) -> tuple[Incident, bool]:
        """Open an incident for a breached threshold (notified by the next `deliver`); (incident,
        whether it is new). An incident already open for the key is returned instead."""
        at = self._clock()
        incident = Incident(
            incident_id=new_incident_id(at),
            app_id=app_id,
            source="threshold",
            threshold_id=threshold.id,
            scope=dict(threshold.where),
            metric=threshold.metric,
            op=threshold.op,
            threshold_value=threshold.value,
            observed_value=observed,
            severity=threshold.severity,
            summary=summary,
            suggested_actions=list(threshold.suggested_actions),
            opened_at=at,
            updated_at=at,
            notify=list(threshold.notify),
            notification_pending=bool(threshold.notify),
            dedupe_key=dedupe_key,
        )
        opened = self._open(incident)
        return opened, opened.incident_id == incident.incident_id

    def open_job_incident(
        self, app_id: str, source: str, summary: str, severity: str = "critical"
    ) -> Incident:
        """At most one open incident per (app, source); notified at once (alert channel with buttons
        and/or webhook, as configured), a failed notification retried by the next `alerts` run."""
        if severity not in ("warning", "critical"):
            raise ValueError(f"severity must be warning or critical, not {severity!r}")
        config = self._config(app_id)
        targets: builtins.list[NotifyTarget] = []
        if config is not None and config.discord.alerts_channel_id:
            targets.append("discord")
        if config is not None and config.discord.webhook_url:
            targets.append("webhook")
        at = self._clock()
        incident = Incident(
            incident_id=new_incident_id(at),
            app_id=app_id,
            source=source,
            severity=severity,
            summary=summary,
            opened_at=at,
            updated_at=at,
            notify=targets,
            notification_pending=bool(targets),
            dedupe_key=f"J#{source}",
        )
        opened = self._open(incident)
        if opened.incident_id != incident.incident_id and opened.summary != summary:
            opened, _ = self._mutate(
                app_id,
                opened.incident_id,
                lambda current: (
                    lifecycle.revise(current, summary=summary, updated_at=at) if current.is_open else None
                ),
            )
        return self.deliver(app_id, opened.incident_id)

    # ------------------------------------------------------------------ notifications
    def _targets(self, incident: Incident, config: AppConfig | None) -> tuple[str | None, str | None]:
        if config is None:
            return None, None
        channel = config.discord.alerts_channel_id if "discord" in incident.notify else None
        webhook = config.discord.webhook_url if "webhook" in incident.notify else None
        return channel, webhook

    @staticmethod
    def _pending(incident: Incident, channel: str | None, webhook: str | None) -> bool:
        discord_due = channel is not None and (
            incident.discord_message_id is None or incident.discord_revision < incident.revision
        )
        webhook_due = webhook is not None and incident.webhook_status != incident.status
        return discord_due or webhook_due

    def deliver(self, app_id: str, incident_id: str) -> Incident:
        """Post or edit the incident's Discord message and announce its status to the webhook, as
        far as still pending; failures keep `notification_pending` for the next run."""
        incident = self.get(app_id, incident_id)
        if not incident.notification_pending:
            return incident
        config = self._config(app_id)
        channel, webhook = self._targets(incident, config)
        errors: builtins.list[str] = []
        if channel is not None:
            incident = self._deliver_discord(app_id, incident, channel, errors)
        if webhook is not None and incident.webhook_status != incident.status:
            incident = self._deliver_webhook(app_id, incident_id, webhook, errors)

        def settle(current: Incident) -> Incident | None:
            pending = self._pending(current, *self._targets(current, config))
            error = ("; ".join(errors)[:500] or None) if pending else None
            if current.notification_pending == pending and current.notification_error == error:
                return None
            return current.model_copy(update={"notification_pending": pending, "notification_error": error})

        incident, _ = self._mutate(app_id, incident_id, settle)
        return incident

    def _deliver_webhook(
        self, app_id: str, incident_id: str, url: str, errors: builtins.list[str]
    ) -> Incident:
        """Announce the current status once: it is marked announced (a conditional write, so one
        writer wins) before the post, and unmarked again if the post fails."""
        previous: dict[str, Any] = {}

        def take(current: Incident) -> Incident | None:
            if current.webhook_status == current.status:
                return None
            previous["status"] = current.webhook_status
            return current.model_copy(update={"webhook_status": current.status})

        incident, took = self._mutate(app_id, incident_id, take)
        if not took:
            return incident
        announced = incident.webhook_status
        try:
            self._discord().execute_webhook(url, render_webhook_message(incident))
        except Exception as exc:  # a failed notification must never lose the incident
            errors.append(f"webhook: {exc}")
            logger.warning(
                "webhook notification failed", extra={"incident_id": incident_id, "error": str(exc)}
            )
            incident, _ = self._mutate(
                app_id,
                incident_id,
                lambda current: (
                    current.model_copy(update={"webhook_status": previous["status"]})
                    if current.webhook_status == announced
                    else None
                ),
            )
        return incident

    def _deliver_discord(
        self, app_id: str, incident: Incident, channel: str, errors: builtins.list[str]
    ) -> Incident:
        incident_id = incident.incident_id
        if incident.discord_message_id is not None and incident.discord_revision >= incident.revision:
            return incident
        now = self._clock()
        if incident.discord_message_id is None:
            # decide on a fresh copy: another run may have claimed or posted since `incident` was read
            stored = self._stored(app_id, incident_id)
            incident = stored.incident
        if incident.discord_message_id is None:
            if incident.notify_claim_until is not None and incident.notify_claim_until > now:
                errors.append("discord: another run is posting the message")
                return incident
            claimed = incident.model_copy(
                update={"notify_claim_until": now + timedelta(seconds=CLAIM_SECONDS)}
            )
            try:
                self._store.replace(claimed, stored.version)
            except StaleWrite:
                errors.append("discord: the incident changed while claiming the first post")
                return incident
            incident = claimed
            payload = {**render_alert_message(incident), "nonce": _nonce(incident_id), "enforce_nonce": True}
            revision = incident.revision
            try:
                message = self._discord().create_message(channel, payload)
            except Exception as exc:  # a failed notification must never lose the incident
                errors.append(f"discord: {exc}")
                logger.warning(
                    "alert message not posted", extra={"incident_id": incident_id, "error": str(exc)}
                )
                incident, _ = self._mutate(
                    app_id,
                    incident_id,
                    lambda current: current.model_copy(update={"notify_claim_until": None}),
                )
                return incident
            message_id = str(message["id"])
            incident, _ = self._mutate(
                app_id,
                incident_id,
                lambda current: current.model_copy(
                    update={
                        "discord_channel_id": channel,
                        "discord_message_id": message_id,
                        "discord_revision": max(current.discord_revision, revision),
                        "notify_claim_until": None,
                    }
                ),
            )
            logger.info("alert message posted", extra={"incident_id": incident_id, "message_id": message_id})
        if incident.discord_revision >= incident.revision:
            return incident
        return self._edit_discord(app_id, incident, errors)

    def _edit_discord(self, app_id: str, incident: Incident, errors: builtins.list[str]) -> Incident:
        from liveops.discord.rest import DiscordError

        incident_id = incident.incident_id
        revision = incident.revision
        channel, message_id = incident.discord_channel_id, incident.discord_message_id
        assert channel is not None and message_id is not None
        try:
            self._discord().edit_message(channel, message_id, render_alert_message(incident))
        except DiscordError as exc:
            if exc.status == 404 and exc.code == UNKNOWN_MESSAGE:
                # someone deleted the message: post a new one on the next delivery
                errors.append("discord: the alert message was deleted; a new one will be posted")
                incident, _ = self._mutate(
                    app_id,
                    incident_id,
                    lambda current: current.model_copy(
                        update={"discord_message_id": None, "discord_revision": 0}
                    ),
                )
                return incident
            errors.append(f"discord: {exc}")
            logger.warning("alert message not edited", extra={"incident_id": incident_id, "error": str(exc)})
            return incident
        except Exception as exc:
            errors.append(f"discord: {exc}")
            logger.warning("alert message not edited", extra={"incident_id": incident_id, "error": str(exc)})
            return incident
        incident, _ = self._mutate(
            app_id,
            incident_id,
            lambda current: (
                current.model_copy(update={"discord_revision": max(current.discord_revision, revision)})
                if current.discord_revision < revision
                else None
            ),
        )
        return incident

    def pending(self, app_id: str) -> Iterator[Incident]:
        """Incidents whose notification is still to be delivered, oldest first."""
        for stored in self._store.scan_incidents(app_id, newest_first=False, pending_only=True):
            yield stored.incident

    def deliver_pending(self, app_id: str) -> dict[str, int]:
        """Deliver every pending notification of the app: {"delivered", "still_pending"}."""
        delivered = still = 0
        for incident in list(self.pending(app_id)):
            if self.deliver(app_id, incident.incident_id).notification_pending:
                still += 1
            else:
                delivered += 1
        return {"delivered": delivered, "still_pending": still}

    # ------------------------------------------------------------------ retention
    def usage(self, app_id: str) -> tuple[int, int]:
        """(incidents, approximate bytes) the app stores, open and resolved."""
        return self._store.usage(app_id)

    def prune(self, app_id: str, before: datetime, dry_run: bool) -> tuple[int, int]:
        """Resolved incidents resolved before `before`: (items, approximate bytes); deleted unless
        dry_run. Open incidents are never pruned."""
        found = list(self._store.resolved_before(app_id, before.astimezone(UTC)))
        if not dry_run and found:
            self._store.delete_keys([key for key, _ in found])
        return len(found), sum(size for _, size in found)
