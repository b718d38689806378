"""Synthetic telco traffic with labelled ground truth, for the demo, the tests and model training."""
