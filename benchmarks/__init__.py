"""Performance benchmarks of the provider; run them with ``python benchmarks/run.py [--quick]``."""
