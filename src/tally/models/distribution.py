"""The tenant key a distributed PostgreSQL (Citus) would shard on: `account_id`.

Every table belongs to one account: it has an `account_id` column, and each of its unique
keys (constraints and unique indexes) leads with it, so one account's rows, and each key's
check, live on one shard. Where a table or a key does not, it is listed here with why;
`tests/models/test_distribution.py` checks the schema against these lists both ways (a new
table or key that breaks the rule fails until it is listed, a listed one that is gone fails
too), and ARCHITECTURE.md's "Running at scale" names each.
"""

# Tables without an `account_id` column.
UNKEYED_TABLES: dict[str, str] = {
    "accounts": "the tenants themselves: sharded on `id` (an account's id is its account_id)",
    "billing_schedule_tax_rates": (
        "a schedule's tax rate per price, reached only through its schedule: a Citus move "
        "adds `account_id` (co-location with billing_schedules) and leads the key with it"
    ),
    "replica_fences": (
        "the primary's WAL position after each client's latest write, read-your-writes "
        "bookkeeping of one PostgreSQL primary and its replicas, no tenant data: under Citus "
        "a local table of the coordinator (each worker node's replicas keep their own)"
    ),
    "usage_event_retirements": (
        "the months whose raw-event partitions retention dropped: partitions hold every "
        "account's events, so a retired month is the deployment's, not an account's"
    ),
    "billing_schedule_phase_prices": (
        "a phase's prices in order, reached only through its phase: a Citus move adds "
        "`account_id` (co-location with billing_schedule_phases) and leads the key with it"
    ),
}

# Primary keys. Ids are UUIDv7 made by Tally, unique across accounts by construction, and
# every lookup by id also filters by account (`scoped`); Citus wants each primary key to
# contain the distribution column, so a Citus move declares them (account_id, id): the same
# rows, the same uniqueness.
ID_PRIMARY_KEY = ("id",)

# Unique keys (table, columns) that do not lead with `account_id`, and why.
GLOBAL_KEYS: dict[tuple[str, tuple[str, ...]], str] = {
    ("api_keys", ("key",)): (
        "authentication finds the account from the key: looked up before the account is "
        "known (a Citus reference table, or a lookup table sharded on the key)"
    ),
    ("merchant_users", ("email",)): (
        "sign-in finds the user (and its account) from the email: same as API keys"
    ),
    ("dashboard_sessions", ("token_hash",)): (
        "a session cookie finds its account: looked up before the account is known"
    ),
    ("portal_sessions", ("token_hash",)): (
        "a portal session token finds its customer and account: same as dashboard sessions"
    ),
    ("customers", ("portal_secret",)): (
        "a customer's portal link finds the customer and its account: same as sessions"
    ),
    ("customer_organizations", ("owner_id",)): (
        "one organization per owning customer, whose id is unique across accounts: a Citus "
        "move leads the key with account_id (the same uniqueness)"
    ),
    ("tax_rate_versions", ("tax_rate_id", "version")): (
        "versions of one tax rate, whose id is unique across accounts: as customer_organizations"
    ),
    ("usage_metric_parameters", ("usage_metric_id", "name")): (
        "a metric's parameters by name, the metric's id unique across accounts: as above"
    ),
    ("webhook_deliveries", ("event_id", "policy_id", "url")): (
        "one delivery per event, policy and address, ids unique across accounts: as above"
    ),
    ("billing_schedule_phase_prices", ("phase_id", "price_id")): (
        "a table without account_id (see UNKEYED_TABLES)"
    ),
    ("billing_schedule_phase_prices", ("phase_id", "position")): (
        "its primary key, in a table without account_id (see UNKEYED_TABLES)"
    ),
    ("replica_fences", ("client",)): (
        "its primary key, in a table without account_id (see UNKEYED_TABLES)"
    ),
    ("usage_event_retirements", ("month",)): (
        "its primary key, in a table without account_id (see UNKEYED_TABLES)"
    ),
    ("usage_events", ("id", "event_timestamp")): (
        "a partitioned table's primary key must hold its partition key (the event's month); "
        "ids are unique across accounts: a Citus move declares it (account_id, id, "
        "event_timestamp), the idempotency key already leads with account_id "
        "(usage_event_keys)"
    ),
    ("billing_schedule_tax_rates", ("billing_schedule_id", "price_id")): (
        "its primary key, in a table without account_id (see UNKEYED_TABLES)"
    ),
}
