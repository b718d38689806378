"""The KPI codec: the native decoder reads what the intake accepts, exactly as the reference does,
and leaves the rest to it; the native encoder writes the values the reference writes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgectl.synthetic.cell_kpi import CellKpiGenerator
from pipelines.kpi_anomaly import _codec
from pipelines.kpi_anomaly.codec import CellKpiCodec, load_codec
from pipelines.kpi_anomaly.features import COUNTERS
from pipelines.results import RESULT_NAMESPACE_BYTES, result_id

NATIVE = load_codec("native")
REFERENCE = load_codec("reference")
SCHEMA, REGION = "ran.cell_kpi.v1", "kr-seoul"


def decode(codec: CellKpiCodec, values: list[bytes | None]) -> tuple[Any, ...]:
    counters = np.full((len(values), len(COUNTERS)), -7.0)
    minutes = np.full(len(values), -7, dtype=np.int64)
    accepted, *columns = codec.decode(values, SCHEMA, REGION, COUNTERS, counters, minutes)
    return accepted, columns, counters, minutes


def event(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema": SCHEMA, "event_id": "e-1", "region": REGION, "site_id": "SEL-GN-0042",
        "cell_id": "450-05-1193046-3", "ts": "2026-11-22T09:05:00Z", "granularity_s": 60,
        "counters": {"RRU.PrbTotDl": 43.0, "RRC.ConnMean": 187, "PEE.AvgPower": 310.5},
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


DROP = object()


def assert_same_where_native_accepts(values: list[bytes | None]) -> bytes:
    """Native accepts a subset of what the reference accepts, and reads those identically."""
    native_ok, native_columns, native_counters, native_minutes = decode(NATIVE, values)
    reference_ok, reference_columns, reference_counters, reference_minutes = decode(REFERENCE, values)
    for i, (mine, theirs) in enumerate(zip(native_ok, reference_ok, strict=True)):
        assert not (mine and not theirs), f"native accepted value {i} the reference refuses: {values[i]!r}"
        if mine:
            assert [c[i] for c in native_columns] == [c[i] for c in reference_columns]
            np.testing.assert_array_equal(native_counters[i], reference_counters[i])
            assert np.signbit(native_counters[i]).tolist() == np.signbit(reference_counters[i]).tolist()
            assert native_minutes[i] == reference_minutes[i]
        else:
            assert all(c[i] is None for c in native_columns)
    return native_ok


def test_generated_traffic_is_read_entirely_by_the_native_decoder() -> None:
    generator = CellKpiGenerator(REGION, "SEL-GN-0042", cells=50, seed=3)
    values: list[bytes | None] = [orjson.dumps(e.event) for _ in range(20) for e in generator.next_round()]
    accepted = assert_same_where_native_accepts(values)
    assert accepted == b"\x01" * len(values)


@pytest.mark.parametrize(
    ("value", "native_reads"),
    [
        (orjson.dumps(event()), True),
        (orjson.dumps(event(ts="2026-11-22T09:05:00.123456+09:00")), True),
        (orjson.dumps(event(ts="2026-11-22T23:59:00-05:30")), True),
        (b'  {"schema" : "ran.cell_kpi.v1", "event_id":"a", "region":"kr-seoul", "site_id":"s",\n'
         b' "cell_id":"c", "ts":"2026-02-28T00:00:00Z", "counters":{"RRU.PrbTotDl":-0,'
         b' "RRC.ConnMean":-0.0, "PEE.AvgPower":1.5e2, "DRB.UEThpDl":12345678901234567890,'
         b' "MM.HoExeIntraReq":0.1e-400, "MM.HoExeIntraSucc":true, "RRC.ConnEstabAtt":null,'
         b' "RRC.ConnEstabSucc":"7", "other":[1,{"x":[]}]}, "extra":{"deep":[[[null]]]}}  ', True),
        # Left to the intake: escapes, non-ASCII, duplicates, unusual timestamps.
        (orjson.dumps(event(cell_id="cell\n1")), False),
        (orjson.dumps(event(site_id="서울-0042")), False),
        (orjson.dumps(event(ts="2026-11-22 09:05:00Z")), False),
        (orjson.dumps(event(ts="2026-11-22T09:05:00.1234567Z")), False),
        (orjson.dumps(event(ts="0001-01-01T00:00:00+01:00")), False),
        (orjson.dumps(event()).replace(b'"cell_id"', b'"cell_id":"x","cell_id"'), False),
        (orjson.dumps(event()).replace(b'"RRU.PrbTotDl"', b'"RRU.PrbTotDl":1,"RRU.PrbTotDl"'), False),
        # Refused by both: the intake answers these with its reasons.
        (orjson.dumps(event(region="jp-tokyo")), False),
        (orjson.dumps(event(schema="ran.cell_kpi.v2")), False),
        (orjson.dumps(event(event_id="")), False),
        (orjson.dumps(event(cell_id=7)), False),
        (orjson.dumps(event(counters=DROP)), False),
        (orjson.dumps(event(counters=[1, 2])), False),
        (orjson.dumps(event(ts="2026-02-29T09:05:00Z")), False),
        (orjson.dumps(event(ts="2026-11-22T24:00:00Z")), False),
        (orjson.dumps(event(ts="2026-11-22T09:05:00")), False),
        (orjson.dumps(event(granularity_s=1))[:-1] + b', "x": 1e999}', False),
        (orjson.dumps(event())[:-1], False),
        (orjson.dumps(event()) + b"x", False),
        (b'{"schema": NaN}', False),
        (b"[]", False),
        (b"", False),
        (None, False),
    ],
)
def test_the_native_decoder_reads_plain_events_and_leaves_the_rest(value: bytes | None, native_reads: bool) -> None:
    accepted = assert_same_where_native_accepts([value])
    assert accepted == (b"\x01" if native_reads else b"\x00")


def test_counters_are_read_as_the_reference_reads_them() -> None:
    value = (b'{"schema":"ran.cell_kpi.v1","event_id":"a","region":"kr-seoul","site_id":"s","cell_id":"c",'
             b'"ts":"2026-11-22T09:05:00+09:00","counters":{"RRU.PrbTotDl":-0,"RRU.PrbTotUl":-0.0,'
             b'"DRB.UEThpDl":0.30000000000000004,"DRB.UEThpUl":123.456e-2,"RRC.ConnMean":true,'
             b'"PEE.AvgPower":"310"}}')
    accepted, columns, counters, minutes = decode(NATIVE, [value])
    assert accepted == b"\x01"
    row = dict(zip(COUNTERS, counters[0].tolist(), strict=True))
    assert str(row["RRU.PrbTotDl"]) == "0.0" and str(row["RRU.PrbTotUl"]) == "-0.0"
    assert row["DRB.UEThpDl"] == 0.30000000000000004 and row["DRB.UEThpUl"] == 1.23456
    assert np.isnan(row["RRC.ConnMean"]) and np.isnan(row["PEE.AvgPower"]) and np.isnan(row["MM.HoExeInterReq"])
    assert minutes[0] == 5  # 09:05 at +09:00 is 00:05 UTC
    assert columns == [["a"], ["s"], ["c"], ["2026-11-22T09:05:00+09:00"]]


NUMBER = st.one_of(
    st.integers(-(10**25), 10**25),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(0, 30).flatmap(lambda places: st.decimals(allow_nan=False, allow_infinity=False, places=places)),
)
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    counters=st.dictionaries(st.sampled_from([*COUNTERS, "Other.Counter"]),
                             st.one_of(NUMBER, st.none(), st.booleans(), TEXT), max_size=8),
    texts=st.lists(TEXT, min_size=4, max_size=4),
    hour=st.integers(0, 23), minute=st.integers(0, 59), offset_minutes=st.integers(-23 * 60, 23 * 60),
    region=st.sampled_from([REGION, "jp-tokyo"]),
)
def test_any_event_is_read_identically_or_left_to_the_intake(
    counters: dict[str, Any], texts: list[str], hour: int, minute: int, offset_minutes: int, region: str
) -> None:
    sign = "+" if offset_minutes >= 0 else "-"
    offset = f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    body = ", ".join(f"{orjson.dumps(k).decode()}: {v}" for k, v in (
        (k, str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else
         (f"{v:f}" if hasattr(v, "as_tuple") else orjson.dumps(v).decode())) for k, v in counters.items()))
    value = (
        f'{{"schema": "{SCHEMA}", "event_id": {orjson.dumps(texts[0]).decode()}, "region": "{region}", '
        f'"site_id": {orjson.dumps(texts[1]).decode()}, "cell_id": {orjson.dumps(texts[2]).decode()}, '
        f'"ts": "2026-11-22T{hour:02d}:{minute:02d}:00{offset}", "note": {orjson.dumps(texts[3]).decode()}, '
        f'"counters": {{{body}}}}}'
    ).encode()
    assert_same_where_native_accepts([value])


@pytest.mark.parametrize("codec", [NATIVE, REFERENCE], ids=["native", "reference"])
def test_bad_arguments_are_refused_naming_them(codec: CellKpiCodec) -> None:
    with pytest.raises(ValueError, match="counters_out"):
        codec.decode([b"{}"], SCHEMA, REGION, COUNTERS, np.empty((2, len(COUNTERS))), np.empty(1, dtype=np.int64))
    with pytest.raises(ValueError, match="site_ids"):
        codec.encode(**{**score_columns(3, seed=0), "site_ids": ["s"]})


def score_columns(n: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-7, 5e-7, 2.5e-6, 1e16, 123456789.1234567])
    scores = rng.exponential(2.0, n)
    scores[: min(n, len(specials))] = specials[: min(n, len(specials))]
    return {
        "schema": "ran.cell_score.v1", "region": REGION,
        "event_ids": [f"ev-{i}" if i % 7 else f'q"uo\\te\n{i}é' for i in range(n)],
        "site_ids": ["SEL-GN-0042"] * n, "cell_ids": [f"cell-{i % 5}" for i in range(n)],
        "ts": ["2026-11-22T09:05:00Z"] * n, "scores": scores, "anomalous": rng.random(n) < 0.2,
        "top_counters": [b'["RRU.PrbTotDl","PEE.AvgPower"]'] * n,
        "window_samples": rng.integers(0, 15, n).astype(np.int64), "window": 12,
        "model": b'{"name":"kpi-anomaly","version":"3"}', "id_namespace": RESULT_NAMESPACE_BYTES,
        "id_prefix": b"kpi-anomaly/score/",
    }


def test_the_native_encoder_writes_the_values_the_reference_writes() -> None:
    columns = score_columns(200, seed=5)
    native = [orjson.loads(v) for v in NATIVE.encode(**columns)]
    reference = [orjson.loads(v) for v in REFERENCE.encode(**columns)]
    assert native == reference
    assert native[0]["score"] is None and native[3]["score"] == 0.0
    assert native[1]["result_id"] == result_id("kpi-anomaly", "ev-1", "score")
    assert [r["state_rebuilt"] for r in native] == (columns["window_samples"] < 12).tolist()


@settings(max_examples=200, deadline=None)
@given(name=st.text(st.characters(codec="utf-8"), max_size=200), namespace=st.binary(min_size=16, max_size=16))
def test_name_based_ids_match_uuid5(name: str, namespace: bytes) -> None:
    assert _codec.uuid5(namespace, name) == str(uuid.uuid5(uuid.UUID(bytes=namespace), name))


def test_name_based_ids_match_uuid5_at_every_padding_length() -> None:
    """Every message length through three SHA-1 blocks: the padding fits the last block, fills
    it exactly, or spills into one more."""
    namespace = RESULT_NAMESPACE_BYTES
    for n in range(0, 3 * 64):
        name = "e" * n
        assert _codec.uuid5(namespace, name) == str(uuid.uuid5(uuid.UUID(bytes=namespace), name)), n


@pytest.mark.parametrize(("switch", "expected"), [(None, "native"), ("reference", "reference"), ("native", "native")])
def test_the_codec_follows_the_kernel_switch(switch: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EDGE_KERNELS"} | ({} if switch is None else {"EDGE_KERNELS": switch})
    probe = "from pipelines.kpi_anomaly.codec import CODEC; print(CODEC.name, CODEC.decode.__module__)"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60, check=True)
    module = "pipelines.kpi_anomaly._codec" if expected == "native" else "pipelines.kpi_anomaly.codec"
    assert out.stdout.split() == [expected, module]
