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
    )


def reset() -> None:
    """Forget built services (the local stack and tests change the environment)."""
    apps_store.cache_clear()
    ingest_service.cache_clear()
    raw_event_writer.cache_clear()
