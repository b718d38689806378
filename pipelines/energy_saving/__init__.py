"""The energy-saving pipeline for SON: per-cell load forecasts and cell-sleep recommendations."""
