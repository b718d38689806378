"""values.yaml is documented and schema-checked, region and siteId required, config rolls pods."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import Chart

KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[^\s#-][^:]*):(\s|$)")


def _values_without(chart: Chart, tmp_path: Path, key: str) -> Path:
    values = yaml.safe_load(chart.values_file("cpu-small").read_text())
    del values[key]
    path = tmp_path / f"without-{key}.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.mark.parametrize("key", ["region", "siteId"])
def test_rendering_is_refused_without_a_required_value(
    chart: Chart, tmp_path: Path, key: str
) -> None:
    result = chart.template("--values", str(_values_without(chart, tmp_path, key)))
    assert result.returncode != 0
    assert f"/{key}" in result.stderr


@pytest.mark.parametrize("key", ["region", "siteId"])
def test_the_templates_refuse_a_missing_required_value_even_without_the_schema(
    chart: Chart, tmp_path: Path, key: str
) -> None:
    values = _values_without(chart, tmp_path, key)
    result = chart.template("--values", str(values), "--skip-schema-validation")
    assert result.returncode != 0
    assert f"{key} is required" in result.stderr


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("colour=blue", "colour"),
        ("accel.colour=blue", "colour"),
        ("pipelines.video-analytics.enabled=true", "video-analytics"),
        ("networkPolicy.kafka.colour=blue", "colour"),
    ],
)
def test_the_schema_rejects_an_unknown_key(chart: Chart, override: str, named: str) -> None:
    result = chart.template("--values", str(chart.values_file("cpu-small")), "--set", override)
    assert result.returncode != 0
    assert "additional properties" in result.stderr and named in result.stderr


@pytest.mark.parametrize(
    "override",
    [
        "kafka.securityProtocol=SSL_PLAINTEXT",
        "logLevel=TRACE",
        "telemetry.exporter=jaeger",
        "region=KR_Seoul",
    ],
)
def test_the_schema_rejects_a_value_outside_its_choices(chart: Chart, override: str) -> None:
    result = chart.template("--values", str(chart.values_file("cpu-small")), "--set", override)
    assert result.returncode != 0
    assert override.split("=")[0].split(".")[-1] in result.stderr


def test_sasl_without_a_credentials_secret_is_refused(chart: Chart) -> None:
    result = chart.template(
        "--values", str(chart.values_file("cpu-small")), "--set", "kafka.securityProtocol=SASL_SSL"
    )
    assert result.returncode != 0
    assert "kafka.sasl.existingSecret is required" in result.stderr


def _checksums(chart: Chart, *overrides: str) -> set[str]:
    manifests = chart.render_with(
        "--values", str(chart.values_file("npu-all-pipelines")), *overrides
    )
    return {t["metadata"]["annotations"]["checksum/config"] for _, t in manifests.pod_templates()}


def test_every_pod_template_carries_the_same_config_checksum(chart: Chart) -> None:
    (checksum,) = _checksums(chart)
    assert re.fullmatch(r"[0-9a-f]{64}", checksum)


def test_the_config_checksum_changes_when_a_setting_changes(chart: Chart) -> None:
    assert _checksums(chart) != _checksums(chart, "--set", "pipelineDefaults.maxBatchRecords=250")


def test_the_config_checksum_stays_when_only_replicas_change(chart: Chart) -> None:
    assert _checksums(chart) == _checksums(chart, "--set", "pipelines.kpi-anomaly.replicas=5")


def test_every_key_in_values_yaml_has_a_comment_starting_with_its_name(chart: Chart) -> None:
    lines = (chart.directory / "values.yaml").read_text().splitlines()
    undocumented = []
    for number, line in enumerate(lines):
        match = KEY_LINE.match(line)
        if not match:
            continue
        # The comment block right above the key, at the key's indentation; its first line counts.
        first = number
        while first > 0 and lines[first - 1].startswith(f"{match['indent']}# "):
            first -= 1
        if first == number or not lines[first].startswith(f"{match['indent']}# {match['key']} "):
            undocumented.append(f"line {number + 1}: {match['key']}")
    assert not undocumented


def _keys(schema: dict[str, Any], path: str = "") -> list[str]:
    """Paths of every object in the schema that lists fixed properties."""
    found = []
    if "properties" in schema:
        found.append(path or "/")
        for key, child in schema["properties"].items():
            found += _keys(child, f"{path}/{key}")
    if isinstance(schema.get("additionalProperties"), dict):
        found += _keys(schema["additionalProperties"], f"{path}/*")
    return found


def test_every_schema_object_with_fixed_properties_forbids_other_properties(chart: Chart) -> None:
    schema = json.loads((chart.directory / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert {"region", "siteId"} <= set(schema["required"])
    open_objects = []
    for path in _keys(schema):
        node = schema
        for part in filter(None, path.split("/")):
            node = node["additionalProperties"] if part == "*" else node["properties"][part]
        if node.get("additionalProperties") is not False:
            open_objects.append(path)
    assert not open_objects


def test_values_keys_are_camel_case(chart: Chart) -> None:
    # Map keys that are data rather than settings: pipeline names, label keys, env names.
    data_maps = {
        "pipelines",
        "commonLabels",
        "nodeSelector",
        "namespaceSelector",
        "podSelector",
        "tolerations",
        "env",
        "labels",
        "annotations",
        "podAnnotations",
        "cidrs",
        "requests",
        "limits",
    }

    def setting_keys(node: Any, parent: str = "") -> list[str]:
        if not isinstance(node, dict) or parent in data_maps:
            return [
                k
                for v in (node.values() if isinstance(node, dict) else [])
                for k in setting_keys(v)
            ]
        return [k for key, value in node.items() for k in [key, *setting_keys(value, key)]]

    values = yaml.safe_load((chart.directory / "values.yaml").read_text())
    assert not [k for k in setting_keys(values) if not re.fullmatch(r"[a-z][A-Za-z0-9]*", k)]


def test_a_served_site_id_that_is_not_a_site_id_is_refused(chart: Chart) -> None:
    result = chart.template("--values", str(chart.values_file("cpu-small")), "--set", "servedSiteIds[0]=010 1234 5678")
    assert result.returncode != 0 and "servedSiteIds" in result.stderr
