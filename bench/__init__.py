"""Benchmarks at program scale (a separate command, not part of the test suite): ``python -m bench``."""
