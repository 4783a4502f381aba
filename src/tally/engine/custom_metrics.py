"""CUSTOM usage metrics: a small, SQL-like expression language over a metric's events.

Sequence's custom metrics are SQL run by Sequence. Tally never runs a merchant's text as SQL
(nor as Python): the expression is parsed with Python's own parser (`ast`, never compiled or
evaluated) into the few node types below, everything else refused, and evaluated here over
the events' properties with exact decimals. The language:

- aggregates over the events the metric selects (its eventType and propertyFilters) in the
  period: `COUNT()`, `SUM(x)`, `MIN(x)`, `MAX(x)`, `AVG(x)`, `COUNT_DISTINCT(x)`, each with
  an optional filter, `where=<condition>` (SQL's `FILTER (WHERE ...)`);
- per local day of the account: `SUM_BY_DAY(e)` and `MAX_BY_DAY(e)` evaluate `e` (which
  holds aggregates) over each day's events and add them up, or take the highest
  (`SUM_BY_DAY(MAX(event.gigabytes))`: each day's peak, summed over the period);
- inside an aggregate, `event.name` (or `event["any key"]`) is an event property; numbers
  are read as exact decimals (JSON numbers, or strings that spell one);
- parameters: bare names, declared with the metric (INTEGER, POSITIVE_INTEGER, NUMBER,
  POSITIVE_NUMBER), valued by a price's `customMetricParameters` or their default;
- numbers, 'text' literals, `+ - * /` (a division by zero is 0), `GREATEST`, `LEAST`,
  `ABS`, `FLOOR`, `CEIL`, `ROUND(x, places)` (half up), comparisons `== != < <= > >=`,
  `in (...)`, `not in (...)`, `and`, `or`, `not`, parentheses.

An event whose aggregated value is missing or not a number is left out of that aggregate
(as SQL leaves out NULLs); an aggregate over no events is 0.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

ZERO = Decimal(0)
MAX_LENGTH = 2000
MAX_NODES = 300
AGGREGATES = ("COUNT", "SUM", "MIN", "MAX", "AVG", "COUNT_DISTINCT")
BY_DAY = ("SUM_BY_DAY", "MAX_BY_DAY")
SCALARS = ("GREATEST", "LEAST", "ABS", "FLOOR", "CEIL", "ROUND")


class ExpressionError(ValueError):
    """An expression outside the language, with what is wrong in words for the merchant."""


@dataclass(frozen=True)
class Event:
    day: date  # the account's local day
    properties: Mapping[str, Any]


# --- the nodes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: Decimal


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Parameter:
    name: str


@dataclass(frozen=True)
class Property:
    name: str


@dataclass(frozen=True)
class Binary:
    operator: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Negative:
    operand: Node


@dataclass(frozen=True)
class Compare:
    operator: str  # == != < <= > >= in notin
    left: Node
    right: Node | tuple[Node, ...]


@dataclass(frozen=True)
class Logical:
    operator: str  # and, or
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Aggregate:
    function: str
    argument: Node | None
    where: Node | None


@dataclass(frozen=True)
class ByDay:
    function: str
    expression: Node


@dataclass(frozen=True)
class Scalar:
    function: str
    arguments: tuple[Node, ...]


Node = (
    Number
    | Text
    | Parameter
    | Property
    | Binary
    | Negative
    | Compare
    | Logical
    | Not
    | Aggregate
    | ByDay
    | Scalar
)


@dataclass(frozen=True)
class Expression:
    root: Node
    parameters: frozenset[str]  # the parameter names it uses


# --- parsing -----------------------------------------------------------------------------

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_COMPARE = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "notin",
}


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.parameters: set[str] = set()

    def fail(self, message: str) -> ExpressionError:
        return ExpressionError(message)

    def node(self, tree: ast.expr, *, in_aggregate: bool, in_day: bool) -> Node:
        def again(child: ast.expr) -> Node:
            return self.node(child, in_aggregate=in_aggregate, in_day=in_day)

        if isinstance(tree, ast.Constant):
            if isinstance(tree.value, bool) or tree.value is None:
                raise self.fail(f"{tree.value!r} is not a value of the language")
            if isinstance(tree.value, int | float):
                text = ast.get_source_segment(self.source, tree) or str(tree.value)
                try:
                    return Number(Decimal(text.replace("_", "")))
                except InvalidOperation:
                    raise self.fail(f"{text} is not a decimal number") from None
            if isinstance(tree.value, str):
                return Text(tree.value)
            raise self.fail(f"{tree.value!r} is not a value of the language")
        if isinstance(tree, ast.Name):
            if tree.id == "event":
                raise self.fail("name an event property: event.<property>")
            self.parameters.add(tree.id)
            return Parameter(tree.id)
        if isinstance(tree, ast.Attribute | ast.Subscript):
            return self.property(tree, in_aggregate)
        if isinstance(tree, ast.BinOp) and type(tree.op) in _BINARY:
            return Binary(_BINARY[type(tree.op)], again(tree.left), again(tree.right))
        if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.USub | ast.UAdd):
            operand = again(tree.operand)
            return Negative(operand) if isinstance(tree.op, ast.USub) else operand
        if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not):
            return Not(again(tree.operand))
        if isinstance(tree, ast.BoolOp):
            operator = "and" if isinstance(tree.op, ast.And) else "or"
            return Logical(operator, tuple(again(value) for value in tree.values))
        if isinstance(tree, ast.Compare):
            return self.compare(tree, again)
        if isinstance(tree, ast.Call):
            return self.call(tree, in_aggregate=in_aggregate, in_day=in_day)
        raise self.fail(f"{_spelled(self.source, tree)!r} is not part of the language")

    def property(self, tree: ast.Attribute | ast.Subscript, in_aggregate: bool) -> Property:
        if not (isinstance(tree.value, ast.Name) and tree.value.id == "event"):
            raise self.fail(f"{_spelled(self.source, tree)!r}: only event.<property> is read")
        if isinstance(tree, ast.Attribute):
            name = tree.attr
        elif isinstance(tree.slice, ast.Constant) and isinstance(tree.slice.value, str):
            name = tree.slice.value
        else:
            raise self.fail('event["..."] takes the property name as text')
        if not in_aggregate:
            raise self.fail(f"event.{name} is read inside an aggregate, e.g. SUM(event.{name})")
        return Property(name)

    def compare(self, tree: ast.Compare, again: Callable[[ast.expr], Node]) -> Node:
        parts: list[Node] = []
        left = again(tree.left)
        for op, comparator in zip(tree.ops, tree.comparators, strict=True):
            operator = _COMPARE.get(type(op))
            if operator is None:
                raise self.fail(f"{type(op).__name__} is not a comparison of the language")
            right: Node | tuple[Node, ...]
            if operator in ("in", "notin"):
                if not isinstance(comparator, ast.Tuple | ast.List):
                    raise self.fail("in takes a list of values: x in ('a', 'b')")
                right = tuple(again(element) for element in comparator.elts)
            else:
                right = again(comparator)
            parts.append(Compare(operator, left, right))
            if not isinstance(right, tuple):
                left = right
        return parts[0] if len(parts) == 1 else Logical("and", tuple(parts))

    def call(self, tree: ast.Call, *, in_aggregate: bool, in_day: bool) -> Node:
        if not isinstance(tree.func, ast.Name):
            raise self.fail(f"{_spelled(self.source, tree.func)!r} is not a function")
        name = tree.func.id.upper()
        if name in AGGREGATES:
            if in_aggregate:
                raise self.fail(f"{name}(...) cannot sit inside another aggregate")
            return self.aggregate(name, tree, in_day)
        if tree.keywords:
            raise self.fail(f"{name} takes no where=")
        arguments = tree.args
        if name in BY_DAY:
            if in_aggregate or in_day or len(arguments) != 1:
                raise self.fail(f"{name} takes one expression, outside aggregates and days")
            inner = self.node(arguments[0], in_aggregate=False, in_day=True)
            return ByDay(name, inner)
        if name in SCALARS:
            counts = {"ABS": (1, 1), "FLOOR": (1, 1), "CEIL": (1, 1), "ROUND": (1, 2)}
            low, high = counts.get(name, (2, 20))
            if not low <= len(arguments) <= high:
                raise self.fail(f"{name} takes {low} to {high} arguments")
            return Scalar(
                name,
                tuple(self.node(a, in_aggregate=in_aggregate, in_day=in_day) for a in arguments),
            )
        known = ", ".join((*AGGREGATES, *BY_DAY, *SCALARS))
        raise self.fail(f"{tree.func.id} is not a function of the language ({known})")

    def aggregate(self, name: str, tree: ast.Call, in_day: bool) -> Aggregate:
        where: Node | None = None
        for keyword in tree.keywords:
            if keyword.arg != "where":
                raise self.fail(f"{name} takes where=<condition>, not {keyword.arg}=")
            where = self.node(keyword.value, in_aggregate=True, in_day=in_day)
        wanted = 0 if name == "COUNT" else 1
        if len(tree.args) != wanted:
            raise self.fail(f"{name} takes {wanted} argument{'s' if wanted != 1 else ''}")
        argument = self.node(tree.args[0], in_aggregate=True, in_day=in_day) if tree.args else None
        return Aggregate(name, argument, where)


def _spelled(source: str, tree: ast.AST) -> str:
    return ast.get_source_segment(source, tree) or type(tree).__name__


@lru_cache(maxsize=512)
def parse(source: str) -> Expression:
    """The expression's tree, or ExpressionError saying what is outside the language."""
    if not source.strip():
        raise ExpressionError("an expression is needed, e.g. SUM(event.amount)")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"at most {MAX_LENGTH} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise ExpressionError(f"not an expression: {getattr(error, 'msg', error)}") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExpressionError(f"too long: at most {MAX_NODES} parts")
    parser = _Parser(source.strip())
    root = parser.node(tree.body, in_aggregate=False, in_day=False)
    return Expression(root, frozenset(parser.parameters))


# --- evaluation --------------------------------------------------------------------------


def number(value: Any) -> Decimal | None:
    """A property's value as an exact decimal: a JSON number or a string spelling one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float | str):
        try:
            found = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return found if found.is_finite() else None
    return None


def _divide(left: Decimal, right: Decimal) -> Decimal:
    return ZERO if right == 0 else left / right


_ARITHMETIC: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _divide,
}


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    a, b = number(left), number(right)
    if a is not None and b is not None:
        return a, b
    return ("" if left is None else str(left)), ("" if right is None else str(right))


def _compare(operator: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return operator == "!=" and (left is None) != (right is None)
    a, b = _comparable(left, right)
    if operator == "==":
        return bool(a == b)
    if operator == "!=":
        return bool(a != b)
    if type(a) is not type(b):
        return False
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator])


@dataclass(frozen=True)
class _Scope:
    parameters: Mapping[str, Decimal]
    events: Sequence[Event]
    event: Event | None = None


def _value(node: Node, scope: _Scope) -> Any:
    """A node's value: a Decimal, text, a bool, or None (a missing property)."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Text):
        return node.value
    if isinstance(node, Parameter):
        return scope.parameters[node.name]
    if isinstance(node, Property):
        assert scope.event is not None
        return scope.event.properties.get(node.name)
    if isinstance(node, Binary):
        left, right = number(_value(node.left, scope)), number(_value(node.right, scope))
        if left is None or right is None:
            return None
        return _ARITHMETIC[node.operator](left, right)
    if isinstance(node, Negative):
        operand = number(_value(node.operand, scope))
        return None if operand is None else -operand
    if isinstance(node, Compare):
        left = _value(node.left, scope)
        if isinstance(node.right, tuple):
            found = any(_compare("==", left, _value(v, scope)) for v in node.right)
            return found if node.operator == "in" else not found
        return _compare(node.operator, left, _value(node.right, scope))
    if isinstance(node, Logical):
        values = (bool(_value(operand, scope)) for operand in node.operands)
        return all(values) if node.operator == "and" else any(values)
    if isinstance(node, Not):
        return not bool(_value(node.operand, scope))
    if isinstance(node, Aggregate):
        return _aggregate(node, scope)
    if isinstance(node, ByDay):
        return _by_day(node, scope)
    return _scalar(node, scope)


def _aggregate(node: Aggregate, scope: _Scope) -> Decimal:
    chosen = [
        event
        for event in scope.events
        if node.where is None or bool(_value(node.where, _Scope(scope.parameters, (), event)))
    ]
    if node.function == "COUNT":
        return Decimal(len(chosen))
    assert node.argument is not None
    raw = [_value(node.argument, _Scope(scope.parameters, (), event)) for event in chosen]
    if node.function == "COUNT_DISTINCT":
        return Decimal(len({_distinct(value) for value in raw if value is not None}))
    values = [n for n in (number(value) for value in raw) if n is not None]
    if not values:
        return ZERO
    if node.function == "SUM":
        return sum(values, ZERO)
    if node.function == "MIN":
        return min(values)
    if node.function == "MAX":
        return max(values)
    return sum(values, ZERO) / len(values)


def _distinct(value: Any) -> Any:
    found = number(value)
    return ("n", found.normalize()) if found is not None else ("t", str(value))


def _by_day(node: ByDay, scope: _Scope) -> Decimal:
    days: dict[date, list[Event]] = {}
    for event in scope.events:
        days.setdefault(event.day, []).append(event)
    totals = [
        number(_value(node.expression, _Scope(scope.parameters, events))) or ZERO
        for events in days.values()
    ]
    if node.function == "SUM_BY_DAY":
        return sum(totals, ZERO)
    return max(totals, default=ZERO)


def _scalar(node: Scalar, scope: _Scope) -> Decimal | None:
    values = [number(_value(argument, scope)) for argument in node.arguments]
    if any(value is None for value in values):
        return None
    given = [value for value in values if value is not None]
    function = node.function
    if function == "GREATEST":
        return max(given)
    if function == "LEAST":
        return min(given)
    if function == "ABS":
        return abs(given[0])
    if function == "FLOOR":
        return given[0].to_integral_value(ROUND_FLOOR)
    if function == "CEIL":
        return given[0].to_integral_value(ROUND_CEILING)
    places = int(given[1]) if len(given) > 1 else 0
    return given[0].quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def evaluate(
    expression: Expression, parameters: Mapping[str, Decimal], events: Iterable[Event]
) -> Decimal:
    """The metric's value over `events` with the parameters' values (every name it uses)."""
    result = number(_value(expression.root, _Scope(parameters, tuple(events))))
    return result if result is not None else ZERO
