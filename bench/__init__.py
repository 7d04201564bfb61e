"""Benchmarks of northca-mock beside Prism and a plain Flask baseline (``make bench``)."""
