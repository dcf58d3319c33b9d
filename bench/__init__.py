"""Benchmarks (run by hand, never timed in the test suite)."""
