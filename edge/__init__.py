"""The site's foundation, which every other package builds on: settings, residency policy,
telemetry, lifecycle, topic names, Kafka client options and errors. It imports none of them."""

__version__ = "0.1.0"
