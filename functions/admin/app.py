"""Lambda handler: /v1/admin/*, /v1/metrics/* (bearer tokens with roles) and /v1/openapi.json."""

from functools import lru_cache

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveops.api.admin import AdminServices, build_app, metrics
from liveops.api.http import entrypoint

logger = Logger(service="liveops")
tracer = Tracer(service="liveops")


@lru_cache(maxsize=1)
def services() -> AdminServices:
    """Stores and clients, built on the first request (the import phase stays short)."""
    from liveops import aws, wiring
    from liveops.api.metrics import MetricsBackend
    from liveops.settings import get_settings
    from liveops.storage.curated import CuratedLake
    from liveops.storage.lake_usage import LakeUsage, category_prefixes
    from liveops.storage.tokens_store import TokensStore

    settings = get_settings()
    s3 = aws.client("s3")
    return AdminServices(
        apps=wiring.apps_store(),
        tokens=TokensStore(aws.client("dynamodb"), settings.apps_table),
        metrics=MetricsBackend(
            configs=wiring.apps_store(),
            lake=CuratedLake(s3, settings.lake_bucket),
            usage=LakeUsage(s3, settings.lake_bucket),
            prefixes=category_prefixes,
            settings=settings,
        ),
    )


app = build_app(services)
_route = entrypoint(app)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        return _route(event, context)
    finally:
        if metrics.metric_set:  # flushed only when something was counted (an empty flush warns)
            metrics.flush_metrics()
