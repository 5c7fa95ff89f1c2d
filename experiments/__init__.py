"""Experiments: batch experiment files and benchmarks (run from the repository root)."""
