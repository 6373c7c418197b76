"""Geometry for the small server-rendered SVG column charts (pure functions, no Django, no I/O).

Templates draw what these return with presentation attributes only (strict CSP: no `style=`). Horizontal
positions are percentages of the chart's width, so the SVG stretches to any screen without scaling its text;
vertical positions are pixels inside a fixed-height drawing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

PLOT_TOP = 14.0  # room above the highest gridline for its label
PLOT_HEIGHT = 140.0
AXIS_HEIGHT = 22.0  # below the plot: the column labels
COLUMN_FILL = 0.72  # share of a slot a column takes; the rest is the gap between columns


@dataclass(frozen=True)
class Bucket:
    """One column's input: a label for tooltips, a short tick label ("" for none), one value per series."""

    label: str
    values: tuple[int, ...]
    tick: str = ""


@dataclass(frozen=True)
class Segment:
    x: float  # percent of the chart's width
    y: float  # pixels from the top
    width: float  # percent
    height: float  # pixels
    value: int
    css: str


@dataclass(frozen=True)
class Column:
    label: str
    total: int
    segments: tuple[Segment, ...]
    slot_x: float  # percent: the column's whole slot, for the tooltip's hover area
    slot_width: float
    tick: str
    tick_x: float  # percent
    tick_anchor: str  # SVG text-anchor: the outermost labels hug the edges instead of overflowing them
    title: str  # the tooltip: "Nov 3: 12 orders"


@dataclass(frozen=True)
class Gridline:
    y: float
    value: int

    @property
    def label_y(self) -> float:
        return _r(self.y - 3)


@dataclass(frozen=True)
class Chart:
    columns: tuple[Column, ...]
    gridlines: tuple[Gridline, ...]
    top: int  # the value at the top of the plot
    total: int
    height: float  # the SVG's height in pixels
    plot_top: float
    baseline: float  # y of the zero line
    tick_y: float  # y of the column labels' baseline

    @property
    def plot_height(self) -> float:
        return _r(self.baseline - self.plot_top)

    @property
    def empty(self) -> bool:
        return self.total == 0


def nice_step(value: float, *, ticks: int = 4) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ (at least 1) that reaches `value` in `ticks` steps."""
    if value <= 0:
        return 1
    raw = value / ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return max(1, int(factor * magnitude))
    raise AssertionError("unreachable")  # pragma: no cover


def column_chart(
    buckets: Sequence[Bucket],
    *,
    series: Sequence[str],
    describe: Callable[[Bucket], str] | None = None,
    plot_height: float = PLOT_HEIGHT,
) -> Chart:
    """Stacked columns, one per bucket, the first series at the bottom. `series` names each value's CSS class.

    The scale's top is a whole number of "nice" steps at or above the highest column, so gridlines fall on
    round values; an all-zero chart keeps a top of 1 so nothing divides by zero.
    """
    if any(len(b.values) != len(series) for b in buckets):
        raise ValueError("every bucket needs one value per series")
    if any(v < 0 for b in buckets for v in b.values):
        raise ValueError("column charts draw counts: values cannot be negative")
    highest = max((sum(b.values) for b in buckets), default=0)
    step = nice_step(highest)
    top = max(step, step * math.ceil(highest / step))
    baseline = PLOT_TOP + plot_height
    scale = plot_height / top
    slot = 100.0 / len(buckets) if buckets else 100.0
    width = slot * COLUMN_FILL
    columns = []
    for index, bucket in enumerate(buckets):
        x = index * slot + (slot - width) / 2
        y = baseline
        segments = []
        for value, css in zip(bucket.values, series, strict=True):
            height = value * scale
            y -= height
            if value:
                segments.append(Segment(x=_r(x), y=_r(y), width=_r(width), height=_r(height), value=value, css=css))
        anchor, tick_x = "middle", index * slot + slot / 2
        if index == len(buckets) - 1 and len(buckets) > 1:
            anchor, tick_x = "end", x + width
        elif index == 0 and len(buckets) > 1:
            anchor, tick_x = "start", x
        columns.append(
            Column(
                label=bucket.label,
                total=sum(bucket.values),
                segments=tuple(segments),
                slot_x=_r(index * slot),
                slot_width=_r(slot),
                tick=bucket.tick,
                tick_x=_r(tick_x),
                tick_anchor=anchor,
                title=describe(bucket) if describe else f"{bucket.label}: {sum(bucket.values)}",
            )
        )
    gridlines = tuple(Gridline(y=_r(baseline - v * scale), value=v) for v in range(0, top + 1, step))
    return Chart(
        columns=tuple(columns),
        gridlines=gridlines,
        top=top,
        total=sum(c.total for c in columns),
        height=baseline + AXIS_HEIGHT,
        plot_top=PLOT_TOP,
        baseline=baseline,
        tick_y=baseline + AXIS_HEIGHT - 6,
    )


def fill_days(counts: Mapping[date, int], *, last: date, days: int) -> list[tuple[date, int]]:
    """`days` consecutive dates ending with `last`, oldest first; a date the query did not return counts 0."""
    first = last - timedelta(days=days - 1)
    return [(first + timedelta(days=n), counts.get(first + timedelta(days=n), 0)) for n in range(days)]


def fill_hours(
    counts: Mapping[datetime, tuple[int, ...]], *, last: datetime, hours: int, width: int
) -> list[tuple[datetime, tuple[int, ...]]]:
    """`hours` consecutive hour starts ending with `last` (already truncated to the hour), oldest first;
    an hour with no row gets `width` zeros."""
    first = last - timedelta(hours=hours - 1)
    zero = (0,) * width
    return [(first + timedelta(hours=n), counts.get(first + timedelta(hours=n), zero)) for n in range(hours)]


def labelled_indexes(size: int, every: int) -> set[int]:
    """Which of `size` columns get a tick label: every `every`-th, counted back from the newest (always labelled)."""
    return {i for i in range(size) if (size - 1 - i) % every == 0}


def _r(value: float) -> float:
    return round(value, 2)
