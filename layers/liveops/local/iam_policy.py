"""Each function's IAM policy as template.yaml declares it, expanded to (action, resource) grants:
inline Statement blocks and SAM policy templates (from aws-sam-translator's own
policy_templates.json), with !Ref/!Sub/!GetAtt resolved against the local stack's Context so that
the ARNs are those of the moto resources. Dev/test tooling for the least-privilege check; only
Allow statements with Action/Resource are supported (anything else is refused, not guessed).

The policies SAM adds on its own (AWSLambdaBasicExecutionRole for logs, X-Ray writes with
Tracing: Active, the SQS poller's AWSLambdaSQSQueueExecutionRole) are used by the Lambda service,
not by the function's code, and are not part of this check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from liveops.local.iam_audit import Access, Arns
from liveops.local.template import Context, resolve


@dataclass(frozen=True)
class Grant:
    """One action pattern on one resource pattern, from statement `source` of `function`."""

    function: str
    source: str  # the statement's Sid, or the SAM policy template's name
    action: str  # IAM wildcards allowed (* and ?)
    resource: str

    def allows(self, access: Access) -> bool:
        return _matches(self.action, access.action, ignore_case=True) and _matches(
            self.resource, access.resource
        )


class UnsupportedPolicy(ValueError):
    """A policy form this check does not evaluate (managed policies, Deny, NotAction...)."""


@cache
def _processor() -> Any:
    from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

    return PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())


def with_function_arns(template: dict[str, Any], ctx: Context) -> Context:
    """The local stack serves functions itself: give them the ARNs their Refs would have."""
    arns = Arns(ctx.region, ctx.account_id)
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            name = str(ctx.refs.get(logical_id, f"local-{logical_id}"))
            ctx.attrs.setdefault((logical_id, "Arn"), arns.function(name))
    return ctx


def function_grants(template: dict[str, Any], ctx: Context) -> dict[str, list[Grant]]:
    """Every AWS::Serverless::Function's grants, by logical id (functions without Policies: [])."""
    ctx = with_function_arns(template, ctx)
    grants: dict[str, list[Grant]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        policies = resource.get("Properties", {}).get("Policies", [])
        if not isinstance(policies, list):
            policies = [policies]
        grants[logical_id] = [
            grant for policy in policies for grant in _policy_grants(logical_id, policy, ctx)
        ]
    return grants


def _policy_grants(function: str, policy: Any, ctx: Context) -> list[Grant]:
    if isinstance(policy, str):
        raise UnsupportedPolicy(f"{function}: managed policy {policy!r} is not evaluated; use statements")
    if not isinstance(policy, dict) or len(policy) != 1:
        raise UnsupportedPolicy(f"{function}: unexpected policy {policy!r}")
    ((name, value),) = policy.items()
    if name == "Statement":
        statements = value if isinstance(value, list) else [value]
        return [g for statement in statements for g in _statement_grants(function, statement, None, ctx)]
    processor = _processor()
    if not processor.has(name):
        raise UnsupportedPolicy(f"{function}: {name!r} is neither a Statement nor a SAM policy template")
    document = processor.convert(name, value or {})
    return [
        g for statement in document["Statement"] for g in _statement_grants(function, statement, name, ctx)
    ]


def _statement_grants(
    function: str, statement: dict[str, Any], source: str | None, ctx: Context
) -> list[Grant]:
    unsupported = set(statement) - {"Sid", "Effect", "Action", "Resource"}
    if statement.get("Effect") != "Allow" or unsupported:
        raise UnsupportedPolicy(f"{function}: only Allow with Action and Resource is evaluated: {statement}")
    resolved = resolve(statement, ctx)
    actions = _as_list(resolved["Action"])
    resources = _as_list(resolved["Resource"])
    label = source or resolved.get("Sid") or "Statement"
    return [Grant(function, label, str(a), str(r)) for a in actions for r in resources]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _compiled(pattern, ignore_case).fullmatch(value) is not None


@cache
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


def denied(accesses: list[Access], grants: list[Grant]) -> list[Access]:
    """The accesses no grant allows (each would be an AccessDenied once deployed), without repeats."""
    missing: dict[tuple[str, str], Access] = {}
    for access in accesses:
        if not any(grant.allows(access) for grant in grants):
            missing.setdefault((access.action, access.resource), access)
    return list(missing.values())


def unused(grants: list[Grant], accesses: list[Access]) -> list[Grant]:
    """The grants no recorded access needed."""
    return [grant for grant in grants if not any(grant.allows(access) for access in accesses)]
