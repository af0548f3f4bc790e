"""Creates the template's data resources in the local AWS stand-in (moto server).

Names and settings are read from template.yaml itself; nothing is listed twice. Resources that
moto cannot run (functions, the HTTP API, alarms, log groups) are served by the local stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from liveops.local.template import Context, Unresolved, resolve

ClientFactory = Callable[[str], Any]


def _bucket(props: dict[str, Any], ctx: Context, aws: ClientFactory, logical_id: str) -> None:
    name = props.get("BucketName") or f"{ctx.stack_name}-{logical_id.lower()}"
    aws("s3").create_bucket(Bucket=name)
    ctx.refs[logical_id] = name
    ctx.attrs[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
    website = props.get("WebsiteConfiguration")
    if website:
        aws("s3").put_bucket_website(
            Bucket=name,
            WebsiteConfiguration={"IndexDocument": {"Suffix": website.get("IndexDocument", "index.html")}},
        )


def _queue(props: dict[str, Any], ctx: Context, aws: ClientFactory, logical_id: str) -> None:
    name = props.get("QueueName") or f"{ctx.stack_name}-{logical_id}"
    attributes: dict[str, str] = {
        key: str(props[key])
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")
        if key in props
    }
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    url = aws("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    ctx.refs[logical_id] = url
    ctx.attrs[(logical_id, "Arn")] = f"arn:aws:sqs:{ctx.region}:{ctx.account_id}:{name}"
    ctx.attrs[(logical_id, "QueueName")] = name
    ctx.attrs[(logical_id, "QueueUrl")] = url


def _table(props: dict[str, Any], ctx: Context, aws: ClientFactory, logical_id: str) -> None:
    name = props.get("TableName") or f"{ctx.stack_name}-{logical_id}"
    kwargs: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    db = aws("dynamodb")
    db.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        db.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    ctx.refs[logical_id] = name
    ctx.attrs[(logical_id, "Arn")] = f"arn:aws:dynamodb:{ctx.region}:{ctx.account_id}:table/{name}"


def _glue_database(props: dict[str, Any], ctx: Context, aws: ClientFactory, logical_id: str) -> None:
    database = props["DatabaseInput"]
    aws("glue").create_database(DatabaseInput=database)
    ctx.refs[logical_id] = database["Name"]


def _glue_table(props: dict[str, Any], ctx: Context, aws: ClientFactory, logical_id: str) -> None:
    table = props["TableInput"]
    aws("glue").create_table(DatabaseName=props["DatabaseName"], TableInput=table)
    ctx.refs[logical_id] = table["Name"]


def _workgroup(props: dict[str, Any], ctx: Context, aws: ClientFactory, logical_id: str) -> None:
    config = props.get("WorkGroupConfiguration", {})
    result = config.get("ResultConfiguration", {})
    aws("athena").create_work_group(
        Name=props["Name"],
        Description=props.get("Description", ""),
        Configuration={"ResultConfiguration": {"OutputLocation": result.get("OutputLocation", "")}},
    )
    ctx.refs[logical_id] = props["Name"]


def _topic(props: dict[str, Any], ctx: Context, aws: ClientFactory, logical_id: str) -> None:
    name = props.get("TopicName") or f"{ctx.stack_name}-{logical_id}"
    ctx.refs[logical_id] = aws("sns").create_topic(Name=name)["TopicArn"]


def _parameter(props: dict[str, Any], ctx: Context, aws: ClientFactory, logical_id: str) -> None:
    aws("ssm").put_parameter(
        Name=props["Name"], Value=str(props["Value"]), Type=props.get("Type", "String"), Overwrite=True
    )
    ctx.refs[logical_id] = props["Name"]


CREATORS: dict[str, Callable[[dict[str, Any], Context, ClientFactory, str], None]] = {
    "AWS::S3::Bucket": _bucket,
    "AWS::SQS::Queue": _queue,
    "AWS::DynamoDB::Table": _table,
    "AWS::Glue::Database": _glue_database,
    "AWS::Glue::Table": _glue_table,
    "AWS::Athena::WorkGroup": _workgroup,
    "AWS::SNS::Topic": _topic,
    "AWS::SSM::Parameter": _parameter,
}


def provision(template: dict[str, Any], ctx: Context, aws: ClientFactory) -> Context:
    """Create every data resource of the template, dependencies first; fills ctx.refs/attrs."""
    resources: dict[str, Any] = template.get("Resources", {})
    pending = {name for name, res in resources.items() if res.get("Type") in CREATORS}
    # resources the local stack serves itself still need a Ref value for environment variables
    for name, res in resources.items():
        if res.get("Type") not in CREATORS:
            ctx.refs.setdefault(name, f"local-{name}")
    while pending:
        progressed = False
        for name in sorted(pending):
            resource = resources[name]
            try:
                props = resolve(resource.get("Properties", {}), ctx)
            except Unresolved:
                continue
            CREATORS[resource["Type"]](props, ctx, aws, name)
            pending.discard(name)
            progressed = True
        if not progressed:
            raise RuntimeError(f"cannot resolve references among: {', '.join(sorted(pending))}")
    return ctx
