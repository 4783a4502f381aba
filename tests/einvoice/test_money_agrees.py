"""Property: whatever the lines (quantities, unit prices, tax rates, discounts) and the
currency (JPY has no minor unit), both e-invoices pass the EN 16931 rules and state the
API's totals to the cent."""

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.einvoice.helpers import api_totals, customer_with_vat, issued_invoice, totals, valid_both
from tests.support.api_client import ApiClient

TAX_RATES = ["0", "0.05", "0.07", "0.1", "0.2", "0.255"]


def _decimal(places: int, low: str, high: str) -> st.SearchStrategy[str]:
    return st.decimals(Decimal(low), Decimal(high), places=places).map(str)


def _charge() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "title": st.sampled_from(["Platform", "API calls", "Seats", "Storage"]),
        "quantity": _decimal(3, "0", "5000"),
        "rate": _decimal(4, "0", "300"),
        "taxRate": st.sampled_from(TAX_RATES),
    })  # fmt: skip


def _discount() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "title": st.just("Discount"),
        "quantity": st.just("1"),
        "rate": _decimal(2, "-20", "-0.01"),
        "taxRate": st.sampled_from(TAX_RATES),
    })  # fmt: skip


invoices = st.tuples(
    st.sampled_from(["GBP", "JPY", "EUR"]),
    st.lists(_charge(), min_size=1, max_size=6),
    st.lists(_discount(), max_size=2),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(invoice=invoices)
def test_e_invoices_state_the_api_totals(
    merchant: ApiClient, invoice: tuple[str, list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    currency, charges, discounts = invoice
    customer = customer_with_vat(merchant, "Generated Ltd", None)
    issued = issued_invoice(merchant, customer["id"], [*charges, *discounts], currency=currency)

    for syntax, xml in valid_both(merchant, f"/api/invoices/{issued['id']}").items():
        assert totals(xml, syntax) == api_totals(issued), syntax
