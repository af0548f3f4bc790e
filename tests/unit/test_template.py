"""Unit tests for the template reader and intrinsic resolver (local/template.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from liveops.local.template import (
    LOCAL_ACCOUNT,
    LOCAL_REGION,
    LOCAL_STACK_NAME,
    PROJECT_ROOT,
    TEMPLATE_PATH,
    Context,
    HttpRoute,
    Unresolved,
    functions,
    http_routes,
    load_template,
    parameter_defaults,
    project_template,
    resolve,
)
from liveops.settings import Settings

TEMPLATE = load_template()
RESOURCE_SUFFIXES = ("_bucket", "_table", "_queue_url", "_database", "_workgroup", "_param")


def ctx() -> Context:
    return Context(
        parameters={"Stage": "dev", "Names": "a,b"},
        refs={"Bucket": "my-bucket", "Queue": "https://sqs/queue"},
        attrs={("Bucket", "Arn"): "arn:aws:s3:::my-bucket", ("Queue", "QueueName"): "queue"},
    )


# --------------------------------------------------------------------------- loading


def test_template_loads_with_short_tags_in_long_form() -> None:
    assert TEMPLATE_PATH == PROJECT_ROOT / "template.yaml" and TEMPLATE_PATH.is_file()
    assert TEMPLATE["Transform"] == "AWS::Serverless-2016-10-31"
    resources = TEMPLATE["Resources"]
    assert {"IngestFunction", "WriterFunction", "EventsQueue", "LakeBucket", "RawEventsTable"} <= set(
        resources
    )
    ingest = resources["IngestFunction"]["Properties"]
    assert ingest["Events"]["TelemetryBatch"]["Properties"]["ApiId"] == {"Ref": "HttpApi"}
    writer = resources["WriterFunction"]["Properties"]
    # !GetAtt A.B becomes a two-item list
    assert writer["Events"]["EventsQueue"]["Properties"]["Queue"] == {"Fn::GetAtt": ["EventsQueue", "Arn"]}
    assert resources["EventsQueue"]["Properties"]["QueueName"] == {"Fn::Sub": "${AWS::StackName}-events"}


def test_project_template_is_cached() -> None:
    assert project_template() is project_template()
    assert project_template() == TEMPLATE


def test_load_template_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  A:\n"
        "    Properties:\n"
        "      X: !Ref B\n"
        '      Y: !Sub ["${Z}-1", {Z: !Ref C}]\n'
        '      W: !Join [",", [a, !Ref B]]\n'
        "      V: !GetAtt [B, Arn]\n"
        "      U: !Select [1, [x, y]]\n",
        encoding="utf-8",
    )
    props = load_template(path)["Resources"]["A"]["Properties"]
    assert props == {
        "X": {"Ref": "B"},
        "Y": {"Fn::Sub": ["${Z}-1", {"Z": {"Ref": "C"}}]},
        "W": {"Fn::Join": [",", ["a", {"Ref": "B"}]]},
        "V": {"Fn::GetAtt": ["B", "Arn"]},
        "U": {"Fn::Select": [1, ["x", "y"]]},
    }


def test_parameter_defaults() -> None:
    defaults = parameter_defaults(TEMPLATE)
    assert defaults["UserHashSecretParameterName"] == "/liveops/user-hash-secret"
    assert defaults["LogLevel"] == "INFO"
    assert parameter_defaults({}) == {}
    assert parameter_defaults({"Parameters": {"P": {"Type": "String"}}}) == {"P": None}


# --------------------------------------------------------------------------- resolve


def test_ref_parameters_pseudo_parameters_and_resources() -> None:
    c = ctx()
    assert resolve({"Ref": "Stage"}, c) == "dev"
    assert resolve({"Ref": "Bucket"}, c) == "my-bucket"
    assert resolve({"Ref": "AWS::Region"}, c) == LOCAL_REGION
    assert resolve({"Ref": "AWS::AccountId"}, c) == LOCAL_ACCOUNT
    assert resolve({"Ref": "AWS::StackName"}, c) == LOCAL_STACK_NAME
    assert resolve({"Ref": "AWS::Partition"}, c) == "aws"
    assert resolve({"Ref": "AWS::URLSuffix"}, c) == "amazonaws.com"
    assert resolve({"Ref": "AWS::NoValue"}, c) is None
    custom = Context(stack_name="s", account_id="1", region="eu-west-1")
    assert resolve({"Ref": "AWS::Region"}, custom) == "eu-west-1"
    assert resolve({"Ref": "AWS::StackName"}, custom) == "s"


def test_parameters_shadow_resources() -> None:
    c = Context(parameters={"X": "param"}, refs={"X": "resource"})
    assert resolve({"Ref": "X"}, c) == "param"


def test_unknown_ref_is_unresolved() -> None:
    with pytest.raises(Unresolved) as info:
        resolve({"Ref": "Nope"}, ctx())
    assert isinstance(info.value, KeyError)
    assert "Nope" in str(info.value)


def test_get_att_list_and_string_forms() -> None:
    c = ctx()
    assert resolve({"Fn::GetAtt": ["Bucket", "Arn"]}, c) == "arn:aws:s3:::my-bucket"
    assert resolve({"Fn::GetAtt": "Queue.QueueName"}, c) == "queue"
    with pytest.raises(Unresolved, match=r"Bucket\.DomainName"):
        resolve({"Fn::GetAtt": ["Bucket", "DomainName"]}, c)
    with pytest.raises(Unresolved):
        resolve({"Fn::GetAtt": "Nope.Arn"}, c)


def test_sub_with_refs_attrs_and_pseudo_parameters() -> None:
    c = ctx()
    text = "arn:${AWS::Partition}:s3:${AWS::Region}:${AWS::AccountId}:${Bucket}/${Stage}/${Bucket.Arn}"
    assert resolve({"Fn::Sub": text}, c) == (
        f"arn:aws:s3:{LOCAL_REGION}:{LOCAL_ACCOUNT}:my-bucket/dev/arn:aws:s3:::my-bucket"
    )
    assert resolve({"Fn::Sub": "no placeholders"}, c) == "no placeholders"
    assert resolve({"Fn::Sub": "${AWS::StackName}-events"}, c) == f"{LOCAL_STACK_NAME}-events"


def test_sub_with_a_variables_map() -> None:
    c = ctx()
    value = {
        "Fn::Sub": [
            "${Name}-${Stage}-${Arn}-${Bucket}",
            {"Name": {"Ref": "Queue"}, "Arn": "literal", "Stage": "overridden"},
        ]
    }
    assert resolve(value, c) == "https://sqs/queue-overridden-literal-my-bucket"
    nested = {"Fn::Sub": ["${X}", {"X": {"Fn::GetAtt": ["Bucket", "Arn"]}}]}
    assert resolve(nested, c) == "arn:aws:s3:::my-bucket"


def test_sub_unknowns_are_unresolved() -> None:
    with pytest.raises(Unresolved):
        resolve({"Fn::Sub": "${Missing}"}, ctx())
    with pytest.raises(Unresolved, match=r"Bucket\.Nope"):
        resolve({"Fn::Sub": "${Bucket.Nope}"}, ctx())
    with pytest.raises(Unresolved):
        resolve({"Fn::Sub": ["${A}", {"A": {"Ref": "Missing"}}]}, ctx())


def test_join_and_select() -> None:
    c = ctx()
    assert resolve(
        {"Fn::Join": ["-", ["a", {"Ref": "Stage"}, {"Fn::GetAtt": ["Queue", "QueueName"]}]]}, c
    ) == ("a-dev-queue")
    assert resolve({"Fn::Join": ["", []]}, c) == ""
    assert resolve({"Fn::Join": [",", [1, 2]]}, c) == "1,2"
    assert resolve({"Fn::Select": [1, ["x", {"Ref": "Stage"}]]}, c) == "dev"
    assert resolve({"Fn::Select": ["0", [{"Ref": "Bucket"}]]}, c) == "my-bucket"
    with pytest.raises(Unresolved):
        resolve({"Fn::Join": ["", [{"Ref": "Missing"}]]}, c)


def test_resolve_recurses_through_plain_structures() -> None:
    c = ctx()
    value: dict[str, Any] = {
        "A": [{"Ref": "Stage"}, 1, None, True, {"B": {"Fn::Sub": "${Bucket}"}}],
        "Nested": {"Only": {"Ref": "Bucket"}},
        "Ref": "Stage",  # two keys: not an intrinsic
    }
    assert resolve(value, c) == {
        "A": ["dev", 1, None, True, {"B": "my-bucket"}],
        "Nested": {"Only": "my-bucket"},
        "Ref": "Stage",
    }
    assert resolve("plain", c) == "plain" and resolve(3, c) == 3
    assert resolve({"Other": "x"}, c) == {"Other": "x"}


def test_sub_escape_renders_a_literal_placeholder() -> None:
    assert (
        resolve({"Fn::Sub": "echo ${!HOME} in ${AWS::Region}"}, ctx()) == f"echo ${{HOME}} in {LOCAL_REGION}"
    )


def test_unknown_pseudo_parameter_is_unresolved() -> None:
    with pytest.raises(Unresolved):
        resolve({"Ref": "AWS::NotificationARNs"}, ctx())


def test_globals_environment_resolves_with_a_full_context() -> None:
    refs = {name: f"local-{name}" for name in TEMPLATE["Resources"]}
    c = Context(parameters=parameter_defaults(TEMPLATE), refs=refs)
    env = resolve(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"], c)
    assert env["LAKE_BUCKET"] == "local-LakeBucket"
    assert env["EVENTS_QUEUE_URL"] == "local-EventsQueue"
    assert env["USER_HASH_SECRET_PARAM"] == "/liveops/user-hash-secret"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert all(isinstance(v, str) for v in env.values())


# --------------------------------------------------------------------------- functions and routes


def test_functions_found_with_their_code() -> None:
    specs = {spec.logical_id: spec for spec in functions(TEMPLATE)}
    assert {"IngestFunction", "WriterFunction"} <= set(specs)
    for name in ("IngestFunction", "WriterFunction"):
        spec = specs[name]
        assert spec.code_dir.is_dir(), spec.code_dir
        module, handler = spec.handler.rsplit(".", 1)
        module_file = spec.code_dir / (module.replace(".", "/") + ".py")
        assert module_file.is_file(), module_file
        assert f"def {handler}(" in module_file.read_text(encoding="utf-8")
    assert specs["IngestFunction"].code_dir == PROJECT_ROOT / "functions" / "ingest"
    assert specs["WriterFunction"].events["EventsQueue"]["Type"] == "SQS"


def test_every_function_gets_the_globals_environment() -> None:
    globals_env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    for spec in functions(TEMPLATE):
        for name, value in globals_env.items():
            assert spec.environment.get(name) == value, (spec.logical_id, name)


def test_function_environment_overrides_globals() -> None:
    template = {
        "Globals": {"Function": {"Environment": {"Variables": {"A": "1", "B": "2"}}}},
        "Resources": {
            "F": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "functions/ingest/",
                    "Handler": "app.handler",
                    "Environment": {"Variables": {"B": "3"}},
                },
            },
            "NotAFunction": {"Type": "AWS::SQS::Queue", "Properties": {}},
        },
    }
    (spec,) = functions(template)
    assert spec.environment == {"A": "1", "B": "3"}
    assert spec.events == {}


def test_http_routes_include_the_telemetry_batch() -> None:
    routes = http_routes(TEMPLATE)
    matching = [r for r in routes if r.path == "/v1/telemetry/batch"]
    assert matching, routes
    assert all(r.function == "IngestFunction" and r.method in ("POST", "ANY") for r in matching)
    assert all(isinstance(r, HttpRoute) for r in routes)


def test_http_routes_order_and_defaults() -> None:
    def fn(*events: dict[str, Any]) -> dict[str, Any]:
        return {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": "functions/x/",
                "Handler": "app.handler",
                "Events": {f"E{i}": e for i, e in enumerate(events)},
            },
        }

    def api(path: str, method: str | None = None) -> dict[str, Any]:
        props: dict[str, Any] = {"Path": path}
        if method is not None:
            props["Method"] = method
        return {"Type": "HttpApi", "Properties": props}

    template = {
        "Resources": {
            "Admin": fn(api("/v1/admin/{app_id}")),
            "Things": fn(api("/v1/things/{id}", "get"), api("/v1/things/{id}/parts/{part}", "delete")),
            "Short": fn(api("/v1/a", "post"), {"Type": "SQS", "Properties": {}}),
            "Long": fn(api("/v1/things/special", "GET")),
        }
    }
    routes = http_routes(template)
    # static paths first, then fewer parameters, then longer paths; Method defaults to ANY, upper-cased
    assert [(r.method, r.path, r.function) for r in routes] == [
        ("GET", "/v1/things/special", "Long"),
        ("POST", "/v1/a", "Short"),
        ("ANY", "/v1/admin/{app_id}", "Admin"),
        ("GET", "/v1/things/{id}", "Things"),
        ("DELETE", "/v1/things/{id}/parts/{part}", "Things"),
    ]


def test_greedy_routes_come_after_every_specific_route() -> None:
    template = {
        "Resources": {
            "Fallback": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "functions/x/",
                    "Handler": "app.handler",
                    "Events": {"E": {"Type": "HttpApi", "Properties": {"Path": "/v1/{proxy+}"}}},
                },
            },
            "Parts": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "functions/x/",
                    "Handler": "app.handler",
                    "Events": {
                        "E": {
                            "Type": "HttpApi",
                            "Properties": {"Path": "/v1/things/{id}/parts/{part}", "Method": "GET"},
                        }
                    },
                },
            },
        }
    }
    routes = http_routes(template)
    first_match = next(r for r in routes if r.pattern().match("/v1/things/1/parts/2"))
    assert first_match.function == "Parts"


def test_route_pattern_for_a_parameter() -> None:
    pattern = HttpRoute("GET", "/v1/things/{id}", "F").pattern()
    found = pattern.match("/v1/things/abc-1")
    assert found is not None and found.groupdict() == {"id": "abc-1"}
    assert pattern.match("/v1/things/a/b") is None
    assert pattern.match("/v1/things/") is None
    assert pattern.match("/v1/things") is None
    assert pattern.match("/v1/things/abc/") is None
    assert pattern.match("/x/v1/things/abc") is None


def test_route_pattern_for_several_parameters() -> None:
    pattern = HttpRoute("GET", "/v1/admin/apps/{app_id}/events/{event_id}", "F").pattern()
    found = pattern.match("/v1/admin/apps/acme/events/summer-1")
    assert found is not None and found.groupdict() == {"app_id": "acme", "event_id": "summer-1"}


def test_route_pattern_for_a_greedy_parameter() -> None:
    pattern = HttpRoute("ANY", "/v1/admin/{proxy+}", "F").pattern()
    found = pattern.match("/v1/admin/apps/acme/events")
    assert found is not None and found.groupdict() == {"proxy": "apps/acme/events"}
    single = pattern.match("/v1/admin/x")
    assert single is not None and single.groupdict() == {"proxy": "x"}
    assert pattern.match("/v1/admin/") is None
    assert pattern.match("/v1/admins/x") is None


def test_route_pattern_escapes_static_text() -> None:
    pattern = HttpRoute("GET", "/v1/openapi.json", "F").pattern()
    assert pattern.match("/v1/openapi.json") is not None
    assert pattern.match("/v1/openapiXjson") is None
    assert pattern.match("/v1/openapi.json/extra") is None


# --------------------------------------------------------------------------- settings


def _liveops_env() -> dict[str, Any]:
    env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    return {name: value for name, value in env.items() if not name.startswith("POWERTOOLS_")}


def _resource_env() -> dict[str, Any]:
    """The variables that carry resource names: Refs to a resource or a parameter."""
    return {name: value for name, value in _liveops_env().items() if isinstance(value, dict)}


def test_every_liveops_env_var_is_a_setting() -> None:
    fields = set(Settings.model_fields)
    for name in _liveops_env():
        assert name.lower() in fields, name


def test_every_resource_env_var_is_a_ref_to_a_setting() -> None:
    env = _resource_env()
    assert {"LAKE_BUCKET", "EVENTS_QUEUE_URL", "APPS_TABLE", "GLUE_DATABASE"} <= set(env)
    for name, value in env.items():
        assert name.lower() in Settings.model_fields, name
        assert set(value) == {"Ref"}, (name, value)
        assert value["Ref"] in TEMPLATE["Resources"] or value["Ref"] in TEMPLATE["Parameters"], name


def test_every_resource_setting_is_set_by_the_template() -> None:
    env = _resource_env()
    resource_fields = [f for f in Settings.model_fields if f.endswith(RESOURCE_SUFFIXES)]
    assert {"lake_bucket", "events_queue_url", "apps_table", "glue_database"} <= set(resource_fields)
    for field in resource_fields:
        assert field.upper() in env, field


def test_settings_read_the_resolved_template_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    refs = {name: f"local-{name}" for name in TEMPLATE["Resources"]}
    env = resolve(_liveops_env(), Context(parameters=parameter_defaults(TEMPLATE), refs=refs))
    for name, value in env.items():
        assert isinstance(value, str), (name, value)  # Lambda environment values are strings
        monkeypatch.setenv(name, value)
    settings = Settings()
    for name, value in env.items():
        assert str(getattr(settings, name.lower())) == value, name
    assert settings.lake_bucket == "local-LakeBucket"


# --------------------------------------------------------------------------- dashboards over HTTPS


def test_dashboards_are_private_unless_cloudfront_is_chosen() -> None:
    assert parameter_defaults(TEMPLATE)["DashboardAccess"] == "private"
    assert TEMPLATE["Conditions"]["ServeDashboards"] == {
        "Fn::Equals": [{"Ref": "DashboardAccess"}, "cloudfront"]
    }
    resources = TEMPLATE["Resources"]
    optional = {name for name, res in resources.items() if res.get("Condition") == "ServeDashboards"}
    assert optional == {
        "SiteOriginAccessControl",
        "SiteIndexFunction",
        "SiteDistribution",
        "SiteBucketPolicy",
    }
    assert TEMPLATE["Outputs"]["DashboardsUrl"]["Condition"] == "ServeDashboards"
    # the bucket itself stays closed to the public either way
    block = resources["SiteBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(block.values())


def test_the_distribution_reads_only_dashboards_and_only_over_https() -> None:
    resources = TEMPLATE["Resources"]
    (statement,) = resources["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == {"Fn::Sub": "${SiteBucket.Arn}/apps/*"}
    source = statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(":distribution/${SiteDistribution}")
    config = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the CloudFront Function")
@pytest.mark.parametrize(
    ("uri", "served"),
    [
        ("/apps/my-game/", "/apps/my-game/index.html"),
        ("/apps/my-game/archive/", "/apps/my-game/archive/index.html"),
        ("/apps/my-game/index.html", "/apps/my-game/index.html"),
        ("/apps/my-game/data.json", "/apps/my-game/data.json"),
        ("/apps/my-game", "/apps/my-game"),
    ],
)
def test_the_index_function_serves_index_html_for_a_directory(uri: str, served: str) -> None:
    code = TEMPLATE["Resources"]["SiteIndexFunction"]["Properties"]["FunctionCode"]
    script = f"{code}\nconsole.log(JSON.stringify(handler({{request: {{uri: {json.dumps(uri)}}}}})));"
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True, timeout=30)
    assert json.loads(out.stdout) == {"uri": served}
