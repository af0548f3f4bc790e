"""Records the AWS calls each Lambda function makes while it runs in-process, as IAM sees them:
(function, IAM action, resource ARN). Dev/test tooling for the least-privilege check
(tests/integration/test_least_privilege.py): the recorded accesses are evaluated against the
function's policy in template.yaml (liveops.local.iam_policy).

The running function is liveops.local.runtime.current_function (a contextvar set by
LocalFunction.invoke). While recording, work submitted to a ThreadPoolExecutor runs in a copy of
the submitter's context (the lake readers use pools), and clients built outside liveops.aws
(Powertools Parameters, awswrangler) get the same hook as those built by liveops.aws.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from botocore.session import Session

from liveops import aws
from liveops.local.runtime import current_function
from liveops.local.template import LOCAL_ACCOUNT, LOCAL_REGION

# calls that need no IAM permission
_UNAUTHORISED = {("sts", "GetCallerIdentity")}


@dataclass(frozen=True)
class Access:
    """One permission a call needs: `action` on `resource` (a call may need several)."""

    function: str
    operation: str  # botocore's service:Operation, for messages
    action: str  # IAM action, e.g. s3:GetObject
    resource: str  # ARN


Needs = list[tuple[str, str]]  # (IAM action, resource ARN)


class Arns:
    """ARNs of the resources a request names (the local stack's account and region)."""

    def __init__(self, region: str = LOCAL_REGION, account: str = LOCAL_ACCOUNT) -> None:
        self.region, self.account = region, account

    def s3(self, bucket: str, key: str | None = None) -> str:
        return f"arn:aws:s3:::{bucket}" + ("" if key is None else f"/{key}")

    def table(self, name: str, index: str | None = None) -> str:
        if name.startswith("arn:"):
            return name
        arn = f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    def queue(self, url: str) -> str:
        # https://sqs.<region>.amazonaws.com/<account>/<name> (moto answers the same shape)
        account, name = urlparse(url).path.strip("/").split("/")[-2:]
        return f"arn:aws:sqs:{self.region}:{account}:{name}"

    def parameter(self, name: str) -> str:
        return f"arn:aws:ssm:{self.region}:{self.account}:parameter/{name.lstrip('/')}"

    def glue(self, database: str | None = None, table: str | None = None) -> list[str]:
        base = f"arn:aws:glue:{self.region}:{self.account}"
        arns = [f"{base}:catalog"]
        if database:
            arns.append(f"{base}:database/{database}")
        if database and table:
            arns.append(f"{base}:table/{database}/{table}")
        return arns

    def function(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"

    def workgroup(self, name: str) -> str:
        return f"arn:aws:athena:{self.region}:{self.account}:workgroup/{name}"

    def other(self, service: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:*"


_S3_OBJECT_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
}
_S3_BUCKET_ACTIONS = {
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
}
# the actions a transaction's items need (there is no TransactWriteItems/TransactGetItems permission)
_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


def needs(service: str, operation: str, params: dict[str, Any], arns: Arns) -> Needs:
    """The (IAM action, resource) pairs an API call with these parameters needs."""
    if (service, operation) in _UNAUTHORISED:
        return []
    handler = _BY_SERVICE.get(service)
    if handler is not None:
        return handler(operation, params, arns)
    # elsewhere the IAM action is the operation's name (true of SNS, Secrets Manager, STS...)
    return [(f"{service}:{operation}", arns.other(service))]


def _s3(operation: str, params: dict[str, Any], arns: Arns) -> Needs:
    bucket = params.get("Bucket", "")
    if operation in _S3_OBJECT_ACTIONS:
        return [(_S3_OBJECT_ACTIONS[operation], arns.s3(bucket, params["Key"]))]
    if operation == "DeleteObjects":
        return [("s3:DeleteObject", arns.s3(bucket, o["Key"])) for o in params["Delete"]["Objects"]]
    if operation == "CopyObject":
        source = params["CopySource"]
        if isinstance(source, str):
            source_bucket, source_key = unquote(source.lstrip("/")).split("/", 1)
        else:
            source_bucket, source_key = source["Bucket"], source["Key"]
        return [
            ("s3:GetObject", arns.s3(source_bucket, source_key)),
            ("s3:PutObject", arns.s3(bucket, params["Key"])),
        ]
    action = _S3_BUCKET_ACTIONS.get(operation, f"s3:{operation}")
    return [(action, arns.s3(bucket))]


def _dynamodb(operation: str, params: dict[str, Any], arns: Arns) -> Needs:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", arns.table(name)) for name in params["RequestItems"]]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found: Needs = []
        for item in params["TransactItems"]:
            ((kind, request),) = item.items()
            found.append((_TRANSACT_ACTIONS[kind], arns.table(request["TableName"])))
        return found
    return [(f"dynamodb:{operation}", arns.table(params["TableName"], params.get("IndexName")))]


def _sqs(operation: str, params: dict[str, Any], arns: Arns) -> Needs:
    # the batch forms are authorised by the single-message actions
    action = operation.removesuffix("Batch")
    if operation == "GetQueueUrl":
        return [("sqs:GetQueueUrl", f"arn:aws:sqs:{arns.region}:{arns.account}:{params['QueueName']}")]
    return [(f"sqs:{action}", arns.queue(params["QueueUrl"]))]


def _ssm(operation: str, params: dict[str, Any], arns: Arns) -> Needs:
    if operation == "GetParameters":
        return [("ssm:GetParameters", arns.parameter(name)) for name in params["Names"]]
    if operation == "GetParametersByPath":
        return [("ssm:GetParametersByPath", arns.parameter(params["Path"]))]
    return [(f"ssm:{operation}", arns.parameter(params["Name"]))]


def _glue(operation: str, params: dict[str, Any], arns: Arns) -> Needs:
    database = params.get("DatabaseName") or params.get("Name" if operation == "GetDatabase" else "")
    table = params.get("TableName") or (params.get("Name") if operation == "GetTable" else None)
    return [(f"glue:{operation}", arn) for arn in arns.glue(database, table)]


def _lambda(operation: str, params: dict[str, Any], arns: Arns) -> Needs:
    action = "lambda:InvokeFunction" if operation == "Invoke" else f"lambda:{operation}"
    return [(action, arns.function(params["FunctionName"]))]


class _Athena:
    """Athena calls after StartQueryExecution name only the query id: remember its workgroup."""

    workgroups: dict[str, str] = {}
    lock = threading.Lock()

    @classmethod
    def needs(cls, operation: str, params: dict[str, Any], arns: Arns) -> Needs:
        if "WorkGroup" in params:
            workgroup = params["WorkGroup"]
        elif "QueryExecutionId" in params:
            with cls.lock:
                workgroup = cls.workgroups.get(params["QueryExecutionId"], "primary")
        else:
            workgroup = "primary"
        return [(f"athena:{operation}", arns.workgroup(workgroup))]


_BY_SERVICE: dict[str, Callable[[str, dict[str, Any], Arns], Needs]] = {
    "s3": _s3,
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "ssm": _ssm,
    "glue": _glue,
    "lambda": _lambda,
    "athena": _Athena.needs,
}


class CallRecorder:
    """Use as a context manager around the scenario; then read `accesses` (or `by_function()`).

    Calls made outside any function (test setup, the local stack's own plumbing) are not kept."""

    def __init__(self, arns: Arns | None = None) -> None:
        self.arns = arns or Arns()
        self.accesses: list[Access] = []
        self._lock = threading.Lock()
        self._undo: list[Callable[[], None]] = []

    # ---------------------------------------------------------------- hooks
    def attach(self, client: Any) -> None:
        """Registers the recording hook on one botocore client (once)."""
        if getattr(client, "_liveops_iam_audit", None) is self:
            return
        client._liveops_iam_audit = self
        client.meta.events.register("before-parameter-build", self._before_call)
        client.meta.events.register("after-call.athena.StartQueryExecution", self._after_start_query)
        client.meta.events.register("after-call.s3", self._after_s3_call)

    def _before_call(self, params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        context = kwargs.get("context", {})
        if model.name == "StartQueryExecution":
            context["liveops_workgroup"] = params.get("WorkGroup")
        if "Bucket" in params:
            context["liveops_bucket"] = params["Bucket"]
        function = current_function.get()
        if function is None:
            return
        service = model.service_model.service_name
        found = needs(service, model.name, params, self.arns)
        with self._lock:
            self.accesses.extend(
                Access(function, f"{service}:{model.name}", action, resource) for action, resource in found
            )

    def _after_s3_call(self, http_response: Any, model: Any, **kwargs: Any) -> None:
        """S3 answers a read of a missing key with 404 only to a caller allowed s3:ListBucket on
        the bucket (403 otherwise): code that expects NoSuchKey needs that permission too."""
        function = current_function.get()
        if (
            function is None
            or model.name not in ("GetObject", "HeadObject")
            or http_response.status_code != 404
        ):
            return
        bucket = kwargs.get("context", {}).get("liveops_bucket", "")
        with self._lock:
            self.accesses.append(Access(function, f"s3:{model.name}", "s3:ListBucket", self.arns.s3(bucket)))

    @staticmethod
    def _after_start_query(http_response: Any, parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
        workgroup = kwargs.get("context", {}).get("liveops_workgroup")
        if "QueryExecutionId" in parsed and workgroup:
            with _Athena.lock:
                _Athena.workgroups[parsed["QueryExecutionId"]] = workgroup

    def record_async_invoke(self, function_name: str) -> None:
        """The local stack runs async invokes in-process (no Lambda API call): record the
        lambda:InvokeFunction the deployed function makes instead."""
        function = current_function.get()
        if function is not None:
            access = Access(
                function, "lambda:Invoke", "lambda:InvokeFunction", self.arns.function(function_name)
            )
            with self._lock:
                self.accesses.append(access)

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> CallRecorder:
        aws.add_client_hook(self.attach)
        self._undo.append(lambda: aws.remove_client_hook(self.attach))
        original_create = Session.create_client
        recorder = self

        def create_client(session: Session, *args: Any, **kwargs: Any) -> Any:
            client = original_create(session, *args, **kwargs)
            recorder.attach(client)
            return client

        setattr(Session, "create_client", create_client)  # noqa: B010 (a method swapped while recording)
        self._undo.append(lambda: setattr(Session, "create_client", original_create))
        original_submit = ThreadPoolExecutor.submit

        def submit(
            pool: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
        ) -> Future[Any]:
            return original_submit(pool, contextvars.copy_context().run, fn, *args, **kwargs)

        setattr(ThreadPoolExecutor, "submit", submit)  # noqa: B010
        self._undo.append(lambda: setattr(ThreadPoolExecutor, "submit", original_submit))
        return self

    def __exit__(self, *exc: object) -> None:
        while self._undo:
            self._undo.pop()()

    def by_function(self) -> dict[str, list[Access]]:
        grouped: dict[str, list[Access]] = {}
        for access in self.accesses:
            grouped.setdefault(access.function, []).append(access)
        return grouped


@contextmanager
def invoking(function: str) -> Iterator[None]:
    """Attribute the calls made inside the block to `function` (tests that call job code directly)."""
    token = current_function.set(function)
    try:
        yield
    finally:
        current_function.reset(token)
