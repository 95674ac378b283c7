"""Architecture: the medallion flow, drawn from the zones and tables that exist, with the
row counts of the latest run and of the published gold tables."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from salesoptic.contracts.reasons import DATASETS
from salesoptic.dashboard import data, diagram, metrics
from salesoptic.dashboard.components import Context, md_escape, table
from salesoptic.dashboard.i18n import fmt_int, status_label

ZONES = ("sources", "bronze", "silver", "quarantine", "gold", "dashboard")


def _counts(run: dict | None, stage: str, field: str) -> dict[str, int | None]:
    per_dataset = metrics.stage_datasets(run, stage)
    return {d: per_dataset.get(d, {}).get(field) for d in DATASETS}


def flow_counts(ctx: Context, run: dict | None) -> diagram.FlowCounts:
    """Bronze reads the sources (rows in) and keeps them (rows out); silver splits them."""
    return diagram.FlowCounts(
        source=_counts(run, "bronze", "rows_in"),
        bronze=_counts(run, "bronze", "rows_out"),
        silver=_counts(run, "silver", "rows_out"),
        quarantine=_counts(run, "silver", "quarantined"),
        gold=data.gold_counts(ctx.gold) if ctx.gold is not None else {},
    )


def render(ctx: Context) -> None:
    st.subheader(ctx.t("architecture"))
    run = metrics.latest_run(data.runs(ctx.data_dir))
    if run is None:
        st.caption(ctx.t("arch_no_run"))
    else:
        st.caption(
            ctx.t(
                "arch_run",
                run_id=md_escape(run["run_id"]),
                status=md_escape(status_label(ctx.lang, run.get("status"))),
            )
        )
    counts = flow_counts(ctx, run)
    zones = {zone: ctx.t(f"zone_{zone}") for zone in ZONES}
    dot = diagram.flow_dot(counts, zones, lambda n: fmt_int(ctx.lang, n), ctx.t("rows"))
    st.graphviz_chart(dot, width="stretch")
    rows = [
        {"zone": zones[zone], "table": name, "rows": count}
        for zone, per_name in (
            ("bronze", counts.bronze),
            ("silver", counts.silver),
            ("quarantine", counts.quarantine),
            ("gold", counts.gold),
        )
        for name, count in per_name.items()
    ]
    table(
        ctx, pd.DataFrame(rows, columns=["zone", "table", "rows"]), "flow_counts", {"rows": "int"}
    )
