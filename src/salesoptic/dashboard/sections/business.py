"""Business: key figures, daily trend, revenue by one chosen dimension (product, category,
country, segment or channel), top customers and the session funnel."""

from __future__ import annotations

from functools import partial

import streamlit as st

from salesoptic.dashboard import charts, data
from salesoptic.dashboard.components import (
    Context,
    initial,
    missing_table,
    table_on_demand,
    unapplied_note,
)
from salesoptic.dashboard.i18n import MISSING, fmt_int, fmt_money, fmt_pct

TOP_CUSTOMERS = 10
SALES_KINDS = {"orders": "int", "units": "int", "revenue": "money", "customers": "int"}
FUNNEL_KINDS = {
    "date": "date",
    **dict.fromkeys(("sessions", "sessions_view", "sessions_cart", "sessions_purchase"), "int"),
    **dict.fromkeys(("view_to_cart_rate", "cart_to_purchase_rate", "conversion_rate"), "pct"),
}


# Breakdown -> (title, gold table, label column, reader).
BREAKDOWNS = {
    "product": ("products", "sales_by_product", "product_name", data.top_products),
    "category": ("categories", "sales_by_category", "category", data.categories),
    "country": ("countries", "sales_by_country", "country", data.countries),
    "segment": ("segments", "sales_by_segment", "segment", data.segments),
    "channel": ("channels", "sales_by_channel", "channel", data.channels),
}


def kpi_cards(ctx: Context) -> None:
    figures = data.kpis(ctx.gold, ctx.filters)
    # Money needs the room: figures are shown in full, never abbreviated.
    cells = st.columns([2, 1, 1.2, 1.4, 1])
    if figures.table is None:
        dims = ", ".join(ctx.t(f"dim_{d}") for d in sorted(ctx.filters.active, key=_dim_order))
        for cell, key in zip(
            cells, ("revenue", "orders", "units", "aov", "customers"), strict=True
        ):
            cell.metric(ctx.t(key), MISSING, help=ctx.t("kpi_missing_combination"))
        st.warning(ctx.t("kpi_none", dims=dims), icon=":material/filter_alt_off:")
        return
    missing = dict(figures.missing)
    values = {
        "revenue": fmt_money(ctx.lang, figures.revenue),
        "orders": fmt_int(ctx.lang, figures.orders),
        "units": fmt_int(ctx.lang, figures.units),
        "aov": fmt_money(ctx.lang, figures.avg_order_value),
        "customers": fmt_int(ctx.lang, figures.customers),
    }
    for cell, (key, value) in zip(cells, values.items(), strict=True):
        reason = missing.get(key)
        cell.metric(ctx.t(key), value, help=ctx.t(reason) if reason else None)
    applied = [d for d in ("date", "country", "segment", "channel") if d in ctx.filters.active]
    suffix = (
        ctx.t("kpi_applied", dims=", ".join(ctx.t(f"dim_{d}") for d in applied)) if applied else ""
    )
    st.caption(ctx.t("kpi_source", table=figures.table, applied=suffix))


def _dim_order(dim: str) -> int:
    return ("date", "country", "segment", "channel").index(dim)


def trend(ctx: Context) -> None:
    st.subheader(ctx.t("trend"))
    if missing_table(ctx, "daily_sales"):
        return
    unapplied_note(ctx, "daily_sales")
    daily = data.daily_sales(ctx.gold, ctx.filters)
    if daily.empty:
        st.info(ctx.t("no_rows"))
        return
    charts.draw(
        charts.trend(daily, ctx.lang, ctx.t("revenue"), ctx.t("orders")),
        key="chart-trend",
    )
    table_on_demand(
        ctx, daily, "daily_sales", SALES_KINDS | {"date": "date", "avg_order_value": "money"}
    )


def ranked(ctx: Context, title: str, table_name: str, label: str, frame_fn) -> None:
    """A ranked bar chart of revenue by ``label`` with its table and download.

    ``frame_fn(gold, filters)`` reads the rows; for products it also takes the top N.
    """
    st.subheader(ctx.t(title))
    if missing_table(ctx, table_name):
        return
    if table_name == "sales_by_product":
        limit = st.number_input(
            ctx.t("top_n"), min_value=3, max_value=100, key="top_n", **initial("top_n", value=10)
        )
        frame_fn = partial(frame_fn, limit=int(limit))
    unapplied_note(ctx, table_name)
    frame = frame_fn(ctx.gold, ctx.filters)
    if frame.empty:
        st.info(ctx.t("no_rows"))
        return
    charts.draw(
        charts.ranked_bars(frame, label, "revenue", ctx.lang, ctx.t("revenue")),
        key=f"chart-{table_name}",
    )
    table_on_demand(
        ctx, frame, table_name, SALES_KINDS | {"avg_order_value": "money", "revenue_share": "pct"}
    )


def top_customers(ctx: Context) -> None:
    st.subheader(ctx.t("top_customers"))
    if missing_table(ctx, "customer_value"):
        return
    unapplied_note(ctx, "customer_value")
    frame = data.top_customers(ctx.gold, ctx.filters, TOP_CUSTOMERS)
    if frame.empty:
        st.info(ctx.t("no_rows"))
        return
    charts.draw(
        charts.ranked_bars(frame, "name", "revenue", ctx.lang, ctx.t("revenue")),
        key="chart-customer_value",
    )
    kinds = {"first_order_at": "datetime", "last_order_at": "datetime"}
    table_on_demand(ctx, frame, "customer_value", SALES_KINDS | kinds)


def funnel(ctx: Context) -> None:
    st.subheader(ctx.t("funnel"))
    if missing_table(ctx, "funnel_daily"):
        return
    unapplied_note(ctx, "funnel_daily")
    daily = data.funnel(ctx.gold, ctx.filters)
    if daily.empty:
        st.info(ctx.t("no_rows"))
        return
    view, cart, purchase = (
        int(daily[c].sum()) for c in ("sessions_view", "sessions_cart", "sessions_purchase")
    )
    steps = [ctx.t("step_view"), ctx.t("step_cart"), ctx.t("step_purchase")]
    charts.draw(charts.funnel(steps, [view, cart, purchase], ctx.lang), key="chart-funnel")
    rates = st.columns(3)
    rates[0].metric(ctx.t("view_to_cart"), fmt_pct(ctx.lang, cart / view if view else 0.0))
    rates[1].metric(ctx.t("cart_to_purchase"), fmt_pct(ctx.lang, purchase / cart if cart else 0.0))
    rates[2].metric(ctx.t("conversion"), fmt_pct(ctx.lang, purchase / view if view else 0.0))
    st.caption(ctx.t("funnel_note"))
    table_on_demand(ctx, daily, "funnel_daily", FUNNEL_KINDS)


def breakdown(ctx: Context) -> None:
    """Revenue by one dimension at a time; only the chosen one is queried and drawn."""
    choice = st.segmented_control(
        ctx.t("revenue_by"),
        list(BREAKDOWNS),
        required=True,
        format_func=lambda dim: ctx.t(f"by_{dim}"),
        key="breakdown",
        label_visibility="collapsed",
        **initial("breakdown", default="product"),
    )
    ranked(ctx, *BREAKDOWNS[choice])


def render(ctx: Context) -> None:
    if ctx.gold is None:
        st.info(ctx.t("no_gold"), icon=":material/info:")
        return
    st.subheader(ctx.t("kpis"))
    kpi_cards(ctx)
    trend(ctx)
    left, right = st.columns(2)
    with left:
        breakdown(ctx)
    with right:
        funnel(ctx)
    top_customers(ctx)
