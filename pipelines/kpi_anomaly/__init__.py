"""The cell-KPI anomaly pipeline: per-cell windows, features, an autoencoder, scores and alerts."""
