"""Vega-Lite charts: one function per kind of chart, formatted for the page's language.

Each function returns a Vega-Lite spec as a plain dict whose rows are a named dataset
(a DataFrame, sent to the browser as Arrow); ``draw`` puts it on the page. Plain specs
skip Altair's schema validation, which took about a third of a page run.

Vega draws every label as text and its tooltips escape HTML, so a value taken from the
data is shown as the characters it holds, never as markup. Dates arrive written for the
language and are drawn as ordered categories, so no browser time zone can move a day.
Money is drawn from floats; the exact decimal values stay in the tables and CSV.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from salesoptic.dashboard.i18n import MISSING, Lang, fmt_date, header, vega_locale

Spec = dict[str, Any]

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


def draw(spec: Spec, key: str) -> None:
    st.vega_lite_chart(spec, width="stretch", key=key)


def _spec(rows: pd.DataFrame, lang: Lang, **spec: Any) -> Spec:
    return {
        "data": {"name": "rows"},
        "datasets": {"rows": rows},
        **spec,
        # A legend above the plot, wrapped: a single row would run past the chart's edge.
        "config": {
            "locale": vega_locale(lang),
            "legend": {"orient": "top", "title": None, "labelLimit": 0, "columns": LEGEND_COLUMNS},
        },
    }


def _field(name: str, kind: str, title: str | None, **more: Any) -> dict[str, Any]:
    return {"field": name, "type": kind, "title": title, **more}


def _legend(name: str, scale: dict[str, Any], names: list[str]) -> dict[str, Any]:
    # No title key: the config hides legend titles, and Streamlit would draw a null
    # channel title as a blank line above the legend.
    return {"field": name, "type": "nominal", "scale": scale, "sort": names}


def _x(title: str | None = None) -> dict[str, Any]:
    # ``sort: null`` keeps the order of the rows: days and runs arrive in order.
    axis = {"labelAngle": -45, "labelOverlap": True, "labelLimit": 240}
    return _field("x", "ordinal", title, sort=None, axis=axis)


def _colours(names: list[str], fixed: dict[str, str] | None) -> dict[str, Any]:
    fixed = fixed or {}
    range_ = [fixed.get(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(names)]
    return {"domain": names, "range": range_}


def trend(daily: pd.DataFrame, lang: Lang, revenue: str, orders: str) -> Spec:
    """Daily revenue as bars, orders as a line on a second axis."""
    rows = pd.DataFrame(
        {
            "x": _labels(daily["date"], lang),
            "revenue": _floats(daily["revenue"]),
            "orders": list(daily["orders"]),
        }
    )
    tooltip = [
        _field("x", "ordinal", header(lang, "date")),
        _field("revenue", "quantitative", revenue, format=MONEY_TIP),
        _field("orders", "quantitative", orders, format=",.0f"),
    ]
    bars = {
        "mark": {"type": "bar", "color": PALETTE[0]},
        "encoding": {
            "x": _x(),
            "y": _field(
                "revenue",
                "quantitative",
                revenue,
                axis={"format": MONEY_AXIS, "titleColor": PALETTE[0]},
            ),
            "tooltip": tooltip,
        },
    }
    line_axis = {"format": ",.0f", "orient": "right", "titleColor": PALETTE[1], "grid": False}
    line = {
        "mark": {"type": "line", "color": PALETTE[1], "point": True},
        "encoding": {
            "x": _x(),
            "y": _field("orders", "quantitative", orders, axis=line_axis),
            "tooltip": tooltip,
        },
    }
    return _spec(
        rows, lang, layer=[bars, line], resolve={"scale": {"y": "independent"}}, height=HEIGHT
    )


def ranked_bars(frame: pd.DataFrame, label: str, value: str, lang: Lang, value_title: str) -> Spec:
    """Horizontal bars in the order of ``frame`` (largest first), one per row."""
    rows = pd.DataFrame(
        {"rank": range(len(frame)), "y": _labels(frame[label], lang), "v": _floats(frame[value])}
    )
    encoding = {
        # By rank, not by name: two products may share a name.
        "y": _field(
            "rank", "ordinal", None, axis={"labelExpr": _rank_labels(rows), "labelLimit": 260}
        ),
        "x": _field("v", "quantitative", value_title, axis={"format": MONEY_AXIS}),
        "tooltip": [
            _field("y", "nominal", header(lang, label)),
            _field("v", "quantitative", value_title, format=MONEY_TIP),
        ],
    }
    return _spec(
        rows,
        lang,
        mark={"type": "bar", "color": PALETTE[0]},
        encoding=encoding,
        height={"step": BAR_STEP},
    )


def _rank_labels(rows: pd.DataFrame) -> str:
    """A Vega expression mapping each rank to its label (labels passed as JSON strings)."""
    return f"{json.dumps(list(rows['y']))}[datum.value]"


def funnel(steps: list[str], sessions: list[int], lang: Lang) -> Spec:
    """One bar per step, with its sessions and its share of the first step."""
    first = sessions[0] or 1
    rows = pd.DataFrame({"y": steps, "sessions": sessions, "share": [s / first for s in sessions]})
    encoding = {
        "y": _field("y", "nominal", None, sort=None, axis={"labelLimit": 260}),
        "x": _field("sessions", "quantitative", None, axis={"format": ",.0f"}),
        "tooltip": [
            _field("y", "nominal", header(lang, "step")),
            _field("sessions", "quantitative", header(lang, "sessions"), format=",.0f"),
            _field("share", "quantitative", header(lang, "share_of_first_step"), format=".1%"),
        ],
    }
    bars = {"mark": {"type": "bar", "color": PALETTE[0]}, "encoding": encoding}
    text = {
        "mark": {"type": "text", "align": "left", "dx": 4},
        "encoding": {**encoding, "text": _field("share", "quantitative", None, format=".1%")},
    }
    return _spec(rows, lang, layer=[bars, text], height={"step": 48})


def lines(
    frame: pd.DataFrame, x: str, y: str, series: str, lang: Lang, y_title: str, percent: bool
) -> Spec:
    """One line per value of ``series`` (a service, a dataset)."""
    ordered = frame.sort_values([x, series], kind="stable")
    rows = pd.DataFrame(
        {
            "x": _labels(ordered[x], lang),
            "y": _floats(ordered[y]),
            "series": [str(v) for v in ordered[series]],
        }
    )
    names = sorted(set(rows["series"]))
    fmt = ".1%" if percent else ",.0f"
    encoding = {
        "x": _x(),
        "y": _field("y", "quantitative", y_title, axis={"format": fmt}),
        "color": _legend("series", _colours(names, None), names),
        "tooltip": [
            _field("x", "ordinal", header(lang, x)),
            _field("series", "nominal", header(lang, series)),
            _field("y", "quantitative", y_title, format=fmt),
        ],
    }
    return _spec(rows, lang, mark={"type": "line", "point": True}, encoding=encoding, height=HEIGHT)


def stacked_bars(
    frame: pd.DataFrame,
    x: str,
    y: str,
    stack: str,
    lang: Lang,
    y_title: str,
    colours: dict[str, str] | None = None,
) -> Spec:
    """Bars of ``y`` per ``x``, stacked by ``stack`` (a stage, a log level, a reason)."""
    ordered = frame.sort_values(x, kind="stable")
    rows = pd.DataFrame(
        {
            "x": _labels(ordered[x], lang),
            "y": _floats(ordered[y]),
            "stack": [str(v) for v in ordered[stack]],
        }
    )
    # Order of first appearance: stages stay bronze, silver, gold.
    names = list(dict.fromkeys(rows["stack"]))
    rows["order"] = [names.index(v) for v in rows["stack"]]
    encoding = {
        "x": _x(),
        "y": _field("y", "quantitative", y_title, aggregate="sum", axis={"format": ",.0f"}),
        "color": _legend("stack", _colours(names, colours), names),
        "order": {"field": "order", "type": "quantitative"},
        "tooltip": [
            _field("x", "ordinal", header(lang, x)),
            _field("stack", "nominal", header(lang, stack)),
            _field("y", "quantitative", y_title, aggregate="sum", format=",.2~f"),
        ],
    }
    return _spec(rows, lang, mark={"type": "bar"}, encoding=encoding, height=HEIGHT)
