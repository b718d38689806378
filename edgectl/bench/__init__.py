"""Benchmarks that print figures (`edge bench ...`): speed goals live here, not in tests."""
