"""Shared API plumbing: auth, errors, pagination, the camelCase base schema and wire types.

Every domain's endpoints build on it; it knows no domain."""
