"""Test support: the start of a script that runs in a process of its own (a meter provider is
installed once per process) with an in-memory reader, and `points()`, each data point's value
(a histogram's count) by metric name and attributes."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson

READER = """
import json
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

def points():
    found = {}
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    key = metric.name + json.dumps(dict(point.attributes), sort_keys=True)
                    found[key] = point.count if hasattr(point, "count") else point.value
    return found
"""


def run_with_reader(script: str) -> Any:
    """Run `READER` then `script`, which prints one JSON document; return it."""
    result = subprocess.run(
        [sys.executable, "-c", READER + script], capture_output=True, text=True, timeout=120, check=True
    )
    return orjson.loads(result.stdout)
