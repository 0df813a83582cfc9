"""Benchmarks at trial-network scale: `make bench` runs them and writes docs/benchmarks.md."""
