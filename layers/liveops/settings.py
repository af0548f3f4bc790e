"""The one settings model, read from the environment (template.yaml sets these on every function)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # resource names: Refs in template.yaml, resolved by CloudFormation or by the local stack
    lake_bucket: str = ""
    events_queue_url: str = ""
    apps_table: str = ""
    idempotency_table: str = ""
    glue_database: str = ""
    raw_events_table: str = "raw_events"
    athena_workgroup: str = ""
    user_hash_secret_param: str = "/liveops/user-hash-secret"
    discord_public_key_param: str = "/liveops/discord/public-key"
    jobs_table: str = ""
    liveops_table: str = ""
    assignments_table: str = ""
    incidents_table: str = ""
    site_bucket: str = ""
    discord_bot_token_param: str = "/liveops/discord/bot-token"
    discord_api_base_url: str = "https://discord.com/api/v10"
    # the discord-worker function the front hands deferred interactions to (set on DiscordFunction only)
    discord_worker_function: str = ""

    # metrics API limits
    metrics_max_range_days: int = 120
    metrics_kanon_min: int = 10
    export_max_rows: int = 100_000

    # ingestion limits (the HTTP API contract)
    max_body_bytes: int = MIB
    max_events_per_batch: int = 500
    max_payload_bytes: int = 16 * 1024
    max_future_skew_hours: int = 24
    idempotency_ttl_seconds: int = 24 * 3600
    # how long a Lambda container trusts its cached app configs and key lookups
    config_cache_seconds: float = 60.0
    # largest SQS message body the ingest function sends (SQS allows 256 KiB per call)
    queue_message_max_bytes: int = 240 * 1024


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
