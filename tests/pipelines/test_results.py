"""Result ids are RFC 4122 version-5 UUIDs of the pipeline, the result kind and the event id:
the same event always gets the same id, different results of it different ones."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.results import _RESULT_NAMESPACE, name_based_id, result_id


@given(st.text(min_size=1, max_size=40), st.text(max_size=80), st.sampled_from(["score", "alert", "insight"]))
def test_a_result_id_is_the_uuid5_of_pipeline_kind_and_event(pipeline: str, event_id: str, kind: str) -> None:
    expected = uuid.uuid5(_RESULT_NAMESPACE, f"{pipeline}/{kind}/{event_id}")
    assert result_id(pipeline, event_id, kind) == str(expected)
    assert uuid.UUID(result_id(pipeline, event_id, kind)).version == 5


def test_results_of_one_event_differ_by_kind_and_pipeline() -> None:
    ids = {result_id(p, "e-1", k) for p in ("kpi-anomaly", "energy-saving") for k in ("score", "forecast")}
    assert len(ids) == 4


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=120), namespace=st.binary(min_size=16, max_size=16))
def test_a_name_based_id_is_the_uuid5_of_namespace_and_name(name: str, namespace: bytes) -> None:
    assert name_based_id(namespace, name) == str(uuid.uuid5(uuid.UUID(bytes=namespace), name))
