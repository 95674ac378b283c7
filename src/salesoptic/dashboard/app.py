"""Streamlit entry point: ``streamlit run app.py`` (``salesoptic dashboard`` does it for you).

The data directory comes from ``SALESOPTIC_DATA_DIR`` (default ``./data``). Each run of
this script resolves the current gold version once, reads the sidebar's language and
filters, and renders the open one of the four sections' tabs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import streamlit as st

from salesoptic.config import load_settings
from salesoptic.dashboard import data
from salesoptic.dashboard.components import Context, keep_widget_choices, md_escape
from salesoptic.dashboard.filters import Filters
from salesoptic.dashboard.i18n import DEFAULT_LANG, LANGUAGES, Lang, date_input_format, t
from salesoptic.dashboard.sections import architecture, business, operations, quality

DATES_STATE = "chosen_dates"
SECTION_STATE = "chosen_section"
SECTIONS = (
    ("tab_business", business),
    ("tab_quality", quality),
    ("tab_operations", operations),
    ("tab_architecture", architecture),
)


def _date_range(lang: Lang, bounds: data.Bounds) -> tuple[dt.date, dt.date]:
    """The chosen range, kept across a language switch (the widget's format changes)."""
    first, last = bounds.first, bounds.last
    start, end = st.session_state.get(DATES_STATE, (first, last))
    start, end = max(start, first), min(end, last)
    if start > end:
        start, end = first, last
    chosen = st.sidebar.date_input(
        t(lang, "date_range"),
        value=(start, end),
        min_value=first,
        max_value=last,
        format=date_input_format(lang),
        key=f"dates_{lang}",
    )
    # While a range is being picked the widget holds only its first day.
    picked = tuple(chosen) if isinstance(chosen, (tuple, list)) else (chosen,)
    if len(picked) == 2:
        start, end = picked
    elif len(picked) == 1:
        start, end = picked[0], last
    st.session_state[DATES_STATE] = (start, end)
    return start, end


def _choice(lang: Lang, dim: str, options: list[str]) -> tuple[str, ...]:
    chosen = st.sidebar.multiselect(
        t(lang, dim), options, key=f"filter_{dim}", placeholder=t(lang, "all")
    )
    # Every value chosen is the same as no restriction.
    return () if set(chosen) >= set(options) else tuple(chosen)


def sidebar(data_dir: Path, gold: data.Gold | None) -> tuple[Lang, Filters]:
    lang: Lang = st.sidebar.radio(
        "Language / Langue",
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        horizontal=True,
        key="lang",
        index=list(LANGUAGES).index(DEFAULT_LANG),
    )
    st.sidebar.header(t(lang, "filters"))
    filters = Filters()
    bounds = data.date_bounds(gold) if gold is not None else None
    if gold is None or bounds is None:
        st.sidebar.caption(t(lang, "filters_need_gold"))
    else:
        start, end = _date_range(lang, bounds)
        options = data.filter_options(gold)
        filters = Filters(
            start=start,
            end=end,
            sales_first=bounds.sales_first,
            sales_last=bounds.sales_last,
            countries=_choice(lang, "country", options["country"]),
            segments=_choice(lang, "segment", options["segment"]),
            channels=_choice(lang, "channel", options["channel"]),
        )
    st.sidebar.divider()
    # A click reruns the script, which resolves gold/current again.
    st.sidebar.button(t(lang, "refresh"), key="refresh", icon=":material/refresh:")
    if gold is not None:
        st.sidebar.caption(t(lang, "gold_version", version=md_escape(gold.version)))
    st.sidebar.caption(t(lang, "data_dir", path=md_escape(data_dir)))
    return lang, filters


def main() -> None:
    st.set_page_config(page_title="SalesOptic", page_icon=":bar_chart:", layout="wide")
    keep_widget_choices()
    data_dir = load_settings().data_dir.resolve()
    gold = data.resolve_gold(data_dir)
    lang, filters = sidebar(data_dir, gold)
    ctx = Context(lang=lang, data_dir=data_dir, gold=gold, filters=filters)
    st.title(ctx.t("title"))
    st.caption(ctx.t("subtitle"))
    if not data.data_dir_exists(data_dir):
        st.info(ctx.t("no_data_dir", path=md_escape(data_dir)), icon=":material/info:")
        return
    sections(ctx)


def sections(ctx: Context) -> None:
    """The four sections as tabs; only the open one runs and reaches the browser.

    Switching tab reruns the script. The open section is kept by position, so a language
    switch (which renames the tabs) stays on it.
    """
    labels = [ctx.t(key) for key, _ in SECTIONS]
    key = f"tab_{ctx.lang}"
    # A tab widget new to this language opens on the section open before the switch.
    if key not in st.session_state:
        st.session_state[key] = labels[st.session_state.get(SECTION_STATE, 0)]
    tabs = st.tabs(labels, key=key, on_change="rerun")
    for index, (tab, (_, section)) in enumerate(zip(tabs, SECTIONS, strict=True)):
        if tab.open:
            st.session_state[SECTION_STATE] = index
            with tab:
                section.render(ctx)


main()
