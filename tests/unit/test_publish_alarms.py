"""A failed publish (or any failed scheduled job) reaches the admins: every job function's Errors
raise an alarm on the ops topic, and publish / retention are not retried automatically."""

from __future__ import annotations

from typing import Any

from liveops.local.template import load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def scheduled_functions() -> set[str]:
    return {
        name
        for name, resource in RESOURCES.items()
        if resource["Type"] == "AWS::Serverless::Function"
        and any(e["Type"] == "Schedule" for e in resource["Properties"].get("Events", {}).values())
    }


def errors_alarms() -> dict[str, dict[str, Any]]:
    """function logical id -> the properties of the alarm on its Errors."""
    found = {}
    for resource in RESOURCES.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::CloudWatch::Alarm" and props.get("MetricName") == "Errors":
            (dimension,) = props["Dimensions"]
            assert dimension["Name"] == "FunctionName"
            found[dimension["Value"]["Ref"]] = props
    return found


def test_every_scheduled_job_alarms_the_ops_topic_on_any_error() -> None:
    jobs = scheduled_functions()
    assert {"PublishFunction", "RetentionFunction", "RollupFunction", "AlertsFunction"} <= jobs
    alarms = errors_alarms()
    assert jobs <= set(alarms)
    for name in jobs:
        alarm = alarms[name]
        assert alarm["Namespace"] == "AWS/Lambda" and alarm["Statistic"] == "Sum", name
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0), name
        assert alarm["EvaluationPeriods"] == 1 and alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["AlarmActions"] == [{"Ref": "OpsTopic"}], name


def test_publish_and_retention_are_not_retried_automatically() -> None:
    for name in ("PublishFunction", "RetentionFunction"):
        config = RESOURCES[name]["Properties"]["EventInvokeConfig"]
        assert config["MaximumRetryAttempts"] == 0, name
