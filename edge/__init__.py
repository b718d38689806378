"""The edge site: settings, residency policy, telemetry, the CLI and the embedded dev stack."""

__version__ = "0.1.0"
