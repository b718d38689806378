"""The site's Grafana dashboard, shipped in a ConfigMap with the label Grafana's sidecar watches:
valid dashboard JSON with a panel for each thing an operator watches, every expression parsing
with the real promtool."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from conftest import Chart


def dashboard(chart: Chart) -> dict[str, Any]:
    """The dashboard the monitoring scenario ships."""
    maps = [m for m in chart.render("monitoring").of_kind("ConfigMap") if "sovereign-edge-site.json" in m.get("data", {})]
    (config_map,) = maps
    loaded: dict[str, Any] = json.loads(config_map["data"]["sovereign-edge-site.json"])
    return loaded


def expressions(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in board["panels"] if p["type"] != "row" for t in p["targets"]]


def concrete(expr: str) -> str:
    """A panel's expression with Grafana's variables as Prometheus would get them."""
    return expr.replace("$namespace", "edge").replace("$__rate_interval", "5m")


def test_no_dashboard_is_rendered_by_default(chart: Chart) -> None:
    assert not [m for m in chart.render("cpu-small").of_kind("ConfigMap") if "sovereign-edge-site.json" in m.get("data", {})]


def test_the_dashboard_config_map_carries_the_label_and_folder_grafanas_sidecar_reads(chart: Chart) -> None:
    (config_map,) = [m for m in chart.render("monitoring").of_kind("ConfigMap") if "sovereign-edge-site.json" in m["data"]]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "Edge sites"}
    assert config_map["metadata"]["namespace"] == chart.namespace


def test_the_dashboard_has_a_panel_for_each_thing_an_operator_watches(chart: Chart) -> None:
    board = dashboard(chart)
    assert board["uid"] and board["title"] and board["schemaVersion"] >= 36
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource", "namespace"]
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
    assert all(0 <= p["gridPos"]["x"] and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in panels)
    assert all(p["targets"] and p["datasource"]["uid"] == "${datasource}" for p in panels)
    titles = {p["title"] for p in panels}
    assert {"Events in", "Results out", "DLQ by reason", "Consumer lag", "End-to-end latency", "Inference latency",
            "Paused partitions", "Queue", "Batch size", "Requests by model"} <= titles
    assert all('namespace="$namespace"' in expr for expr in expressions(board)), "every panel shows the chosen site"


def test_every_panel_expression_parses_with_promtool(chart: Chart, promtool: Path, tmp_path: Path) -> None:
    rules = [{"record": f"dashboard:panel_{i}", "expr": concrete(expr)} for i, expr in enumerate(expressions(dashboard(chart)))]
    path = tmp_path / "panels.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    result = subprocess.run([str(promtool), "check", "rules", str(path)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def dashboard_metric_names(chart: Chart) -> set[str]:
    return {name for expr in expressions(dashboard(chart)) for name in re.findall(r"\b(edge_[a-z0-9_]+)", expr)}
