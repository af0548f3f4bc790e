"""Builds the services the function handlers use from settings and AWS clients (the one place
where clients meet adapters). Kept free of pyarrow so that client-facing functions start fast."""

from __future__ import annotations

from functools import lru_cache

from liveops.aws import client
from liveops.settings import get_settings
from liveops.storage.apps_store import AppsStore


@lru_cache(maxsize=1)
def apps_store() -> AppsStore:
    return AppsStore(client("dynamodb"), get_settings().apps_table)


@lru_cache(maxsize=1)
def ingest_service():  # type: ignore[no-untyped-def]  # returns IngestService; imported lazily
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from liveops.api.ingest import IngestService
    from liveops.storage.app_directory import AppDirectory
    from liveops.storage.event_queue import EventQueue
    from liveops.storage.secrets import read_secret

    settings = get_settings()
    return IngestService(
        directory=AppDirectory(
            apps_store(),
            ttl_seconds=settings.config_cache_seconds,
            master_secret=lambda: read_secret(settings.user_hash_secret_param),
        ),
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
    return RollupJobs(
        apps=apps_store(),
        state=job_state(),
        curated=curated,
        catalogs=_catalogs(glue, settings.glue_database),
        engines=engines,
        progress=progress or (lambda message: None),
    )


@lru_cache(maxsize=1)
def admin_services():  # type: ignore[no-untyped-def]  # returns AdminServices; pyarrow loads here
    from liveops.api.admin import AdminServices
    from liveops.api.metrics import MetricsBackend
    from liveops.storage.lake_usage import LakeUsage, category_prefixes

    settings = get_settings()
    s3 = client("s3")
    return AdminServices(
        apps=apps_store(),
        tokens=tokens_store(),
        metrics=MetricsBackend(
            configs=apps_store(),
            lake=curated_lake(),
            usage=LakeUsage(s3, settings.lake_bucket),
            prefixes=category_prefixes,
            settings=settings,
        ),
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


def reset() -> None:
    """Forget built services (the local stack and tests change the environment)."""
    apps_store.cache_clear()
    ingest_service.cache_clear()
    raw_event_writer.cache_clear()
    job_state.cache_clear()
    curated_lake.cache_clear()
    admin_services.cache_clear()
    tokens_store.cache_clear()
