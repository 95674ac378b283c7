"""Operations: pipeline runs and stages, service health, log levels."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from salesoptic.dashboard import charts, data, metrics
from salesoptic.dashboard.components import Context, missing_table, table
from salesoptic.dashboard.i18n import status_label

RUN_KINDS = {"started_at": "datetime", "finished_at": "datetime", "duration_s": "float"}
STAGE_KINDS = RUN_KINDS | dict.fromkeys(("rows_in", "rows_out", "quarantined"), "int")
RECENT_RUNS = 30


def run_frames(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """Runs and stages from the run records, else from gold ``pipeline_runs``.

    The run records also hold runs still going or failed before gold; the third value
    says whether the gold fallback was used.
    """
    records = data.runs(ctx.data_dir)
    if records:
        return metrics.runs_table(records), metrics.stages_table(records), False
    if ctx.gold is not None and ctx.gold.has("pipeline_runs"):
        stages = metrics.stages_from_gold(data.whole_table(ctx.gold, "pipeline_runs"))
        return metrics.runs_from_stages(stages), stages, True
    return pd.DataFrame(), pd.DataFrame(), False


def runs(ctx: Context) -> None:
    st.subheader(ctx.t("runs"))
    st.caption(ctx.t("filters_not_applicable", why=ctx.t("why_runs")))
    run_df, stage_df, from_gold = run_frames(ctx)
    if run_df.empty:
        st.info(ctx.t("no_runs"), icon=":material/info:")
        return
    if from_gold:
        st.caption(ctx.t("runs_source_gold"))
    shown = run_df.copy()
    shown["status"] = [status_label(ctx.lang, s) for s in shown["status"]]
    table(ctx, shown, "pipeline_runs", RUN_KINDS)
    if stage_df.empty:
        return
    recent = stage_df[stage_df["run_id"].isin(run_df["run_id"].head(RECENT_RUNS))]
    st.subheader(ctx.t("stage_durations"))
    charts.draw(
        charts.stacked_bars(
            recent.dropna(subset=["duration_s"]),
            "run_id",
            "duration_s",
            "stage",
            ctx.lang,
            ctx.t("col_duration_s"),
        ),
        key="chart-stage-durations",
    )
    st.subheader(ctx.t("stage_rows"))
    stages = stage_df.sort_values(["run_id", "started_at"], ascending=[False, True]).copy()
    stages["status"] = [status_label(ctx.lang, s) for s in stages["status"]]
    table(ctx, stages, "pipeline_stages", STAGE_KINDS)


def service_health(ctx: Context) -> None:
    st.subheader(ctx.t("service_health"))
    if missing_table(ctx, "service_health_daily"):
        return
    st.caption(ctx.t("filters_date_only"))
    frame = data.service_health(ctx.gold, ctx.filters)
    if frame.empty:
        st.info(ctx.t("no_rows"))
        return
    left, right = st.columns(2)
    with left:
        charts.draw(
            charts.lines(
                frame, "date", "error_rate", "service", ctx.lang, ctx.t("error_rate"), percent=True
            ),
            key="chart-error-rate",
        )
    with right:
        service = st.selectbox(
            ctx.t("service"), sorted(frame["service"].unique()), key="latency_service"
        )
        one = frame[frame["service"] == service]
        latency = one.melt(
            id_vars=["date"], value_vars=["p50_latency_ms", "p95_latency_ms"], var_name="percentile"
        )
        latency["percentile"] = latency["percentile"].str.split("_").str[0]
        charts.draw(
            charts.lines(
                latency, "date", "value", "percentile", ctx.lang, ctx.t("latency"), percent=False
            ),
            key="chart-latency",
        )
    kinds = {"date": "date", "lines": "int", "errors": "int", "error_rate": "pct"}
    kinds |= {"p50_latency_ms": "float", "p95_latency_ms": "float"}
    table(ctx, frame, "service_health_daily", kinds)


def log_levels(ctx: Context) -> None:
    st.subheader(ctx.t("log_levels"))
    if missing_table(ctx, "log_levels_daily"):
        return
    frame = data.log_levels(ctx.gold, ctx.filters)
    if frame.empty:
        st.info(ctx.t("no_rows"))
        return
    per_day = frame.groupby(["date", "level"], as_index=False)["lines"].sum()
    charts.draw(
        charts.stacked_bars(
            per_day, "date", "lines", "level", ctx.lang, ctx.t("lines"), charts.LEVEL_COLOURS
        ),
        key="chart-log-levels",
    )
    table(ctx, frame, "log_levels_daily", {"date": "date", "lines": "int"})


def render(ctx: Context) -> None:
    runs(ctx)
    if ctx.gold is None:
        st.info(ctx.t("no_gold"), icon=":material/info:")
        return
    service_health(ctx)
    log_levels(ctx)
