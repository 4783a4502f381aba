"""Tally: an open-source billing platform with a Sequence-compatible API."""

__version__ = "0.1.0"
