"""Benchmarks: `python bench/run.py [--quick]` writes BENCHMARKS.md."""
