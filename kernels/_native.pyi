"""Type stub for the C99 extension built from `_native.c`; the contract is in `kernels`."""

import numpy as np
import numpy.typing as npt

def window_features(
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    slots: npt.NDArray[np.int64],
    kpis: npt.NDArray[np.float64],
    hours: npt.NDArray[np.float64],
    std_floor: npt.NDArray[np.float64],
    min_history: int,
    clip: float,
    out: npt.NDArray[np.float32],
    history: npt.NDArray[np.int64],
) -> None: ...
def das_channel_stats(
    samples: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    sta_samples: int,
    lta_samples: int,
    floor: float,
    stats: npt.NDArray[np.float64],
    detrended: npt.NDArray[np.float64],
) -> None: ...
