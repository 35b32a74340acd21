"""Benchmarks: `python -m benchmarks [--quick] [--json FILE]` (see `__main__`)."""
