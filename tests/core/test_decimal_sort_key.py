"""SQLite keeps exact decimals as text: `tally_decimal_sort_key` must order them as numbers,
or `sortBy=GROSS_TOTAL` would put "9.50" after "10.00" (PostgreSQL orders NUMERIC itself)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tally.sqlite_functions import decimal_sort_key

amounts = st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**15), max_value=10**15)


@settings(max_examples=50)
@given(st.lists(amounts, min_size=2, max_size=20))
def test_keys_sort_as_the_numbers_do(values: list[Decimal]) -> None:
    by_key = sorted(values, key=lambda value: decimal_sort_key(value) or "")
    assert [Decimal(v) for v in by_key] == sorted(values)


@given(amounts, st.integers(min_value=0, max_value=6))
def test_one_value_at_any_scale_has_one_key(value: Decimal, places: int) -> None:
    rescaled = value.quantize(Decimal(1).scaleb(-places)) if value.adjusted() < 20 else value
    if rescaled == value:
        assert decimal_sort_key(str(rescaled)) == decimal_sort_key(str(value))


def test_what_is_not_a_number_has_no_key() -> None:
    assert decimal_sort_key(None) is None
    assert decimal_sort_key("abc") is None
    assert decimal_sort_key("NaN") is None
    assert decimal_sort_key("0.00") == decimal_sort_key(0) == "1"
