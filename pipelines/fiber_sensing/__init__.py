"""The fibre-sensing pipeline: DAS windows in, per-channel features, an event classifier, and
located intrusion and strain alerts out for field operations."""
