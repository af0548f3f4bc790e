"""Builds the services the function handlers use from settings and AWS clients (the one place
where clients meet adapters). Kept free of pyarrow so that client-facing functions start fast."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from liveops.aws import client


def get_settings():  # type: ignore[no-untyped-def]  # returns Settings
    # imported on first use: pydantic-settings is not needed to import a function's handler
    from liveops.settings import get_settings as cached_settings

    return cached_settings()


@lru_cache(maxsize=1)
def apps_store():  # type: ignore[no-untyped-def]  # returns AppsStore (the config model loads here)
    from liveops.storage.apps_store import AppsStore

    return AppsStore(client("dynamodb"), get_settings().apps_table)


@lru_cache(maxsize=1)
def ingest_service():  # type: ignore[no-untyped-def]  # returns IngestService; imported lazily
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from liveops.api.ingest import IngestService
    from liveops.storage.event_queue import EventQueue

    settings = get_settings()
    return IngestService(
        directory=app_directory(),
        queue=EventQueue(client("sqs"), settings.events_queue_url),
        settings=settings,
        persistence=DynamoDBPersistenceLayer(
            table_name=settings.idempotency_table, boto3_client=client("dynamodb")
        ),
    )


@lru_cache(maxsize=1)
def raw_event_writer():  # type: ignore[no-untyped-def]  # returns RawEventWriter; pyarrow loads here
    from liveops.storage.catalog import PartitionCatalog
    from liveops.storage.lake import RawEventsLake
    from liveops.writer import RawEventWriter

    settings = get_settings()
    return RawEventWriter(
        RawEventsLake(client("s3", patient=True), settings.lake_bucket),
        PartitionCatalog(client("glue", patient=True), settings.glue_database, settings.raw_events_table),
        job_state(),
    )


@lru_cache(maxsize=1)
def job_state():  # type: ignore[no-untyped-def]  # returns JobState
    from liveops.storage.job_state import JobState

    return JobState(client("dynamodb", patient=True), get_settings().jobs_table)


@lru_cache(maxsize=1)
def curated_lake():  # type: ignore[no-untyped-def]  # returns CuratedLake
    from liveops.storage.curated import CuratedLake

    return CuratedLake(client("s3", patient=True), get_settings().lake_bucket)


def rollup_jobs(progress=None):  # type: ignore[no-untyped-def]  # returns RollupJobs
    from liveops.rollups.engines import EmbeddedEngine, Engine
    from liveops.rollups.jobs import RollupJobs
    from liveops.storage.lake import RawEventsReader

    settings = get_settings()
    curated = curated_lake()
    glue = client("glue", patient=True)
    engines: dict[str, Engine] = {
        "embedded": EmbeddedEngine(
            RawEventsReader(client("s3", patient=True), settings.lake_bucket), curated.assignments
        )
    }
    try:
        from liveops.rollups.athena_engine import AthenaEngine

        engines["athena"] = AthenaEngine.from_settings(settings)
    except ImportError:  # the Athena engine is optional where awswrangler is absent
        pass
    catalogs = _catalogs(glue, settings.glue_database)
    return RollupJobs(
        apps=apps_store(),
        state=job_state(),
        curated=curated,
        catalogs=catalogs,
        engines=engines,
        progress=progress or (lambda message: None),
        export_assignments=_assignment_exporter(curated, catalogs("assignments")),
    )


def _assignment_exporter(curated, catalog):  # type: ignore[no-untyped-def]
    """Copies an app's sticky assignments from DynamoDB to curated/assignments/ for the rollups."""
    import pyarrow as pa

    from liveops.rollups.schema import ASSIGNMENTS
    from liveops.storage.assignments_store import AssignmentsStore

    store = AssignmentsStore(client("dynamodb", patient=True), get_settings().assignments_table)

    def export(app_id: str) -> int:
        rows = [
            (experiment["id"], user, variant, at)
            for experiment in liveops_store().list_experiments(app_id)
            for user, variant, at in store.export(app_id, experiment["id"])
        ]
        table = pa.table(
            {
                "experiment_id": [r[0] for r in rows],
                "variant_id": [r[2] for r in rows],
                "user_hash": [r[1] for r in rows],
                "assigned_at": pa.array([r[3] for r in rows], pa.int64()).cast(
                    ASSIGNMENTS.field("assigned_at").type
                ),
            },
            schema=ASSIGNMENTS,
        )
        curated.write_assignments(app_id, table)
        catalog.register([([app_id], curated.assignments_location(app_id))])
        return table.num_rows

    return export


def export_s3():  # type: ignore[no-untyped-def]  # the S3 client `liveops export --s3` uploads with
    return client("s3")


def retention_job(progress=None, clock=None):  # type: ignore[no-untyped-def]  # returns RetentionJob
    import time

    from liveops.jobs.retention import RetentionJob
    from liveops.storage.assignments_store import AssignmentsStore
    from liveops.storage.lake_usage import LakeUsage

    settings = get_settings()
    catalogs = _catalogs(client("glue", patient=True), settings.glue_database)
    return RetentionJob(
        apps=apps_store(),
        runs=job_state(),
        lake=LakeUsage(client("s3", patient=True), settings.lake_bucket),
        # the raw events table's Glue name is a setting; the curated tables are named as in the lake
        catalogs=lambda table: catalogs(settings.raw_events_table if table == "raw_events" else table),
        experiments=liveops_store(),
        assignments=AssignmentsStore(client("dynamodb", patient=True), settings.assignments_table),
        assignments_export=curated_lake(),
        incidents=incident_service,
        archive=site_bucket,
        clock=clock or time.time,
        progress=progress or (lambda message: None),
    )


@lru_cache(maxsize=1)
def admin_services():  # type: ignore[no-untyped-def]  # returns AdminServices; pyarrow loads here
    from liveops.api.admin import AdminServices
    from liveops.api.metrics import MetricsBackend

    settings = get_settings()
    storage = _storage_stats(settings)
    return AdminServices(
        apps=apps_store(),
        tokens=tokens_store(),
        metrics=MetricsBackend(
            configs=apps_store(),
            lake=curated_lake(),
            usage=storage,
            prefixes=storage.prefixes,
            settings=settings,
            experiments=lambda app_id, experiment_id: liveops_store().get_experiment(app_id, experiment_id),
            last_cleanup=storage.last_cleanup,  # real runs only; the last dry run is shown apart
            latest_incidents=_latest_incidents,
        ),
        liveops=liveops_store(),
    )


def _storage_stats(settings):  # type: ignore[no-untyped-def]  # returns StorageStats
    """Every retention category's store for /v1/metrics/storage and `liveops storage`."""
    from liveops.services.storage_stats import StorageStats
    from liveops.storage.assignments_store import AssignmentsStore
    from liveops.storage.lake_usage import LakeUsage

    return StorageStats(
        LakeUsage(client("s3"), settings.lake_bucket),
        incidents_table=settings.incidents_table,
        incidents=incidents_store,
        assignments_table=settings.assignments_table,
        assignments=lambda: AssignmentsStore(client("dynamodb"), settings.assignments_table),
        experiments=liveops_store,
        site_bucket=settings.site_bucket,
        archive=site_bucket,
        runs=job_state,
    )


def _latest_incidents(app_id: str) -> list[dict[str, object]]:
    """The app's five newest incidents as the API shows them (the metrics overview)."""
    from liveops.models.incidents import public_incident

    return [public_incident(incident) for incident in incident_service().list(app_id, limit=5)]


@lru_cache(maxsize=1)
def liveops_store():  # type: ignore[no-untyped-def]  # returns LiveOpsStore
    from liveops.storage.liveops_store import LiveOpsStore

    return LiveOpsStore(client("dynamodb"), get_settings().liveops_table)


@lru_cache(maxsize=1)
def discord_rest():  # type: ignore[no-untyped-def]  # returns DiscordRest (bot token from SSM)
    """The Discord REST client as the bot; a failed token read is not cached (the next call retries)."""
    from liveops.discord.rest import DiscordRest
    from liveops.storage.secrets import read_secret

    settings = get_settings()
    token = read_secret(settings.discord_bot_token_param)
    return DiscordRest(base_url=settings.discord_api_base_url, token=token)


@lru_cache(maxsize=1)
def incidents_store():  # type: ignore[no-untyped-def]  # returns IncidentsStore
    from liveops.storage.incidents_store import IncidentsStore

    return IncidentsStore(client("dynamodb"), get_settings().incidents_table)


@lru_cache(maxsize=1)
def incident_service():  # type: ignore[no-untyped-def]  # returns IncidentService
    from liveops.services.incidents import IncidentService

    return IncidentService(incidents_store(), apps_store(), discord_rest)


@lru_cache(maxsize=1)
def figures():  # type: ignore[no-untyped-def]  # returns FiguresCollector (liveops.services.figures)
    from liveops.services.figures import FiguresCollector

    return FiguresCollector(admin_services().metrics, liveops_store(), incident_service())


@lru_cache(maxsize=1)
def site_bucket():  # type: ignore[no-untyped-def]  # returns SiteBucket (dashboards and their archive)
    from liveops.publish.html import render_archive_index
    from liveops.storage.site_bucket import SiteBucket

    return SiteBucket(client("s3", patient=True), get_settings().site_bucket, render_archive_index)


@lru_cache(maxsize=1)
def threshold_service():  # type: ignore[no-untyped-def]  # returns ThresholdService
    from liveops.services.thresholds import ThresholdService
    from liveops.storage.thresholds_store import ThresholdsStore

    return ThresholdService(apps_store(), ThresholdsStore(client("dynamodb"), get_settings().liveops_table))


@lru_cache(maxsize=1)
def client_service():  # type: ignore[no-untyped-def]  # returns ClientService
    from liveops.api.client import ClientService
    from liveops.storage.assignments_store import AssignmentsStore

    return ClientService(
        directory=app_directory(),
        liveops=liveops_store(),
        assignments=AssignmentsStore(client("dynamodb"), get_settings().assignments_table),
    )


@lru_cache(maxsize=1)
def app_directory():  # type: ignore[no-untyped-def]  # returns AppDirectory
    from liveops.storage.app_directory import AppDirectory
    from liveops.storage.secrets import read_secret

    settings = get_settings()
    return AppDirectory(
        apps_store(),
        ttl_seconds=settings.config_cache_seconds,
        master_secret=lambda: read_secret(settings.user_hash_secret_param),
    )


@lru_cache(maxsize=1)
def tokens_store():  # type: ignore[no-untyped-def]  # returns TokensStore
    from liveops.storage.tokens_store import TokensStore

    return TokensStore(client("dynamodb"), get_settings().apps_table)


def _catalogs(glue, database):  # type: ignore[no-untyped-def]
    """One PartitionCatalog per table, so each remembers the partitions it registered."""
    from liveops.storage.catalog import PartitionCatalog

    known: dict[str, PartitionCatalog] = {}

    def catalog(table: str) -> PartitionCatalog:
        if table not in known:
            known[table] = PartitionCatalog(glue, database, table)
        return known[table]

    return catalog


def job(name: str, progress=None):  # type: ignore[no-untyped-def]  # returns liveops.jobs.JobRunner
    """The runner of the scheduled job `name` (see liveops.jobs): runner(app_id | None, options)."""
    from liveops.jobs import JOBS, JobError

    if name in ("rollup", "rollup-daily"):
        rollups = rollup_jobs(progress)
        return lambda app_id, options: rollups.run(
            name, app_id, options.get("engine"), bool(options.get("dry_run"))
        )
    if name == "alerts":
        from liveops.jobs.alerts import AlertsJob

        services = (threshold_service(), incident_service(), incidents_store())
        return AlertsJob(apps_store(), *services, curated_lake(), job_state(), progress).run
    if name == "publish":
        from liveops.jobs.publish import PublishJob

        quiet = progress or (lambda message: None)
        # incidents are built only when a publish fails
        return PublishJob(apps_store(), figures(), site_bucket(), incident_service, progress=quiet).run
    if name == "retention":
        retention = retention_job(progress)
        return lambda app_id, options: retention.run(app_id, bool(options.get("dry_run")))
    if name == "weekly-report":
        from liveops.jobs.weekly_report import WeeklyReportJob

        return WeeklyReportJob(apps_store(), discord_report_data, discord_rest, job_state(), progress).run
    raise JobError(f"unknown job {name!r}; one of {', '.join(JOBS)}")


def discord_setting(name: str) -> str:
    """A setting of the Discord functions, read without pydantic: the front's first request must
    not import it (cold start). The value is the environment variable template.yaml sets
    (`DISCORD_PUBLIC_KEY_PARAM`, ...), as the Settings model reads it; where it is absent, the
    Settings model itself answers (its default), so names and defaults stay in one place."""
    import os

    value = os.environ.get(name.upper())
    if value is not None:
        return value
    return str(getattr(get_settings(), name))


@lru_cache(maxsize=1)
def discord_public_key() -> str:
    """The Discord application's Ed25519 public key (hex), read from SSM once per container.

    A failed read is not cached: the caller answers 503 and the next request tries again."""
    from botocore.exceptions import BotoCoreError, ClientError

    from liveops.errors import Unavailable

    name = discord_setting("discord_public_key_param")
    try:
        response = client("ssm").get_parameter(Name=name, WithDecryption=True)
    except (BotoCoreError, ClientError) as exc:
        raise Unavailable("the Discord public key could not be read; retry later") from exc
    return str(response["Parameter"]["Value"]).strip()


# moto cannot run Lambda code: the local stack (and tests) set this to run async invokes in-process
local_async_invoke: Callable[[str, dict[str, Any]], None] | None = None  # (function name, payload)


def invoke_async(function_name: str, payload: dict[str, Any]) -> None:
    """A Lambda async invoke (InvocationType Event): returns once Lambda has queued the payload."""
    if local_async_invoke is not None:
        local_async_invoke(function_name, payload)
        return
    import json

    client("lambda").invoke(
        FunctionName=function_name, InvocationType="Event", Payload=json.dumps(payload).encode()
    )


def defer_discord_interaction(interaction: dict[str, Any]) -> None:
    """Hand an interaction the Discord front deferred to the discord-worker function."""
    invoke_async(discord_setting("discord_worker_function"), {"interaction": interaction})


@lru_cache(maxsize=1)
def discord_report_data():  # type: ignore[no-untyped-def]  # returns ReportData; pyarrow loads here
    from liveops.discord.report_data import ReportData

    return ReportData(admin_services().metrics, incident_service())


def discord_webhook_rest():  # type: ignore[no-untyped-def]  # returns DiscordRest without the bot token
    """A Discord client for the interaction-token routes only (editing an original response): it
    needs neither the bot token nor valid settings, so the worker can report its own failures."""
    from liveops.discord.rest import DEFAULT_BASE_URL, DiscordRest

    try:
        base_url = discord_setting("discord_api_base_url")
    except Exception:  # the settings themselves are broken: Discord's own URL (the model's default)
        base_url = DEFAULT_BASE_URL
    return DiscordRest(base_url=base_url)


@lru_cache(maxsize=1)
def discord_worker():  # type: ignore[no-untyped-def]  # returns DiscordWorker
    from liveops.discord.worker import DiscordWorker

    return DiscordWorker(
        discord_rest(),
        apps_store(),
        incident_service,
        discord_report_data,
        config_cache_seconds=get_settings().config_cache_seconds,
    )


def reset() -> None:
    """Forget built services (the local stack and tests change the environment)."""
    apps_store.cache_clear()
    ingest_service.cache_clear()
    raw_event_writer.cache_clear()
    job_state.cache_clear()
    curated_lake.cache_clear()
    admin_services.cache_clear()
    liveops_store.cache_clear()
    client_service.cache_clear()
    app_directory.cache_clear()
    tokens_store.cache_clear()
    discord_public_key.cache_clear()
    discord_report_data.cache_clear()
    discord_worker.cache_clear()
    discord_rest.cache_clear()
    incidents_store.cache_clear()
    incident_service.cache_clear()
    figures.cache_clear()
    site_bucket.cache_clear()
    threshold_service.cache_clear()
