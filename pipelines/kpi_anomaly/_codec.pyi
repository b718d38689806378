"""Type stub for the C extension built from `_codec.c`; the contract is in `codec.py`."""

import numpy as np
import numpy.typing as npt

def decode_cell_kpis(
    values: list[bytes | None],
    schema: str,
    region: str,
    counter_names: tuple[str, ...],
    counters_out: npt.NDArray[np.float64],
    minutes_out: npt.NDArray[np.int64],
) -> tuple[bytes, list[str | None], list[str | None], list[str | None], list[str | None]]: ...
def encode_cell_scores(
    *,
    schema: str,
    region: str,
    event_ids: list[str],
    site_ids: list[str],
    cell_ids: list[str],
    ts: list[str],
    scores: npt.NDArray[np.float64],
    anomalous: npt.NDArray[np.bool_],
    top_counters: list[bytes],
    window_samples: npt.NDArray[np.int64],
    window: int,
    model: bytes,
    id_namespace: bytes,
    id_prefix: bytes,
) -> list[bytes]: ...
def uuid5(namespace: bytes, name: str) -> str: ...
