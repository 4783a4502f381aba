"""Billed documents: what invoices and credit notes share (their lines and groups, how they
are locked while they change, how their lines are read and shown).

Below both `invoices` and `credit_notes`, so either uses it without importing the other; the
columns themselves are `models.billed`."""
