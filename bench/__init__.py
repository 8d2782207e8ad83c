"""End-to-end benchmarks of the real engine: `python3 -m bench.run` (see bench/README.md)."""
