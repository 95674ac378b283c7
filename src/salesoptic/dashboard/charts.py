"""Plotly figures: one function per kind of chart, formatted for the page's language.

Plotly draws text through its own small HTML dialect (``<b>``, ``<a href>``, ``<br>``), so
every label taken from the data goes through ``plain`` first: its ``<``, ``>`` and ``&``
become entities that Plotly shows as the characters themselves, never as markup.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

from salesoptic.dashboard.i18n import Lang, plotly_date_format, plotly_separators

HEIGHT = 340
MONEY_AXIS = ",.0f"
# Plotly's categorical palette, fixed so a service or level keeps its colour across charts.
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


def plain(value: object) -> str:
    """A data value as Plotly text that is shown literally, never interpreted as markup."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_all(values: Iterable[object]) -> list[str]:
    return [plain(v) for v in values]


def _floats(series: pd.Series) -> list[float | None]:
    """Decimal money as floats for drawing; exact values stay in the tables and CSV."""
    return [None if pd.isna(v) else float(v) for v in series]


def _layout(fig: go.Figure, lang: Lang, height: int = HEIGHT) -> go.Figure:
    fig.update_layout(
        separators=plotly_separators(lang),
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        # Above the plot: below it, the legend would cover the x-axis labels.
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        hoverlabel={"namelength": -1},
    )
    return fig


def _date_axis(fig: go.Figure, lang: Lang) -> None:
    fig.update_xaxes(tickformat=plotly_date_format(lang), hoverformat=plotly_date_format(lang))


def trend(daily: pd.DataFrame, lang: Lang, revenue: str, orders: str) -> go.Figure:
    """Daily revenue as bars, orders as a line on a second axis."""
    fig = go.Figure()
    fig.add_bar(x=list(daily["date"]), y=_floats(daily["revenue"]), name=revenue)
    fig.add_scatter(
        x=list(daily["date"]),
        y=list(daily["orders"]),
        name=orders,
        yaxis="y2",
        mode="lines+markers",
    )
    fig.update_layout(
        yaxis={"title": revenue, "tickformat": MONEY_AXIS},
        yaxis2={"title": orders, "overlaying": "y", "side": "right", "showgrid": False},
    )
    _date_axis(fig, lang)
    return _layout(fig, lang)


def ranked_bars(
    frame: pd.DataFrame, label: str, value: str, lang: Lang, value_title: str
) -> go.Figure:
    """Horizontal bars, largest at the top."""
    ordered = frame.iloc[::-1]
    fig = go.Figure(
        go.Bar(
            x=_floats(ordered[value]),
            y=plain_all(ordered[label]),
            orientation="h",
            hovertemplate="%{y}: %{x:,.2f}<extra></extra>",
        )
    )
    fig.update_xaxes(title=value_title, tickformat=MONEY_AXIS)
    fig.update_yaxes(type="category", automargin=True)
    height = max(HEIGHT, 28 * len(frame) + 80)
    return _layout(fig, lang, height)


def funnel(steps: list[str], sessions: list[int], lang: Lang) -> go.Figure:
    fig = go.Figure(go.Funnel(y=steps, x=sessions, textinfo="value+percent initial"))
    return _layout(fig, lang)


def lines(
    frame: pd.DataFrame, x: str, y: str, series: str, lang: Lang, y_title: str, percent: bool
) -> go.Figure:
    """One line per value of ``series`` (a service, a dataset)."""
    fig = go.Figure()
    for i, (name, part) in enumerate(frame.groupby(series, sort=True)):
        fig.add_scatter(
            x=list(part[x]),
            y=_floats(part[y]),
            name=plain(name),
            mode="lines+markers",
            line={"color": PALETTE[i % len(PALETTE)]},
        )
    fig.update_yaxes(title=y_title, tickformat=".1%" if percent else ",.0f")
    if pd.api.types.is_datetime64_any_dtype(frame[x]) or x == "date":
        _date_axis(fig, lang)
    else:
        fig.update_xaxes(type="category")
    return _layout(fig, lang)


def stacked_bars(
    frame: pd.DataFrame,
    x: str,
    y: str,
    stack: str,
    lang: Lang,
    y_title: str,
    colours: dict[str, str] | None = None,
) -> go.Figure:
    """Bars of ``y`` per ``x``, stacked by ``stack`` (a stage, a log level, a reason)."""
    fig = go.Figure()
    # Order of first appearance: stages stay bronze, silver, gold.
    for i, (name, part) in enumerate(frame.groupby(stack, sort=False)):
        colour = (colours or {}).get(str(name), PALETTE[i % len(PALETTE)])
        fig.add_bar(
            x=plain_all(part[x]) if x != "date" else list(part[x]),
            y=_floats(part[y]),
            name=plain(name),
            marker_color=colour,
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title=y_title)
    if x == "date":
        _date_axis(fig, lang)
    else:
        fig.update_xaxes(type="category")
    return _layout(fig, lang)
