"""CUSTOM metric expressions: a closed language, parsed and never executed, evaluated with
exact decimals; sums agree with the same figures computed here by hand."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.engine.custom_metrics import Event, ExpressionError, evaluate, parse
from tests.engine import strategies as s

DAY = date(2024, 1, 1)


def _events(*rows: tuple[int, dict[str, object]]) -> list[Event]:
    return [Event(DAY + timedelta(days=offset), properties) for offset, properties in rows]


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ('__import__("os").system("id")', "not a function"),
        ("open('/etc/passwd')", "not a function of the language"),
        ("SUM(event.amount).__class__", "only event.<property>"),
        ("(lambda: 1)()", "not a function"),
        ("[x for x in ()]", "not part of the language"),
        ("SUM(event.amount) if 1 else 2", "not part of the language"),
        ("event.amount", "inside an aggregate"),
        ("SUM(SUM(event.amount))", "inside another aggregate"),
        ("SUM_BY_DAY(SUM_BY_DAY(COUNT()))", "outside aggregates and days"),
        ("COUNT(event.id)", "takes 0 arguments"),
        ("SUM(event.amount, having=1)", "where=<condition>"),
        ("SUM(event.amount); DROP TABLE usage_events", "not an expression"),
        ("SELECT SUM(amount) FROM usage_events", "not an expression"),
        ("(" * 300 + "1" + ")" * 300, "not an expression"),
        ("1 + " * 400 + "1", ""),
        ("True", "not a value"),
        ("2 ** 1000000", "use + - * /"),
        ("", "expression is needed"),
    ],
)
def test_anything_outside_the_language_is_refused(expression: str, words: str) -> None:
    with pytest.raises(ExpressionError) as refused:
        parse(expression)
    assert words in str(refused.value)


def test_parameters_filters_and_functions() -> None:
    expression = parse(
        "GREATEST(SUM(event.amount, where=event.region in ('EU', 'UK')) - included, 0) * 2"
    )
    assert expression.parameters == {"included"}
    events = _events(
        (0, {"amount": Decimal("10.5"), "region": "EU"}),
        (1, {"amount": 3, "region": "US"}),
        (1, {"amount": "7", "region": "UK"}),
        (2, {"amount": "n/a", "region": "EU"}),  # not a number: left out of the sum
    )
    assert evaluate(expression, {"included": Decimal(5)}, events) == Decimal("25.0")
    assert evaluate(expression, {"included": Decimal(50)}, events) == 0
    assert evaluate(parse("COUNT(where=not event.region == 'US')"), {}, events) == 3
    assert evaluate(parse("COUNT_DISTINCT(event.region)"), {}, events) == 3
    assert evaluate(parse("ROUND(AVG(event.amount), 2)"), {}, events) == Decimal("6.83")
    assert evaluate(parse("SUM(event.amount) / 0"), {}, events) == 0
    assert evaluate(parse('MAX(event["amount"]) - MIN(event.amount)'), {}, events) == Decimal("7.5")
    assert evaluate(parse("CEIL(SUM(event.amount) / 4)"), {}, events) == 6
    assert evaluate(parse("SUM(event.amount)"), {}, []) == 0


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 9), s.decimals(0, 10_000, 3), st.sampled_from(["a", "b"])),
        max_size=40,
    ),
    threshold=s.decimals(0, 5_000, 2),
)
def test_sums_agree_with_sums_computed_by_hand(
    rows: list[tuple[int, Decimal, str]], threshold: Decimal
) -> None:
    events = _events(*((day, {"gb": gb, "kind": kind}) for day, gb, kind in rows))
    daily_peaks: dict[int, Decimal] = {}
    for day, gb, _ in rows:
        daily_peaks[day] = max(gb, daily_peaks.get(day, gb))
    assert evaluate(parse("SUM_BY_DAY(MAX(event.gb))"), {}, events) == sum(
        daily_peaks.values(), Decimal(0)
    )
    over = sum((gb for _, gb, kind in rows if kind == "a" and gb > threshold), Decimal(0))
    filtered = parse("SUM(event.gb, where=event.kind == 'a' and event.gb > limit)")
    assert evaluate(filtered, {"limit": threshold}, events) == over
    total = sum((gb for _, gb, _ in rows), Decimal(0))
    billable = parse("GREATEST(SUM(event.gb) - included, 0)")
    assert evaluate(billable, {"included": threshold}, events) == max(total - threshold, 0)
