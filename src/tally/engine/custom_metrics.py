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


@dataclass(frozen=True)
class _Context:
    in_aggregate: bool = False
    in_day: bool = False


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.parameters: set[str] = set()
        self.handlers: dict[type[ast.expr], Callable[[Any, _Context], Node]] = {
            ast.Constant: self.constant,
            ast.Name: self.name,
            ast.Attribute: self.property,
            ast.Subscript: self.property,
            ast.BinOp: self.binary,
            ast.UnaryOp: self.unary,
            ast.BoolOp: self.boolean,
            ast.Compare: self.compare,
            ast.Call: self.call,
        }

    def node(self, tree: ast.expr, context: _Context) -> Node:
        handler = self.handlers.get(type(tree))
        if handler is None:
            raise ExpressionError(f"{_spelled(self.source, tree)!r} is not part of the language")
        return handler(tree, context)

    def constant(self, tree: ast.Constant, _: _Context) -> Node:
        value = tree.value
        if isinstance(value, str):
            return Text(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExpressionError(f"{value!r} is not a value of the language")
        text = (ast.get_source_segment(self.source, tree) or str(value)).replace("_", "")
        try:
            return Number(Decimal(text))
        except InvalidOperation:
            raise ExpressionError(f"{text} is not a decimal number") from None

    def name(self, tree: ast.Name, _: _Context) -> Node:
        if tree.id == "event":
            raise ExpressionError("name an event property: event.<property>")
        self.parameters.add(tree.id)
        return Parameter(tree.id)

    def property(self, tree: ast.Attribute | ast.Subscript, context: _Context) -> Node:
        if not (isinstance(tree.value, ast.Name) and tree.value.id == "event"):
            raise ExpressionError(f"{_spelled(self.source, tree)!r}: only event.<property> is read")
        if isinstance(tree, ast.Attribute):
            name = tree.attr
        elif isinstance(tree.slice, ast.Constant) and isinstance(tree.slice.value, str):
            name = tree.slice.value
        else:
            raise ExpressionError('event["..."] takes the property name as text')
        if not context.in_aggregate:
            raise ExpressionError(
                f"event.{name} is read inside an aggregate, e.g. SUM(event.{name})"
            )
        return Property(name)

    def binary(self, tree: ast.BinOp, context: _Context) -> Node:
        operator = _BINARY.get(type(tree.op))
        if operator is None:
            raise ExpressionError(f"{_spelled(self.source, tree)!r}: use + - * /")
        return Binary(operator, self.node(tree.left, context), self.node(tree.right, context))

    def unary(self, tree: ast.UnaryOp, context: _Context) -> Node:
        operand = self.node(tree.operand, context)
        if isinstance(tree.op, ast.Not):
            return Not(operand)
        if isinstance(tree.op, ast.Invert):
            raise ExpressionError("~ is not part of the language")
        return Negative(operand) if isinstance(tree.op, ast.USub) else operand

    def boolean(self, tree: ast.BoolOp, context: _Context) -> Node:
        operator = "and" if isinstance(tree.op, ast.And) else "or"
        return Logical(operator, tuple(self.node(value, context) for value in tree.values))

    def compare(self, tree: ast.Compare, context: _Context) -> Node:
        parts: list[Node] = []
        left = self.node(tree.left, context)
        for op, comparator in zip(tree.ops, tree.comparators, strict=True):
            operator = _COMPARE.get(type(op))
            if operator is None:
                raise ExpressionError(f"{type(op).__name__} is not a comparison of the language")
            right: Node | tuple[Node, ...]
            if operator in ("in", "notin"):
                if not isinstance(comparator, ast.Tuple | ast.List):
                    raise ExpressionError("in takes a list of values: x in ('a', 'b')")
                right = tuple(self.node(element, context) for element in comparator.elts)
            else:
                right = self.node(comparator, context)
            parts.append(Compare(operator, left, right))
            if not isinstance(right, tuple):
                left = right
        return parts[0] if len(parts) == 1 else Logical("and", tuple(parts))

    def call(self, tree: ast.Call, context: _Context) -> Node:
        if not isinstance(tree.func, ast.Name):
            raise ExpressionError(f"{_spelled(self.source, tree.func)!r} is not a function")
        name = tree.func.id.upper()
        if name in AGGREGATES:
            return self.aggregate(name, tree, context)
        if tree.keywords:
            raise ExpressionError(f"{name} takes no where=")
        if name in BY_DAY:
            if context.in_aggregate or context.in_day or len(tree.args) != 1:
                raise ExpressionError(f"{name} takes one expression, outside aggregates and days")
            return ByDay(name, self.node(tree.args[0], _Context(in_day=True)))
        if name not in SCALARS:
            known = ", ".join((*AGGREGATES, *BY_DAY, *SCALARS))
            raise ExpressionError(f"{tree.func.id} is not a function of the language ({known})")
        low, high = _ARITY.get(name, (2, 20))
        if not low <= len(tree.args) <= high:
            raise ExpressionError(f"{name} takes {low} to {high} arguments")
        return Scalar(name, tuple(self.node(argument, context) for argument in tree.args))

    def aggregate(self, name: str, tree: ast.Call, context: _Context) -> Aggregate:
        if context.in_aggregate:
            raise ExpressionError(f"{name}(...) cannot sit inside another aggregate")
        inside = _Context(in_aggregate=True, in_day=context.in_day)
        where: Node | None = None
        for keyword in tree.keywords:
            if keyword.arg != "where":
                raise ExpressionError(f"{name} takes where=<condition>, not {keyword.arg}=")
            where = self.node(keyword.value, inside)
        wanted = 0 if name == "COUNT" else 1
        if len(tree.args) != wanted:
            raise ExpressionError(f"{name} takes {wanted} argument{'s' if wanted != 1 else ''}")
        argument = self.node(tree.args[0], inside) if tree.args else None
        return Aggregate(name, argument, where)


_ARITY = {"ABS": (1, 1), "FLOOR": (1, 1), "CEIL": (1, 1), "ROUND": (1, 2)}


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
    root = parser.node(tree.body, _Context())
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
    return _EVALUATE[type(node)](node, scope)


def _property(node: Property, scope: _Scope) -> Any:
    assert scope.event is not None
    return scope.event.properties.get(node.name)


def _binary(node: Binary, scope: _Scope) -> Decimal | None:
    left, right = number(_value(node.left, scope)), number(_value(node.right, scope))
    if left is None or right is None:
        return None
    return _ARITHMETIC[node.operator](left, right)


def _negative(node: Negative, scope: _Scope) -> Decimal | None:
    operand = number(_value(node.operand, scope))
    return None if operand is None else -operand


def _comparison(node: Compare, scope: _Scope) -> bool:
    left = _value(node.left, scope)
    if isinstance(node.right, tuple):
        found = any(_compare("==", left, _value(value, scope)) for value in node.right)
        return found if node.operator == "in" else not found
    return _compare(node.operator, left, _value(node.right, scope))


def _logical(node: Logical, scope: _Scope) -> bool:
    values = (bool(_value(operand, scope)) for operand in node.operands)
    return all(values) if node.operator == "and" else any(values)


_REDUCE: dict[str, Callable[[list[Decimal]], Decimal]] = {
    "SUM": lambda values: sum(values, ZERO),
    "MIN": min,
    "MAX": max,
    "AVG": lambda values: sum(values, ZERO) / len(values),
}


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
    return _REDUCE[node.function](values) if values else ZERO


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


def _round(values: list[Decimal]) -> Decimal:
    places = int(values[1]) if len(values) > 1 else 0
    return values[0].quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


_SCALAR: dict[str, Callable[[list[Decimal]], Decimal]] = {
    "GREATEST": max,
    "LEAST": min,
    "ABS": lambda values: abs(values[0]),
    "FLOOR": lambda values: values[0].to_integral_value(ROUND_FLOOR),
    "CEIL": lambda values: values[0].to_integral_value(ROUND_CEILING),
    "ROUND": _round,
}


def _scalar(node: Scalar, scope: _Scope) -> Decimal | None:
    values = [number(_value(argument, scope)) for argument in node.arguments]
    given = [value for value in values if value is not None]
    return _SCALAR[node.function](given) if len(given) == len(values) else None


_EVALUATE: dict[type, Callable[[Any, _Scope], Any]] = {
    Number: lambda node, _: node.value,
    Text: lambda node, _: node.value,
    Parameter: lambda node, scope: scope.parameters[node.name],
    Property: _property,
    Binary: _binary,
    Negative: _negative,
    Compare: _comparison,
    Logical: _logical,
    Not: lambda node, scope: not bool(_value(node.operand, scope)),
    Aggregate: _aggregate,
    ByDay: _by_day,
    Scalar: _scalar,
}


def evaluate(
    expression: Expression, parameters: Mapping[str, Decimal], events: Iterable[Event]
) -> Decimal:
    """The metric's value over `events` with the parameters' values (every name it uses)."""
    result = number(_value(expression.root, _Scope(parameters, tuple(events))))
    return result if result is not None else ZERO
