"""Running Tally in production: health checks, metrics, structured logs, limits.

Kept apart from the billing domains: they only call a counter here and there
(`tally.ops.metrics`), and everything else is wired in `tally.app` and `tally.cli`.
"""
