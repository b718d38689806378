"""Offline code: the datasets the shipped models are trained on and the quality checks they must
pass (scripts/train_*.py, the model-quality tests). A running site never imports it."""
