"""Data quality: health per dataset, quarantine by reason, sample rows, trend across runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from salesoptic.contracts.reasons import DATASETS, REASONS_BY_DATASET
from salesoptic.dashboard import charts, data, metrics
from salesoptic.dashboard.components import Context, table
from salesoptic.dashboard.i18n import explain, fmt_int, fmt_pct

SAMPLE_ROWS = 100
COUNT_KINDS = dict.fromkeys(("rows_in", "rows_valid", "rows_quarantined", "reason_rows"), "int")


def quality_rows(ctx: Context) -> pd.DataFrame:
    """The published ``data_quality``; before any gold, the run records' own accounting."""
    if ctx.gold is not None and ctx.gold.has("data_quality"):
        return data.whole_table(ctx.gold, "data_quality")
    return metrics.quality_from_runs(data.runs(ctx.data_dir))


def health_cards(ctx: Context, quality: pd.DataFrame) -> None:
    st.subheader(ctx.t("health"))
    per_dataset = metrics.health(quality).set_index("dataset")
    cells = st.columns(len(DATASETS))
    for cell, dataset in zip(cells, DATASETS, strict=True):
        if dataset not in per_dataset.index:
            cell.metric(dataset, fmt_pct(ctx.lang, None))
            continue
        row = per_dataset.loc[dataset]
        rate = None if pd.isna(row["health_rate"]) else float(row["health_rate"])
        cell.metric(
            dataset,
            fmt_pct(ctx.lang, rate),
            help=ctx.t(
                "health_help",
                valid=fmt_int(ctx.lang, row["rows_valid"]),
                total=fmt_int(ctx.lang, row["rows_in"]),
            ),
        )
    table(
        ctx, per_dataset.reset_index(), "data_quality_health", COUNT_KINDS | {"health_rate": "pct"}
    )


def by_reason(ctx: Context, quality: pd.DataFrame) -> None:
    st.subheader(ctx.t("quarantine_by_reason"))
    counts = metrics.reasons(quality)
    if counts.empty:
        st.info(ctx.t("empty_quarantine"), icon=":material/verified:")
        return
    charts.draw(
        charts.stacked_bars(
            counts, "dataset", "reason_rows", "reason", ctx.lang, ctx.t("col_rows")
        ),
        key="chart-reasons",
    )
    counts["explanation"] = [explain(ctx.lang, code) for code in counts["reason"]]
    st.caption(ctx.t("reason_note"))
    table(ctx, counts, "quarantine_by_reason", COUNT_KINDS)


def sample(ctx: Context) -> None:
    st.subheader(ctx.t("sample"))
    held = data.quarantine_rows(ctx.data_dir)
    with_rows = [d for d in DATASETS if held.get(d)]
    if not with_rows:
        st.info(ctx.t("empty_quarantine"), icon=":material/verified:")
        return
    left, right = st.columns(2)
    dataset = left.selectbox(ctx.t("dataset"), with_rows, key="q_dataset")
    reason = right.selectbox(
        ctx.t("reason"),
        [None, *(str(r) for r in REASONS_BY_DATASET[dataset])],
        format_func=lambda r: ctx.t("any_reason") if r is None else r,
        # Per language: the "any reason" entry is relabelled.
        key=f"q_reason_{ctx.lang}",
    )
    rows, total = data.quarantine_sample(ctx.data_dir, dataset, reason, SAMPLE_ROWS)
    st.caption(
        ctx.t(
            "sample_count",
            shown=fmt_int(ctx.lang, len(rows)),
            total=fmt_int(ctx.lang, total),
            dataset=dataset,
        )
    )
    if rows.empty:
        return
    rows = rows.copy()
    rows["reasons"] = [", ".join(r) if r is not None else "" for r in rows["reasons"]]
    first = ["reasons", *(c for c in rows.columns if not c.startswith("_") and c != "reasons")]
    ordered = first + [c for c in rows.columns if c.startswith("_")]
    table(ctx, rows[ordered], f"quarantine_{dataset}", {"_ingested_at": "datetime"})


def quality_trend(ctx: Context, quality: pd.DataFrame) -> None:
    st.subheader(ctx.t("quality_trend"))
    frame = metrics.trend(quality)
    if frame.empty:
        return
    left, right = st.columns(2)
    with left:
        charts.draw(
            charts.lines(
                frame.dropna(subset=["health_rate"]),
                "run_id",
                "health_rate",
                "dataset",
                ctx.lang,
                ctx.t("col_health_rate"),
                percent=True,
            ),
            key="chart-quality-trend",
        )
    with right:
        charts.draw(
            charts.stacked_bars(
                frame, "run_id", "rows_quarantined", "dataset", ctx.lang, ctx.t("rows_quarantined")
            ),
            key="chart-quarantine-trend",
        )
    table(ctx, frame, "data_quality_runs", COUNT_KINDS | {"health_rate": "pct"})


def render(ctx: Context) -> None:
    st.caption(ctx.t("filters_not_applicable", why=ctx.t("why_quality")))
    quality = quality_rows(ctx)
    if quality.empty:
        st.info(ctx.t("no_quality"), icon=":material/info:")
        return
    health_cards(ctx, quality)
    by_reason(ctx, quality)
    sample(ctx)
    quality_trend(ctx, quality)
