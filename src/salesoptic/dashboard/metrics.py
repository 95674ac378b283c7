"""Pure shaping of the run log and the quality accounting into the tables the pages show.

No storage here: inputs are run records (dicts, docs/data-contracts.md) and
``data_quality``-shaped frames; outputs are pandas frames.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from salesoptic.contracts.reasons import DIMENSION_DATASETS

QUALITY_COLUMNS = (
    "run_id",
    "dataset",
    "rows_in",
    "rows_valid",
    "rows_quarantined",
    "reason",
    "reason_rows",
)
STAGE_COLUMNS = (
    "run_id",
    "stage",
    "status",
    "started_at",
    "finished_at",
    "duration_s",
    "rows_in",
    "rows_out",
    "quarantined",
)
RUN_COLUMNS = ("run_id", "status", "started_at", "finished_at", "duration_s", "error")


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """Division that leaves no rate (NaN) where there is nothing to divide."""
    den = denominator.astype("float64")
    return (numerator.astype("float64") / den).where(den > 0)


def quality_from_runs(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """The run records' ``quality`` lists as a ``data_quality``-shaped frame."""
    rows = [
        {column: entry.get(column) for column in QUALITY_COLUMNS} | {"run_id": run["run_id"]}
        for run in runs
        for entry in run.get("quality") or []
    ]
    return pd.DataFrame(rows, columns=list(QUALITY_COLUMNS))


def accounting(quality: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, dataset): the counts repeated on each of its reason rows, once."""
    if quality.empty:
        return pd.DataFrame(
            columns=["run_id", "dataset", "rows_in", "rows_valid", "rows_quarantined"]
        )
    counts = ["rows_in", "rows_valid", "rows_quarantined"]
    return (
        quality.groupby(["run_id", "dataset"], as_index=False)[counts]
        .first()
        .sort_values(["run_id", "dataset"], ignore_index=True)
    )


def _current(frame: pd.DataFrame) -> pd.DataFrame:
    """What silver and quarantine hold now: every run of a fact, the latest of a dimension.

    Facts are judged once per row, in the run that first saw it, so their runs add up;
    dimensions are judged whole in each run, so only the latest snapshot counts.
    """
    if frame.empty:
        return frame
    latest = frame.groupby("dataset")["run_id"].transform("max")
    is_dimension = frame["dataset"].isin(DIMENSION_DATASETS)
    return frame[~is_dimension | (frame["run_id"] == latest)]


def health(quality: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: rows judged, valid, quarantined, and the health rate valid / judged."""
    current = _current(accounting(quality))
    if current.empty:
        return pd.DataFrame(
            columns=["dataset", "rows_in", "rows_valid", "rows_quarantined", "health_rate"]
        )
    totals = current.groupby("dataset", as_index=False)[
        ["rows_in", "rows_valid", "rows_quarantined"]
    ].sum()
    totals["health_rate"] = _ratio(totals["rows_valid"], totals["rows_in"])
    return totals


def reasons(quality: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and reason code: the quarantined rows failing that rule, now."""
    current = _current(quality.dropna(subset=["reason"]))
    if current.empty:
        return pd.DataFrame(columns=["dataset", "reason", "reason_rows"])
    return (
        current.groupby(["dataset", "reason"], as_index=False)["reason_rows"]
        .sum()
        .sort_values(["dataset", "reason_rows", "reason"], ascending=[True, False, True])
        .reset_index(drop=True)
    )


def trend(quality: pd.DataFrame) -> pd.DataFrame:
    """Per run and dataset: the counts and health rate of that run alone."""
    frame = accounting(quality)
    frame["health_rate"] = _ratio(frame["rows_valid"], frame["rows_in"])
    return frame


def runs_table(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run, newest first."""
    rows = []
    for run in runs:
        started = pd.to_datetime(run.get("started_at"), utc=True, format="ISO8601")
        finished = pd.to_datetime(run.get("finished_at"), utc=True, format="ISO8601")
        seconds = (finished - started).total_seconds() if pd.notna(finished) else None
        rows.append(
            {
                "run_id": run["run_id"],
                "status": run.get("status"),
                "started_at": started,
                "finished_at": finished,
                "duration_s": seconds,
                "error": run.get("error"),
            }
        )
    frame = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    return frame.sort_values("run_id", ascending=False, ignore_index=True)


def stages_table(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (run, stage), in run then stage order."""
    rows = [
        {column: stage.get(column) for column in STAGE_COLUMNS} | {"run_id": run["run_id"]}
        for run in runs
        for stage in run.get("stages") or []
    ]
    frame = pd.DataFrame(rows, columns=list(STAGE_COLUMNS))
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def stages_from_gold(pipeline_runs: pd.DataFrame) -> pd.DataFrame:
    """``pipeline_runs`` in the shape of ``stages_table`` (gold has no quarantined count)."""
    frame = pipeline_runs.copy()
    frame["quarantined"] = None
    return frame[list(STAGE_COLUMNS)].sort_values(["run_id", "started_at"], ignore_index=True)


def runs_from_stages(stages: pd.DataFrame) -> pd.DataFrame:
    """Runs rebuilt from stage rows, when only gold ``pipeline_runs`` is at hand."""
    if stages.empty:
        return pd.DataFrame(columns=list(RUN_COLUMNS))
    grouped = stages.groupby("run_id", as_index=False).agg(
        started_at=("started_at", "min"),
        finished_at=("finished_at", "max"),
        failed=("status", lambda s: (s == "failed").any()),
    )
    grouped["status"] = grouped["failed"].map({True: "failed", False: "succeeded"})
    grouped["duration_s"] = (grouped["finished_at"] - grouped["started_at"]).dt.total_seconds()
    grouped["error"] = None
    return grouped[list(RUN_COLUMNS)].sort_values("run_id", ascending=False, ignore_index=True)


def latest_run(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest succeeded run, else the newest run of any status."""
    succeeded = [r for r in runs if r.get("status") == "succeeded"]
    pool = succeeded or runs
    return max(pool, key=lambda r: str(r["run_id"])) if pool else None


def stage_datasets(run: dict[str, Any] | None, stage: str) -> dict[str, dict[str, Any]]:
    """Per dataset counts of one stage of ``run`` (empty when the stage is not there)."""
    if run is None:
        return {}
    for entry in run.get("stages") or []:
        if entry.get("stage") == stage:
            return {d["dataset"]: d for d in entry.get("datasets") or [] if "dataset" in d}
    return {}
