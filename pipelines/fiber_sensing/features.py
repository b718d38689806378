"""The fibre-sensing pipeline's per-channel DAS features, which live in `kernels.das_features` so
the pipeline, its training script and the accelerator's model pipelines share one
implementation (built on the `das_channel_stats` kernel); this module keeps the names the
pipeline's code imports."""

from __future__ import annotations

from kernels.das_features import (
    BANDS_HZ,
    FEATURE_NAMES,
    LTA_S,
    N_FEATURES,
    NEAR_RADIUS,
    OWN_FEATURES,
    POWER_REL,
    RELATIVE_SOURCES,
    STA_S,
    WIDE_RADIUS,
    band_powers,
    das_features,
    excess_power,
    neighbourhood_mean,
    sta_lta_max,
    sta_lta_samples,
)

__all__ = [
    "BANDS_HZ",
    "FEATURE_NAMES",
    "LTA_S",
    "NEAR_RADIUS",
    "N_FEATURES",
    "OWN_FEATURES",
    "POWER_REL",
    "RELATIVE_SOURCES",
    "STA_S",
    "WIDE_RADIUS",
    "band_powers",
    "das_features",
    "excess_power",
    "neighbourhood_mean",
    "sta_lta_max",
    "sta_lta_samples",
]
