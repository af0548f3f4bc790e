"""How the CLI reaches a liveops deployment: the running local stack (its dev.json) or, with
--stack, a deployed CloudFormation stack whose resource names are resolved from template.yaml."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from liveops import aws, wiring
from liveops.local.template import Context, functions, parameter_defaults, project_template, resolve
from liveops.settings import get_settings


class ConnectError(Exception):
    """The CLI cannot find a deployment to talk to."""


def read_state(state_dir: Path) -> dict[str, Any]:
    path = state_dir / "dev.json"
    if not path.exists():
        raise ConnectError(
            f"no local stack state at {path}: start one with `make dev` (or `liveops dev`), "
            "or pass --stack NAME for a deployed stack"
        )
    try:
        return dict(json.loads(path.read_text()))
    except ValueError as exc:
        raise ConnectError(f"{path} is not valid JSON: {exc}") from None


def environment_from_stack(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """Resolve the functions' environment from a deployed stack's physical resource ids."""
    template = project_template()
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    ctx = Context(
        stack_name=stack_name,
        region=cloudformation.meta.region_name,
        account_id=stack["StackId"].split(":")[4],
    )
    ctx.parameters = {
        **parameter_defaults(template),
        **{p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])},
    }
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            ctx.refs[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
    env: dict[str, str] = {}
    for spec in functions(template):
        env.update({k: str(v) for k, v in resolve(spec.environment, ctx).items()})
    return env


def connect(state_dir: Path, stack: str | None) -> dict[str, Any]:
    """Point settings and AWS clients at the target; returns the local state (empty for --stack)."""
    if stack:
        env = environment_from_stack(aws.client("cloudformation"), stack)
        state: dict[str, Any] = {}
    else:
        state = read_state(state_dir)
        env = dict(state.get("environment", {}))
        env.update(
            {
                "AWS_ENDPOINT_URL": state["aws_endpoint_url"],
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": state.get("region", "us-east-1"),
            }
        )
    os.environ.update(env)
    get_settings.cache_clear()
    aws.reset_clients()
    wiring.reset()
    return state
