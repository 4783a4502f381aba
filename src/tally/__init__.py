"""Tally: an open-source billing platform with a Sequence-compatible API."""

import decimal

__version__ = "0.1.0"

# Money is exact: a price holds up to 30 significant digits and a usage quantity 21, so a
# product needs 51 and a sum of many a few more. Python's default context keeps 28 and would
# round them (or fail to round a line). Every thread's context starts from DefaultContext; this
# process's own is set too. Set once here, for every entry point (server, worker, CLI, tests).
DECIMAL_PRECISION = 64
decimal.DefaultContext.prec = DECIMAL_PRECISION
decimal.getcontext().prec = DECIMAL_PRECISION
