"""Streamlit pieces shared by the pages: the page context, tables, notes, CSV downloads.

Data values reach the page only through ``st.dataframe``, ``st.metric`` values and chart
labels, all drawn as text; nothing here passes data to ``st.markdown`` or HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from salesoptic.dashboard.data import Gold
from salesoptic.dashboard.filters import Filters
from salesoptic.dashboard.i18n import (
    MISSING,
    Lang,
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_number,
    fmt_pct,
    header,
    t,
)

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Widgets inside a tab whose choice outlives a visit to another tab.
KEPT_WIDGETS = (
    "breakdown",
    "top_n",
    "q_dataset",
    "q_reason_en",
    "q_reason_fr",
    "latency_service",
)

# Prefix of the keys of the "Table" expanders, whose state is kept like a widget's.
TABLE_KEY = "table-"


@dataclass(frozen=True)
class Context:
    """What every page needs: language, data directory, gold version, filters."""

    lang: Lang
    data_dir: Path
    gold: Gold | None
    filters: Filters = field(default_factory=Filters)

    def t(self, key: str, **values: object) -> str:
        return t(self.lang, key, **values)


def keep_widget_choices() -> None:
    """Keep the choices of widgets in closed tabs (call first in every page run).

    Streamlit forgets the value of a widget that a run does not draw, and only the open
    tab is drawn; a value written back as session state is kept instead.
    """
    for key in KEPT_WIDGETS + tuple(k for k in st.session_state if str(k).startswith(TABLE_KEY)):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def initial(key: str, **default: object) -> dict[str, object]:
    """A kept widget's default, for its first drawing only (then its kept value rules;
    Streamlit warns when a widget gets both)."""
    return {} if key in st.session_state else default


_MARKDOWN_SPECIAL = "\\`*_{}[]<>()#+-.!|~:$&"


def md_escape(text: object) -> str:
    """A value as literal text inside Streamlit markdown (captions, help, info boxes)."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in str(text))


def _guard(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV with contract column names and plain values.

    Text cells that a spreadsheet would run as a formula get a leading apostrophe.
    """
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object:
            safe[column] = safe[column].map(_guard)
    return safe.to_csv(index=False).encode("utf-8")


def download(ctx: Context, frame: pd.DataFrame, name: str) -> None:
    st.download_button(
        ctx.t("download"),
        data=csv_bytes(frame),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"download-{name}",
        on_click="ignore",
        icon=":material/download:",
    )


def unapplied_note(ctx: Context, table: str) -> None:
    """Say which active filters ``table`` cannot honour, next to its chart."""
    dims = ctx.filters.unapplied(table)
    if dims:
        names = ", ".join(ctx.t(f"dim_{d}") for d in dims)
        st.caption(":material/filter_alt_off: " + ctx.t("not_filtered", dims=names, table=table))


def missing_table(ctx: Context, *tables: str) -> bool:
    """Explain and return True when a gold table the block needs is not published."""
    absent = [name for name in tables if ctx.gold is None or not ctx.gold.has(name)]
    for name in absent:
        st.info(ctx.t("no_table", table=name), icon=":material/info:")
    return bool(absent)


Formatter = Callable[[object], str]


def _formatters(lang: Lang) -> dict[str, Formatter]:
    def none_or(fmt: Callable[[object], str]) -> Formatter:
        return lambda v: MISSING if v is None or (not isinstance(v, str) and pd.isna(v)) else fmt(v)

    return {
        "int": none_or(lambda v: fmt_int(lang, v)),
        "money": none_or(lambda v: fmt_money(lang, v)),
        "pct": none_or(lambda v: fmt_pct(lang, v)),
        "float": none_or(lambda v: fmt_number(lang, v, 1)),
        "date": none_or(lambda v: fmt_date(lang, v)),
        "datetime": none_or(
            lambda v: fmt_date(lang, v.date()) + pd.Timestamp(v).strftime(" %H:%M:%S")
        ),
    }


def table(
    ctx: Context,
    frame: pd.DataFrame,
    name: str,
    kinds: Mapping[str, str],
    columns: Sequence[str] | None = None,
) -> None:
    """A table with numbers and dates written for the language, and its CSV download.

    ``kinds`` maps a column to ``int``, ``money``, ``pct``, ``float``, ``date`` or
    ``datetime``; headings come from ``i18n.header``; the download holds the raw values
    under the contract column names.
    """
    shown = frame[list(columns)] if columns is not None else frame
    labels = {col: header(ctx.lang, col) for col in shown.columns}
    formatters = _formatters(ctx.lang)
    styler = (
        _with_missing_text(shown)
        .rename(columns=labels)
        .style.format(
            {labels[col]: formatters[kind] for col, kind in kinds.items() if col in labels},
            na_rep=MISSING,
        )
    )
    st.dataframe(styler, hide_index=True, width="stretch")
    download(ctx, shown, name)


def _with_missing_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns with the page's mark for a missing value.

    The grid draws a null cell as "None" whatever the Styler says; numbers and dates keep
    their nulls (and their type, for sorting).
    """
    text = [
        col
        for col in frame.columns
        if frame[col].dtype == object
        and frame[col].map(lambda v: v is None or isinstance(v, str)).all()
        and frame[col].isna().any()
    ]
    if not text:
        return frame
    return frame.assign(**{col: frame[col].where(frame[col].notna(), MISSING) for col in text})


def table_on_demand(ctx: Context, frame: pd.DataFrame, name: str, kinds: Mapping[str, str]) -> None:
    """The table behind a chart, in a collapsed expander, built and sent once opened.

    A page of charts then draws no data grid until one is asked for: the grid's script
    is the heaviest the browser loads for a first view.
    """
    box = st.expander(ctx.t("table"), key=f"{TABLE_KEY}{name}", on_change="rerun")
    if box.open:
        with box:
            table(ctx, frame, name, kinds)
