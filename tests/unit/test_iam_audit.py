"""How a recorded AWS call translates into the IAM permissions it needs, and how grants match."""

from __future__ import annotations

from typing import Any

import pytest

from liveops.local.iam_audit import Access, Arns, needs
from liveops.local.iam_policy import Grant, denied, unused

ARNS = Arns("us-east-1", "123456789012")
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/"


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        ("s3", "HeadObject", {"Bucket": "b", "Key": "k/1"}, [("s3:GetObject", "arn:aws:s3:::b/k/1")]),
        ("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "x/"}, [("s3:ListBucket", "arn:aws:s3:::b")]),
        (
            "s3",
            "DeleteObjects",
            {"Bucket": "b", "Delete": {"Objects": [{"Key": "a"}, {"Key": "c"}]}},
            [("s3:DeleteObject", "arn:aws:s3:::b/a"), ("s3:DeleteObject", "arn:aws:s3:::b/c")],
        ),
        (
            "dynamodb",
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": "t1", "Item": {}}},
                    {"Delete": {"TableName": "t1", "Key": {}}},
                    {"ConditionCheck": {"TableName": "t2", "Key": {}}},
                ]
            },
            [
                ("dynamodb:PutItem", TABLE + "t1"),
                ("dynamodb:DeleteItem", TABLE + "t1"),
                ("dynamodb:ConditionCheckItem", TABLE + "t2"),
            ],
        ),
        (
            "dynamodb",
            "Query",
            {"TableName": "t", "IndexName": "by-x"},
            [("dynamodb:Query", TABLE + "t/index/by-x")],
        ),
        (
            "sqs",
            "SendMessageBatch",
            {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/events", "Entries": []},
            [("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:events")],
        ),
        (
            "ssm",
            "GetParameter",
            {"Name": "/liveops/secret"},
            [("ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/liveops/secret")],
        ),
        (
            "glue",
            "GetTable",
            {"DatabaseName": "db", "Name": "t"},
            [
                ("glue:GetTable", "arn:aws:glue:us-east-1:123456789012:catalog"),
                ("glue:GetTable", "arn:aws:glue:us-east-1:123456789012:database/db"),
                ("glue:GetTable", "arn:aws:glue:us-east-1:123456789012:table/db/t"),
            ],
        ),
        (
            "lambda",
            "Invoke",
            {"FunctionName": "worker"},
            [("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:worker")],
        ),
        ("sts", "GetCallerIdentity", {}, []),
    ],
)
def test_calls_need_the_permissions_iam_checks(
    service: str, operation: str, params: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert needs(service, operation, params, ARNS) == expected


def test_grants_match_with_iam_wildcards_and_report_both_directions() -> None:
    grants = [
        Grant("F", "ReadCurated", "s3:GetObject", "arn:aws:s3:::lake/curated/*"),
        Grant("F", "Lake", "S3:List*", "arn:aws:s3:::lake"),
        Grant("F", "Spare", "s3:PutObject", "arn:aws:s3:::lake/raw/*"),
    ]
    read = Access("F", "s3:GetObject", "s3:GetObject", "arn:aws:s3:::lake/curated/x/part-0.parquet")
    listing = Access("F", "s3:ListObjectsV2", "s3:ListBucket", "arn:aws:s3:::lake")
    outside = Access("F", "s3:GetObject", "s3:GetObject", "arn:aws:s3:::lake/raw/x")
    assert denied([read, listing, outside, outside], grants) == [outside]
    assert unused(grants, [read, listing]) == [grants[2]]
