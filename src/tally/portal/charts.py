"""The usage graph, drawn on the server as SVG geometry: one line per metric, a dot per bucket
with its value (the dot's `<title>` and `data-tip`, which `portal.js` shows on hover), axes
with round ticks. No JavaScript is needed to see it. Numbers, days and the graph's title are
in the viewer's locale (`documents.languages`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_compact_decimal, format_decimal
from markupsafe import Markup

from tally.core.charts import nice_max
from tally.core.formatting import DEFAULT_LOCALE
from tally.core.i18n import translations_for_locale
from tally.portal.data.series import UsageSeries

WIDTH = 640
HEIGHT = 260
LEFT = 56
RIGHT = 12
TOP = 12
BOTTOM = 30
LOCALE = DEFAULT_LOCALE


@lru_cache(maxsize=16)
def _parsed(locale: str) -> Locale:
    """A parsed Locale: Babel parses a locale string again on every call."""
    return Locale.parse(locale)


@lru_cache(maxsize=4096)
def quantity(text: str, locale: str = LOCALE) -> str:
    """A quantity (given as its decimal string, so the cache is exact) as people read it."""
    return format_decimal(Decimal(text), locale=_parsed(locale), decimal_quantization=False)


@lru_cache(maxsize=4096)
def long_day(day: date, locale: str = LOCALE) -> str:
    """ "21 Nov 2026", "21. Nov. 2026" (cached: Babel parses and applies the pattern on every
    call). The locale's medium date, as documents print days."""
    return format_date(day, "medium", locale=_parsed(locale))


@lru_cache(maxsize=4096)
def short_day(day: date, locale: str = LOCALE) -> str:
    """ "21 Nov", for the x axis: the locale's day and abbreviated month."""
    return format_skeleton_date(day, "MMMd", locale)


def format_skeleton_date(day: date, skeleton: str, locale: str) -> str:
    parsed = _parsed(locale)
    pattern = parsed.datetime_skeletons.get(skeleton)
    return format_date(day, pattern or "d MMM", locale=parsed)


@lru_cache(maxsize=1024)
def _compact(value: Decimal, locale: str = LOCALE) -> str:
    return format_compact_decimal(value, locale=_parsed(locale), fraction_digits=1)


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    tip: str  # "21 Nov 2026 · Verifications: 6"


@dataclass(frozen=True)
class Line:
    name: str
    color: str
    points: str  # the polyline's "x,y x,y ..."
    dots: list[Dot]
    # The dots' <circle> elements, escaped once here: one Markup string instead of five
    # autoescaped values per dot in the template (hundreds per page).
    circles: Markup


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    lines: list[Line]
    title: str


def bucket_label(series: UsageSeries, start: datetime, zone: str, locale: str = LOCALE) -> str:
    if series.hourly:
        local = start.astimezone(ZoneInfo(zone))
        end = local + timedelta(hours=1)
        return (
            f"{short_day(local.date(), locale)} {format_datetime(local, 'HH:mm', locale=locale)}"
            f"\u2013{format_datetime(end, 'HH:mm', locale=locale)}"
        )
    return long_day(start.date(), locale)


_CIRCLE = Markup(
    '<circle cx="{}" cy="{}" r="3.5" fill="{}" data-tip="{}"><title>{}</title></circle>'
)


def _circles(dots: list[Dot], color: str) -> Markup:
    return Markup("\n").join(_CIRCLE.format(dot.x, dot.y, color, dot.tip, dot.tip) for dot in dots)


def usage_chart(series: UsageSeries, zone: str, locale: str = LOCALE) -> Chart:
    count = len(series.buckets)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    highest = max((v for s in series.series for v in s.values), default=Decimal(0))
    top_value = nice_max(highest)

    def x_of(index: int) -> float:
        return round(LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2), 1)

    def y_of(value: Decimal) -> float:
        return round(TOP + plot_h - float(value / top_value) * plot_h, 1)

    labels = [bucket_label(series, bucket, zone, locale) for bucket in series.buckets]
    lines = []
    for metric_series in series.series:
        unit = f" {metric_series.metric.unit}" if metric_series.metric.unit else ""
        dots = [
            Dot(
                x_of(i),
                y_of(value),
                f"{labels[i]} \u00b7 {metric_series.metric.name}: "
                f"{quantity(str(value), locale)}{unit}",
            )
            for i, value in enumerate(metric_series.values)
        ]
        lines.append(
            Line(
                name=metric_series.metric.name,
                color=metric_series.metric.color,
                points=" ".join(f"{dot.x},{dot.y}" for dot in dots),
                dots=dots,
                circles=_circles(dots, metric_series.metric.color),
            )
        )
    y_ticks = [
        Tick(
            y_of(top_value * step / 4),
            _compact(top_value * step / 4, locale),
        )
        for step in range(5)
    ]
    every = max(1, -(-count // 5))  # five labels at most: they stay apart on a phone
    x_ticks = []
    for i in range(0, count, every):
        bucket = series.buckets[i]
        if series.hourly:
            text = format_datetime(bucket.astimezone(ZoneInfo(zone)), "HH:mm", locale=locale)
        else:
            text = short_day(bucket.date(), locale)
        x_ticks.append(Tick(x_of(i), text))
    first, last = (labels[0], labels[-1]) if labels else ("", "")
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=HEIGHT - BOTTOM,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        lines=lines,
        title=translations_for_locale(locale).gettext("Usage from %(first)s to %(last)s")
        % {"first": first, "last": last},
    )
