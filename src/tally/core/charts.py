"""Chart geometry for SVG drawn on the server (the portal's usage graph, the dashboard's
analytics): round axis bounds, and the coordinates of grouped bars and of lines over labelled
columns. Templates turn these into `<svg>`; values arrive as exact `Decimal`s and are only
turned into float pixels here. Text (tips, tick labels) is formatted by the caller."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH = 640
HEIGHT = 240
LEFT = 64
RIGHT = 12
TOP = 12
BOTTOM = 30
# Colour-blind-safe (Okabe-Ito), in order of the series.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442")


def nice_max(value: Decimal) -> Decimal:
    """A round upper bound for an axis (1, 2, 2.5, 5 or 10 times a power of ten)."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    base = Decimal(10) ** exponent
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        if value <= step * base:
            return step * base
    return 10 * base


def divisions(span: Decimal) -> int:
    """How many equal steps the axis takes so each is round too (2,500 in 5 steps of 500, not
    4 of 625): 4 unless that step is not 1, 2, 2.5 or 5 times a power of ten."""
    for parts in (4, 5, 6, 3):
        step = span / parts
        if step > 0 and step / Decimal(10) ** step.adjusted() in ROUND_STEPS:
            return parts
    return 4


ROUND_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5))


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    tip: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    tip: str


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    bars: list[Bar]
    points: list[Point]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)


@dataclass(frozen=True)
class Chart:
    title: str
    kind: str  # "bars" or "lines"
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    series: list[Series]
    zero: float  # the y of the value 0


def chart(
    kind: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Decimal]]],
    value_text: Callable[[Decimal], str],
    *,
    tips: Sequence[str] | None = None,
    every: int | None = None,
) -> Chart:
    """Grouped bars ("bars") or lines with a dot per column ("lines"): one column per label,
    one bar or line per series (name, a value per label). `value_text` writes the y ticks and
    the tips ("Jan 2026 · Net: £1,200.00"; `tips` gives each column's long label)."""
    count = max(len(labels), 1)
    values = [v for _, row in series for v in row]
    high = nice_max(max(values, default=Decimal(0)))
    lowest = min(values, default=Decimal(0))
    low = -nice_max(-lowest) if lowest < 0 else Decimal(0)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    span = high - low

    def y_of(value: Decimal) -> float:
        return round(TOP + plot_h - float((value - low) / span) * plot_h, 1)

    column = plot_w / count
    long_labels = list(tips) if tips is not None else list(labels)
    drawn = []
    for index, (name, row) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        bars, points = [], []
        for i, value in enumerate(row):
            tip = f"{long_labels[i]} \u00b7 {name}: {value_text(value)}"
            if kind == "bars":
                width = column * 0.8 / len(series)
                x = LEFT + column * i + column * 0.1 + width * index
                top, bottom = sorted((y_of(value), y_of(Decimal(0))))
                bars.append(
                    Bar(round(x, 1), top, round(width, 1), round(bottom - top, 1), color, tip)
                )
            else:
                x = LEFT + column * i + column / 2
                points.append(Point(round(x, 1), y_of(value), tip))
        drawn.append(Series(name, color, bars, points))
    step = every or max(1, -(-count // 6))  # six labels at most: they stay apart
    x_ticks = [
        Tick(round(LEFT + column * i + column / 2, 1), label)
        for i, label in enumerate(labels)
        if i % step == 0
    ]
    parts = divisions(span)
    y_ticks = [
        Tick(y_of(low + span * n / parts), value_text(low + span * n / parts))
        for n in range(parts + 1)
    ]
    return Chart(
        title=title,
        kind=kind,
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=HEIGHT - BOTTOM,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        series=drawn,
        zero=y_of(Decimal(0)),
    )
