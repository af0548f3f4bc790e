"""The liveops layer's requirements (layers/requirements.txt, what `make package` installs for
arm64) follow pyproject's runtime dependencies, and never pull in what the AWS-managed
SDK-for-pandas layer (pyarrow, pandas, awswrangler) or the Lambda runtime (boto3) provide."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FROM_SDK_PANDAS_LAYER = {"pyarrow", "pandas", "numpy", "awswrangler"}
FROM_LAMBDA_RUNTIME = {"boto3", "botocore", "s3transfer"}


def name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def layer_requirements() -> set[str]:
    lines = (ROOT / "layers" / "requirements.txt").read_text().splitlines()
    return {name(line) for line in lines if line.strip() and not line.startswith("#")}


def test_layer_requirements_are_the_runtime_dependencies_not_provided_otherwise() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {name(r) for r in project["dependencies"]}
    assert layer_requirements() == runtime - FROM_SDK_PANDAS_LAYER - FROM_LAMBDA_RUNTIME


def test_the_layer_dependency_closure_has_no_heavy_packages() -> None:
    seen: set[str] = set()
    todo = list(layer_requirements())
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        seen.add(package)
        for requirement in metadata.requires(package) or []:
            if "extra ==" not in requirement:  # extras are not installed by the layer
                todo.append(name(requirement))
    assert not seen & (FROM_SDK_PANDAS_LAYER | FROM_LAMBDA_RUNTIME), sorted(seen)
