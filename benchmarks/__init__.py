"""Benchmarks of the provider: triggerer scale, overheads, and the report (``bash benchmarks/run.sh``)."""
