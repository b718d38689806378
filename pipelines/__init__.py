"""Kafka-fed pipelines: events in, inference on the site's accelerators, results out."""
