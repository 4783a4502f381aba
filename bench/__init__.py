"""Benchmarks: `make bench` runs them all and prints their figures (never part of `make test`)."""
