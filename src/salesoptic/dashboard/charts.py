"""Vega-Lite charts (Altair): one function per kind of chart, formatted for the page's language.

Vega draws every label as text and its tooltips escape HTML, so a value taken from the
data is shown as the characters it holds, never as markup. Dates arrive written for the
language and are drawn as ordered categories, so no browser time zone can move a day.
Money is drawn from floats; the exact decimal values stay in the tables and CSV.
"""

from __future__ import annotations

import json

import altair as alt
import pandas as pd

from salesoptic.dashboard.i18n import MISSING, Lang, fmt_date, header, vega_locale

HEIGHT = 340
BAR_STEP = 26
LEGEND_COLUMNS = 5
MONEY_AXIS = ",.0f"
MONEY_TIP = ",.2f"
# A fixed categorical palette, so a service or level keeps its colour across charts.
PALETTE = (
    "#4C78A8",
    "#F58518",
    "#54A24B",
    "#E45756",
    "#72B7B2",
    "#B279A2",
    "#FF9DA6",
    "#9D755D",
    "#BAB0AC",
    "#EECA3B",
)
LEVEL_COLOURS = {"DEBUG": "#BAB0AC", "INFO": "#4C78A8", "WARN": "#F58518", "ERROR": "#E45756"}


def _floats(series: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in series]


def _labels(series: pd.Series, lang: Lang) -> list[str]:
    """Category labels: dates written for the language, anything else as its text."""
    if series.name == "date":
        return [MISSING if pd.isna(v) else fmt_date(lang, v) for v in series]
    return [MISSING if pd.isna(v) else str(v) for v in series]


def _finish(chart: alt.TopLevelMixin, lang: Lang) -> alt.TopLevelMixin:
    # A legend above the plot, wrapped: a single row would run past the chart's edge.
    return chart.configure(locale=vega_locale(lang)).configure_legend(
        orient="top", title=None, labelLimit=0, columns=LEGEND_COLUMNS
    )


def _x(title: str | None = None) -> alt.X:
    # ``sort=None`` keeps the order of the rows: days and runs arrive in order.
    return alt.X(
        "x:O",
        sort=None,
        title=title,
        axis=alt.Axis(labelAngle=-45, labelOverlap=True, labelLimit=240),
    )


def _colours(names: list[str], fixed: dict[str, str] | None) -> alt.Scale:
    fixed = fixed or {}
    range_ = [fixed.get(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(names)]
    return alt.Scale(domain=names, range=range_)


def trend(daily: pd.DataFrame, lang: Lang, revenue: str, orders: str) -> alt.TopLevelMixin:
    """Daily revenue as bars, orders as a line on a second axis."""
    frame = pd.DataFrame(
        {
            "x": _labels(daily["date"], lang),
            "revenue": _floats(daily["revenue"]),
            "orders": list(daily["orders"]),
        }
    )
    tooltip = [
        alt.Tooltip("x:O", title=header(lang, "date")),
        alt.Tooltip("revenue:Q", title=revenue, format=MONEY_TIP),
        alt.Tooltip("orders:Q", title=orders, format=",.0f"),
    ]
    base = alt.Chart(frame).encode(x=_x(), tooltip=tooltip)
    bars = base.mark_bar(color=PALETTE[0]).encode(
        y=alt.Y(
            "revenue:Q",
            title=revenue,
            axis=alt.Axis(format=MONEY_AXIS, titleColor=PALETTE[0]),
        )
    )
    line = base.mark_line(color=PALETTE[1], point=True).encode(
        y=alt.Y(
            "orders:Q",
            title=orders,
            axis=alt.Axis(format=",.0f", orient="right", titleColor=PALETTE[1], grid=False),
        )
    )
    layered = alt.layer(bars, line).resolve_scale(y="independent").properties(height=HEIGHT)
    return _finish(layered, lang)


def ranked_bars(
    frame: pd.DataFrame, label: str, value: str, lang: Lang, value_title: str
) -> alt.TopLevelMixin:
    """Horizontal bars in the order of ``frame`` (largest first), one per row."""
    data = pd.DataFrame(
        {"rank": range(len(frame)), "y": _labels(frame[label], lang), "v": _floats(frame[value])}
    )
    chart = (
        alt.Chart(data)
        .mark_bar(color=PALETTE[0])
        .encode(
            # By rank, not by name: two products may share a name.
            y=alt.Y(
                "rank:O",
                title=None,
                axis=alt.Axis(labelExpr=_rank_labels(data), labelLimit=260),
            ),
            x=alt.X("v:Q", title=value_title, axis=alt.Axis(format=MONEY_AXIS)),
            tooltip=[
                alt.Tooltip("y:N", title=header(lang, label)),
                alt.Tooltip("v:Q", title=value_title, format=MONEY_TIP),
            ],
        )
        .properties(height=alt.Step(BAR_STEP))
    )
    return _finish(chart, lang)


def _rank_labels(data: pd.DataFrame) -> str:
    """A Vega expression mapping each rank to its label (labels passed as JSON strings)."""
    return f"{json.dumps(list(data['y']))}[datum.value]"


def funnel(steps: list[str], sessions: list[int], lang: Lang) -> alt.TopLevelMixin:
    """One bar per step, with its sessions and its share of the first step."""
    first = sessions[0] or 1
    data = pd.DataFrame({"y": steps, "sessions": sessions, "share": [s / first for s in sessions]})
    base = alt.Chart(data).encode(
        y=alt.Y("y:N", sort=None, title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("sessions:Q", title=None, axis=alt.Axis(format=",.0f")),
        tooltip=[
            alt.Tooltip("y:N", title=header(lang, "step")),
            alt.Tooltip("sessions:Q", title=header(lang, "sessions"), format=",.0f"),
            alt.Tooltip("share:Q", title=header(lang, "share_of_first_step"), format=".1%"),
        ],
    )
    bars = base.mark_bar(color=PALETTE[0])
    text = base.mark_text(align="left", dx=4).encode(text=alt.Text("share:Q", format=".1%"))
    return _finish(alt.layer(bars, text).properties(height=alt.Step(48)), lang)


def lines(
    frame: pd.DataFrame, x: str, y: str, series: str, lang: Lang, y_title: str, percent: bool
) -> alt.TopLevelMixin:
    """One line per value of ``series`` (a service, a dataset)."""
    ordered = frame.sort_values([x, series], kind="stable")
    data = pd.DataFrame(
        {
            "x": _labels(ordered[x], lang),
            "y": _floats(ordered[y]),
            "series": [str(v) for v in ordered[series]],
        }
    )
    names = sorted(set(data["series"]))
    fmt = ".1%" if percent else ",.0f"
    chart = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=_x(),
            y=alt.Y("y:Q", title=y_title, axis=alt.Axis(format=fmt)),
            color=alt.Color("series:N", scale=_colours(names, None), sort=names),
            tooltip=[
                alt.Tooltip("x:O", title=header(lang, x)),
                alt.Tooltip("series:N", title=header(lang, series)),
                alt.Tooltip("y:Q", title=y_title, format=fmt),
            ],
        )
        .properties(height=HEIGHT)
    )
    return _finish(chart, lang)


def stacked_bars(
    frame: pd.DataFrame,
    x: str,
    y: str,
    stack: str,
    lang: Lang,
    y_title: str,
    colours: dict[str, str] | None = None,
) -> alt.TopLevelMixin:
    """Bars of ``y`` per ``x``, stacked by ``stack`` (a stage, a log level, a reason)."""
    ordered = frame.sort_values(x, kind="stable")
    data = pd.DataFrame(
        {
            "x": _labels(ordered[x], lang),
            "y": _floats(ordered[y]),
            "stack": [str(v) for v in ordered[stack]],
        }
    )
    # Order of first appearance: stages stay bronze, silver, gold.
    names = list(dict.fromkeys(data["stack"]))
    data["order"] = [names.index(v) for v in data["stack"]]
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=_x(),
            y=alt.Y("sum(y):Q", title=y_title, axis=alt.Axis(format=",.0f")),
            color=alt.Color("stack:N", scale=_colours(names, colours), sort=names),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("x:O", title=header(lang, x)),
                alt.Tooltip("stack:N", title=header(lang, stack)),
                alt.Tooltip("sum(y):Q", title=y_title, format=",.2~f"),
            ],
        )
        .properties(height=HEIGHT)
    )
    return _finish(chart, lang)
