"""The SVG geometry helpers are pure: numbers in, rectangles out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from orders.charts import (
    COLUMN_FILL,
    PLOT_HEIGHT,
    PLOT_TOP,
    Bucket,
    column_chart,
    fill_days,
    fill_hours,
    labelled_indexes,
    nice_step,
)


@pytest.mark.parametrize(
    ("value", "step"),
    [(0, 1), (-3, 1), (1, 1), (3, 1), (4, 1), (5, 2), (7, 2), (8, 2), (9, 5), (20, 5), (21, 10), (100, 50), (101, 50),
     (201, 100), (999, 500)],
)  # fmt: skip
def test_nice_step_reaches_the_value_in_four_round_steps(value, step):
    assert nice_step(value) == step
    assert nice_step(value) * 4 >= value


def test_columns_scale_to_a_round_top_and_stack_from_the_baseline():
    chart = column_chart(
        [Bucket("a", (3, 1), "A"), Bucket("b", (0, 0)), Bucket("c", (6, 0), "C")], series=("sent", "failed")
    )
    assert chart.top == 6 and chart.total == 10 and not chart.empty
    assert [g.value for g in chart.gridlines] == [0, 2, 4, 6]
    assert chart.gridlines[0].y == PLOT_TOP + PLOT_HEIGHT == chart.baseline
    assert chart.gridlines[-1].y == PLOT_TOP
    assert chart.gridlines[-1].label_y == PLOT_TOP - 3

    first, empty, last = chart.columns
    sent, failed = first.segments
    assert (sent.css, sent.value, failed.css, failed.value) == ("sent", 3, "failed", 1)
    assert sent.height == pytest.approx(PLOT_HEIGHT / 2)  # 3 of 6
    assert sent.y + sent.height == pytest.approx(chart.baseline)  # the first series sits on the baseline
    assert failed.y + failed.height == pytest.approx(sent.y)  # the next one on top of it
    assert empty.segments == () and empty.total == 0  # zero values draw nothing
    assert last.segments[0].y == pytest.approx(PLOT_TOP)  # the highest column reaches the top

    # Horizontal geometry is in percent: slots tile the width, columns sit inside their slot with a gap.
    assert [c.slot_x for c in chart.columns] == pytest.approx([0, 33.33, 66.67], abs=0.01)
    assert sum(c.slot_width for c in chart.columns) == pytest.approx(100, abs=0.02)
    for column in chart.columns:
        for segment in column.segments:
            assert column.slot_x < segment.x and segment.x + segment.width < column.slot_x + column.slot_width
    assert chart.height > chart.baseline > chart.tick_y - 30


def test_outer_labels_hug_the_edges_and_tooltips_describe_the_column():
    chart = column_chart(
        [Bucket(f"day {n}", (n,), str(n)) for n in range(5)],
        series=("bar",),
        describe=lambda b: f"{b.label}: {b.values[0]} orders",
    )
    anchors = [c.tick_anchor for c in chart.columns]
    assert anchors == ["start", "middle", "middle", "middle", "end"]
    last = chart.columns[-1].segments[0]
    assert chart.columns[-1].tick_x == pytest.approx(last.x + last.width)  # right-aligned to the last column
    assert chart.columns[0].tick_x == pytest.approx((20 - 20 * COLUMN_FILL) / 2)  # left-aligned to the first column
    assert chart.columns[2].title == "day 2: 2 orders"
    assert column_chart([Bucket("x", (1,))], series=("bar",)).columns[0].tick_anchor == "middle"


def test_an_all_zero_or_empty_chart_keeps_a_scale():
    chart = column_chart([Bucket("a", (0,)), Bucket("b", (0,))], series=("bar",))
    assert chart.empty and chart.top == 1 and all(c.segments == () for c in chart.columns)
    assert column_chart([], series=("bar",)).columns == ()


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one value per series"):
        column_chart([Bucket("a", (1, 2))], series=("bar",))
    with pytest.raises(ValueError, match="negative"):
        column_chart([Bucket("a", (-1,))], series=("bar",))


def test_fill_days_counts_missing_dates_as_zero_oldest_first():
    last = date(2026, 3, 9)
    filled = fill_days({date(2026, 3, 9): 4, date(2026, 3, 7): 2, date(2026, 1, 1): 99}, last=last, days=4)
    assert filled == [(date(2026, 3, 6), 0), (date(2026, 3, 7), 2), (date(2026, 3, 8), 0), (date(2026, 3, 9), 4)]


def test_fill_hours_steps_in_real_hours():
    last = datetime(2026, 3, 8, 9, tzinfo=UTC)  # a DST change in the US: real hours, no merged or missing hour
    filled = fill_hours({last - timedelta(hours=2): (1, 2)}, last=last, hours=3, width=2)
    assert filled == [(last - timedelta(hours=2), (1, 2)), (last - timedelta(hours=1), (0, 0)), (last, (0, 0))]


def test_labelled_indexes_always_label_the_newest_column():
    assert labelled_indexes(30, 7) == {1, 8, 15, 22, 29}
    assert labelled_indexes(24, 6) == {5, 11, 17, 23}
    assert labelled_indexes(0, 6) == set()
