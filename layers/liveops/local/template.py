"""Reads template.yaml (the single source of truth for resources, functions, routes, schedules)
and resolves the intrinsic functions the local stack and the CLI need."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
LOCAL_STACK_NAME = "liveops-local"
LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"


class _CfnLoader(yaml.SafeLoader):
    """PyYAML loader that turns CloudFormation short tags into their long form."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)


@lru_cache(maxsize=1)
def project_template() -> dict[str, Any]:
    return load_template()


@dataclass
class Context:
    """What Ref/GetAtt/Sub resolve against."""

    stack_name: str = LOCAL_STACK_NAME
    account_id: str = LOCAL_ACCOUNT
    region: str = LOCAL_REGION
    parameters: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)
    attrs: dict[tuple[str, str], Any] = field(default_factory=dict)

    def pseudo(self, name: str) -> Any:
        known = {
            "AWS::StackName": self.stack_name,
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        if name not in known:
            raise Unresolved(name)
        return known[name]


class Unresolved(KeyError):
    """A reference to something the context does not know (yet)."""


def resolve(value: Any, ctx: Context) -> Any:
    if isinstance(value, list):
        return [resolve(v, ctx) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return _ref(arg, ctx)
        if key == "Fn::GetAtt":
            name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
            if (name, attr) not in ctx.attrs:
                raise Unresolved(f"{name}.{attr}")
            return ctx.attrs[(name, attr)]
        if key == "Fn::Sub":
            return _sub(arg, ctx)
        if key == "Fn::Join":
            sep, items = arg
            return sep.join(str(resolve(i, ctx)) for i in items)
        if key == "Fn::Select":
            index, items = arg
            return resolve(items, ctx)[int(resolve(index, ctx))]
    return {k: resolve(v, ctx) for k, v in value.items()}


def _ref(name: str, ctx: Context) -> Any:
    if name.startswith("AWS::"):
        return ctx.pseudo(name)
    if name in ctx.parameters:
        return ctx.parameters[name]
    if name in ctx.refs:
        return ctx.refs[name]
    raise Unresolved(name)


def _sub(arg: Any, ctx: Context) -> str:
    text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
    local = {k: resolve(v, ctx) for k, v in extra.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in local:
            return str(local[name])
        if "." in name and not name.startswith("AWS::"):
            res, attr = name.split(".", 1)
            if (res, attr) not in ctx.attrs:
                raise Unresolved(name)
            return str(ctx.attrs[(res, attr)])
        return str(_ref(name, ctx))

    # ${!Literal} is CloudFormation's escape for a literal ${Literal}
    return re.sub(r"\$\{([^}!]+)\}", replace, text).replace("${!", "${")


def parameter_defaults(template: dict[str, Any]) -> dict[str, Any]:
    return {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}


@dataclass(frozen=True)
class HttpRoute:
    method: str  # GET, POST... or ANY
    path: str  # /v1/things/{id} or /v1/{proxy+}
    function: str  # logical id

    def pattern(self) -> re.Pattern[str]:
        regex = ""
        for part in re.split(r"(\{[^}]+\})", self.path):
            if part.startswith("{") and part.endswith("+}"):
                regex += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                regex += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                regex += re.escape(part)
        return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str  # module.function
    environment: dict[str, Any]
    events: dict[str, dict[str, Any]]
    timeout_seconds: float = 3.0


def functions(template: dict[str, Any]) -> list[FunctionSpec]:
    global_function = template.get("Globals", {}).get("Function", {})
    globals_env = global_function.get("Environment", {}).get("Variables", {})
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        env = {**globals_env, **props.get("Environment", {}).get("Variables", {})}
        found.append(
            FunctionSpec(
                logical_id=logical_id,
                code_dir=PROJECT_ROOT / props["CodeUri"],
                handler=props["Handler"],
                environment=env,
                events=props.get("Events", {}),
                timeout_seconds=float(props.get("Timeout", global_function.get("Timeout", 3))),
            )
        )
    return found


def http_routes(template: dict[str, Any]) -> list[HttpRoute]:
    routes = []
    for spec in functions(template):
        for event in spec.events.values():
            if event.get("Type") == "HttpApi":
                props = event.get("Properties", {})
                routes.append(HttpRoute(props.get("Method", "ANY").upper(), props["Path"], spec.logical_id))
    # as in API Gateway: static paths first, then parameterised ones, greedy {proxy+} paths last
    return sorted(routes, key=lambda r: ("+}" in r.path, r.path.count("{"), -len(r.path)))
