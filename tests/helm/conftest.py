"""Fixtures for the chart tests: a real helm binary, and each ci/ scenario rendered once a session.

Tests take the `chart` fixture and, to run once per install scenario, a `scenario` argument
(parametrized here over every `helm/sovereign-edge/ci/<scenario>-values.yaml`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "helm" / "sovereign-edge"
HELM_TOOLS_SCRIPT = REPO_ROOT / "scripts" / "helm-tools.sh"
PROMETHEUS_TOOLS_SCRIPT = REPO_ROOT / "scripts" / "prometheus-tools.sh"
SCENARIOS = sorted(
    p.name.removesuffix("-values.yaml") for p in (CHART_DIR / "ci").glob("*-values.yaml")
)
# The Kubernetes version manifests are rendered for and validated against.
KUBE_VERSION = "1.33"
RELEASE = "site"
NAMESPACE = "edge"

Manifest = dict[str, Any]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that takes `scenario` once per ci/ values file."""
    if "scenario" in metafunc.fixturenames:
        metafunc.parametrize("scenario", SCENARIOS)


class Manifests(list[Manifest]):
    """The objects one `helm template` rendered, with the look-ups the tests share."""

    def of_kind(self, kind: str) -> list[Manifest]:
        """The objects of one kind."""
        return [m for m in self if m["kind"] == kind]

    def named(self, kind: str, name: str) -> Manifest:
        """The one object of a kind with a name."""
        matches = [m for m in self.of_kind(kind) if m["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
        return matches[0]

    def pod_templates(self) -> Iterator[tuple[str, Manifest]]:
        """(workload name, pod template) of every workload that runs pods."""
        for manifest in self:
            if manifest["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
                yield manifest["metadata"]["name"], manifest["spec"]["template"]

    def containers(self) -> Iterator[tuple[str, Manifest]]:
        """(workload name, container) of every container, init containers included."""
        for workload, template in self.pod_templates():
            spec = template["spec"]
            for container in [*spec.get("initContainers", []), *spec["containers"]]:
                yield workload, container

    def config(self) -> dict[str, str]:
        """The settings in the chart's ConfigMap, which every container loads (not the dashboard's)."""
        (config_map,) = [m for m in self.of_kind("ConfigMap") if "sovereign-edge-site.json" not in m.get("data", {})]
        data: dict[str, str] = config_map["data"]
        return data


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass
class Helm:
    """A helm binary, run with its own empty config, cache and data homes."""

    binary: Path
    home: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run helm; the caller checks the exit status."""
        env = {
            **os.environ,
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        return subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, env=env, timeout=120
        )


@dataclass
class Chart:
    """The sovereign-edge chart, rendered by a real helm as release `site` in namespace `edge`."""

    helm: Helm
    directory: Path = CHART_DIR
    release: str = RELEASE
    namespace: str = NAMESPACE
    kube_version: str = KUBE_VERSION
    _renders: dict[str, Manifests] = field(default_factory=dict)

    def values_file(self, scenario: str) -> Path:
        """The values file of one ci/ scenario."""
        return self.directory / "ci" / f"{scenario}-values.yaml"

    def values(self, scenario: str) -> dict[str, Any]:
        """values.yaml with the scenario's file laid over it, as Helm coalesces them."""
        defaults = yaml.safe_load((self.directory / "values.yaml").read_text())
        return _merge(defaults, yaml.safe_load(self.values_file(scenario).read_text()))

    def template(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `helm template` with extra args; the caller checks the exit status."""
        return self.helm.run(
            "template",
            self.release,
            str(self.directory),
            "--namespace",
            self.namespace,
            "--kube-version",
            self.kube_version,
            *args,
        )

    def render_with(self, *args: str) -> Manifests:
        """The objects `helm template` renders with extra args; fails the test if helm refuses."""
        result = self.template(*args)
        assert result.returncode == 0, result.stderr
        return Manifests(doc for doc in yaml.safe_load_all(result.stdout) if doc)

    def notes(self, scenario: str) -> str:
        """The NOTES.txt `helm install` prints for one scenario, rendered client-side only."""
        result = self.helm.run(
            "install",
            self.release,
            str(self.directory),
            "--namespace",
            self.namespace,
            "--dry-run=client",
            "--values",
            str(self.values_file(scenario)),
        )
        assert result.returncode == 0, result.stderr
        _, found, notes = result.stdout.partition("\nNOTES:\n")
        assert found, "helm printed no NOTES"
        return notes

    def render(self, scenario: str) -> Manifests:
        """One scenario's objects, rendered on first use and then shared for the session."""
        if scenario not in self._renders:
            self._renders[scenario] = self.render_with("--values", str(self.values_file(scenario)))
        return self._renders[scenario]

    @property
    def accel_name(self) -> str:
        """Name of the accelerator Deployment and its headless Service."""
        return f"{self.release}-sovereign-edge-accel"

    def pipeline_name(self, pipeline: str) -> str:
        """Name of one pipeline's Deployment (and its PDB and HPA)."""
        return f"{self.release}-sovereign-edge-{pipeline}"


def _runs(binary: Path) -> bool:
    try:
        result = subprocess.run([str(binary), "version"], capture_output=True, timeout=30)
    except OSError:
        return False
    return result.returncode == 0


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """helm from $HELM_BIN, else .tools/bin/helm, installed by scripts/helm-tools.sh if missing."""
    if env_binary := os.environ.get("HELM_BIN"):
        binary = Path(env_binary)
        assert _runs(binary), f"HELM_BIN={env_binary} does not run"
    else:
        binary = REPO_ROOT / ".tools" / "bin" / "helm"
        if not _runs(binary):
            bash = shutil.which("bash") or "bash"
            subprocess.run([bash, str(HELM_TOOLS_SCRIPT)], check=True, timeout=600)
        assert _runs(binary), f"{HELM_TOOLS_SCRIPT} did not install a working {binary}"
    return Helm(binary, tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="session")
def chart(helm: Helm) -> Chart:
    """The chart, with every scenario's render shared by all tests of the session."""
    return Chart(helm)


def _promtool_runs(binary: Path) -> bool:
    try:
        return subprocess.run([str(binary), "--version"], capture_output=True, timeout=30, check=False).returncode == 0
    except OSError:
        return False


@pytest.fixture(scope="session")
def promtool() -> Path:
    """promtool from $PROMTOOL_BIN, else .tools/bin/promtool, installed from Debian's prometheus
    package by scripts/prometheus-tools.sh if missing."""
    if env_binary := os.environ.get("PROMTOOL_BIN"):
        binary = Path(env_binary)
        assert _promtool_runs(binary), f"PROMTOOL_BIN={env_binary} does not run"
        return binary
    binary = REPO_ROOT / ".tools" / "bin" / "promtool"
    if not _promtool_runs(binary):
        subprocess.run([shutil.which("bash") or "bash", str(PROMETHEUS_TOOLS_SCRIPT)], check=True, timeout=600)
    assert _promtool_runs(binary), f"{PROMETHEUS_TOOLS_SCRIPT} did not install a working {binary}"
    return binary
