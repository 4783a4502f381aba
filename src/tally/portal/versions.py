"""The "data version" of a customer's portal pages: what `cache` compares before serving a
stored page (see its docstring for what is covered and why)."""

from typing import Any

from sqlalchemy import ColumnElement, literal_column

# One correlated scalar subquery per source of change, selected beside the customer in the
# viewer's lookup (`access._BY_KEY`, `access._BY_TOKEN`), so checking costs no round trip of
# its own: `customers` is the looked-up customer's row. The first `USAGE_PARTS` are the
# customer's usage (rollups, which ingestion appends with every batch): pages that show no
# usage leave them out of their version (`without_usage`), so streaming usage does not
# invalidate them.
USAGE_PARTS = 2
_VERSION_PARTS = (
    """(SELECT max(r.id) || '/' || count(*) FROM usage_rollups r
    WHERE r.metric_id IN (
      SELECT m.id FROM usage_metrics m WHERE m.account_id = customers.account_id)
      AND r.customer_alias IN (
        SELECT CAST(customers.id AS TEXT) UNION ALL
        SELECT a.value FROM customer_aliases a
         WHERE a.customer_id = customers.id AND a.account_id = customers.account_id
           AND a.deleted_at IS NULL))""",
    """(SELECT max(v.id) || '/' || count(*) FROM usage_rollup_values v
    WHERE v.metric_id IN (
      SELECT m.id FROM usage_metrics m WHERE m.account_id = customers.account_id)
      AND v.customer_alias IN (
        SELECT CAST(customers.id AS TEXT) UNION ALL
        SELECT a.value FROM customer_aliases a
         WHERE a.customer_id = customers.id AND a.account_id = customers.account_id
           AND a.deleted_at IS NULL))""",
    """(SELECT max(m.updated_at) || '/' || count(*) FROM usage_metrics m
    WHERE m.account_id = customers.account_id)""",
    """(SELECT max(a.updated_at) || '/' || count(*) FROM customer_aliases a
    WHERE a.customer_id = customers.id)""",
    """(SELECT max(i.updated_at) || '/' || count(*) FROM invoices i
    WHERE i.account_id = customers.account_id AND i.customer_id = customers.id)""",
    """(SELECT max(g.updated_at) || '/' || count(*) FROM credit_grants g
    WHERE g.account_id = customers.account_id AND g.customer_id = customers.id)""",
    """(SELECT max(e.updated_at) || '/' || count(*) FROM credit_ledger_entries e
    WHERE e.account_id = customers.account_id AND e.customer_id = customers.id)""",
    # Top-ups and auto-recharge settings (the Credits tab).
    """(SELECT max(t.updated_at) || '/' || count(*) FROM credit_top_ups t
    WHERE t.account_id = customers.account_id AND t.customer_id = customers.id)""",
    """(SELECT max(r.updated_at) || '/' || count(*) FROM credit_auto_recharges r
    WHERE r.account_id = customers.account_id AND r.customer_id = customers.id)""",
    # Alerts (the Overview's card): the account's (price defaults apply to many customers)
    # and the customer's firings.
    """(SELECT max(al.updated_at) || '/' || count(*) FROM alerts al
    WHERE al.account_id = customers.account_id)""",
    """(SELECT max(af.updated_at) || '/' || count(*) FROM alert_firings af
    WHERE af.account_id = customers.account_id AND af.customer_id = customers.id)""",
    """(SELECT max(s.updated_at) || '/' || count(*) FROM billing_schedules s
    WHERE s.account_id = customers.account_id AND s.customer_id = customers.id)""",
    """(SELECT max(p.updated_at) || '/' || count(*) FROM billing_schedule_phases p
    WHERE p.billing_schedule_id IN (
      SELECT s.id FROM billing_schedules s
       WHERE s.account_id = customers.account_id AND s.customer_id = customers.id))""",
    """(SELECT ps.updated_at FROM portal_settings ps WHERE ps.account_id = customers.account_id)""",
    # Whether the account takes card payments: owed invoices show a Pay form then.
    """(SELECT max(c.updated_at) || '/' || count(*) FROM payment_provider_connections c
    WHERE c.account_id = customers.account_id)""",
    # What an invoice page shows (the payment link) and the custom metrics' parameters, which
    # usage costs read.
    """(SELECT rs.updated_at FROM invoice_render_settings rs
    WHERE rs.account_id = customers.account_id)""",
    """(SELECT max(mp.updated_at) || '/' || count(*) FROM usage_metric_parameters mp
    WHERE mp.account_id = customers.account_id)""",
    # Documents print the merchant's and the customer's tax registrations (a deletion stamps
    # the row too).
    """(SELECT max(t.updated_at) || '/' || count(*) FROM tax_registrations t
    WHERE t.account_id = customers.account_id
      AND (t.customer_id = customers.id OR t.merchant_id = customers.account_id))""",
    # The account's whole catalog: subscriptions name their prices' products, usage costs
    # come from the prices' structures (tests/portal/test_cache_coverage.py found them read).
    """(SELECT max(p.updated_at) || '/' || count(*) FROM prices p
    WHERE p.account_id = customers.account_id)""",
    """(SELECT max(p.updated_at) || '/' || count(*) FROM products p
    WHERE p.account_id = customers.account_id)""",
)


def version_columns() -> list[ColumnElement[Any]]:
    """The data version (see the module's docstring) as columns of a statement selecting from
    `customers`: the viewer's lookup carries them, `Viewer.data_version` holds them."""
    return [literal_column(part) for part in _VERSION_PARTS]


# In place of the usage parts of a page that reads no usage: no part's SQL gives this text
# (they give "id/count", a timestamp, or NULL for a customer without usage).
NOT_READ = "usage not read"


def without_usage(version: tuple[Any, ...]) -> tuple[Any, ...]:
    """`version` for a page that reads no usage (no rollups, values or events): the usage
    parts replaced by `NOT_READ`, everything else kept."""
    return (NOT_READ,) * USAGE_PARTS + version[USAGE_PARTS:]


def reads_usage(version: tuple[Any, ...]) -> bool:
    """Whether a version (as `cache` stores it) covers the customer's usage."""
    return version[:USAGE_PARTS] != (NOT_READ,) * USAGE_PARTS
