"""Benchmarks for the Ferrex appliance; run them with ``.venv/bin/python -m bench.run``."""
