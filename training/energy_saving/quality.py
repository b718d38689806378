"""Measured quality of a load-forecast model: MAE and sMAPE of PRB use and connected users against
the seasonal-naive (same period yesterday) and persistence (latest value held) baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from pipelines.energy_saving.history import HORIZON
from training.energy_saving.dataset import ForecastSet

OUTPUTS = ("prb_dl_pct", "rrc_conn_mean")
"""The model's outputs, `[batch, HORIZON]` each, in the order of `history.LOAD_COUNTERS`."""


def forecast(model_path: Path, data: ForecastSet) -> npt.NDArray[np.float64]:
    """`[rows, HORIZON, 2]` forecasts of the ready rows (NaN elsewhere), from the ONNX model."""
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    out = np.full(data.targets.shape, np.nan)
    rows = data.ready
    if rows.any():
        results = session.run(list(OUTPUTS), data.inputs(rows))
        out[rows] = np.stack([np.asarray(r, dtype=np.float64) for r in results], axis=-1)
    return out


def _errors(predicted: npt.NDArray[np.float64], actual: npt.NDArray[np.float64]) -> dict[str, float]:
    abs_err = np.abs(predicted - actual)
    denominator = np.abs(predicted) + np.abs(actual)
    smape = np.where(denominator > 0, 2 * abs_err / np.where(denominator > 0, denominator, 1), 0.0)
    return {"mae": float(abs_err.mean()), "smape_pct": float(100 * smape.mean())}


def evaluate(model_path: Path, data: ForecastSet) -> dict[str, Any]:
    """Compare the model with both baselines on the same points: every (sample, step ahead) from
    the second day on whose actual value and same-period-yesterday value were both reported."""
    predicted = forecast(model_path, data)
    report: dict[str, Any] = {
        "granularity_s": data.granularity_s,
        "horizon_periods": HORIZON,
        "days": int(data.day.max()) + 1,
    }
    for k, name in enumerate(OUTPUTS):
        actual = data.targets[:, :, k]
        usable = (
            data.ready[:, None] & (data.day >= 1)[:, None]
            & np.isfinite(actual) & np.isfinite(data.seasonal_naive[:, :, k]) & np.isfinite(predicted[:, :, k])
        )
        figures: dict[str, Any] = {"points": int(usable.sum())}
        for label, guess in (
            ("model", predicted[:, :, k]), ("seasonal_naive", data.seasonal_naive[:, :, k]),
            ("persistence", data.persistence[:, :, k]),
        ):
            figures[label] = _errors(guess[usable], actual[usable])
            figures[label]["mae_by_step"] = [
                float(np.abs(guess[:, h] - actual[:, h])[usable[:, h]].mean()) for h in range(HORIZON)
            ]
        figures["mae_ratio_to_seasonal_naive"] = figures["model"]["mae"] / figures["seasonal_naive"]["mae"]
        figures["mae_ratio_to_persistence"] = figures["model"]["mae"] / figures["persistence"]["mae"]
        report[name] = figures
    return report


def quality_table(report: dict[str, Any]) -> str:
    """One report as a Markdown table (MAE in the output's unit; sMAPE in percent)."""
    minutes = report["granularity_s"] / 60
    lines = [
        f"{report['days']} days at {minutes:g}-minute periods, {report['horizon_periods']} periods ahead",
        "",
        "| output | forecaster | MAE (all steps) | MAE by step 1..4 | sMAPE % |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in OUTPUTS:
        figures = report[name]
        for label in ("model", "seasonal_naive", "persistence"):
            f = figures[label]
            steps = " / ".join(f"{v:.2f}" for v in f["mae_by_step"])
            lines.append(f"| `{name}` | {label.replace('_', '-')} | {f['mae']:.3f} | {steps} | {f['smape_pct']:.1f} |")
    lines += [
        "",
        "| output | model MAE / seasonal-naive MAE | model MAE / persistence MAE |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| `{name}` | {report[name]['mae_ratio_to_seasonal_naive']:.3f} | {report[name]['mae_ratio_to_persistence']:.3f} |"
        for name in OUTPUTS
    ]
    return "\n".join(lines)
