"""`salesoptic run`: the stages of one run in one Spark session."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from salesoptic.config import Settings
from salesoptic.errors import UserError
from salesoptic.runtime.postgres import resolve_pg
from salesoptic.runtime.spark import spark_session

STAGES = ("bronze", "silver")


@dataclass
class StageResult:
    """One stage of one run: rows in and out, per-dataset details, duration."""

    stage: str
    rows_in: int = 0
    rows_out: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    datasets: list = field(default_factory=list)


def new_run_id(now: datetime | None = None) -> str:
    """A run id that sorts by start time, e.g. ``20250103T100000123456Z``."""
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S%fZ")


def run_pipeline(
    settings: Settings,
    stages: Sequence[str] = STAGES,
    on_stage: Callable[[StageResult], None] = lambda result: None,
    on_progress: Callable[[str], None] = lambda message: None,
) -> tuple[str, list[StageResult]]:
    """Run the given stages in order in one Spark session; return the run id and results."""
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise UserError(f"Unknown stage {unknown[0]}; the stages are {', '.join(STAGES)}.")
    run_id = new_run_id()
    pg = resolve_pg(settings)
    results: list[StageResult] = []
    on_progress("Starting Spark")
    with spark_session(settings, f"salesoptic-run-{run_id}") as spark:
        for stage in stages:
            started = time.monotonic()
            if stage == "bronze":
                from salesoptic.pipeline.bronze import run_bronze

                def progress(counts, stage=stage) -> None:
                    on_progress(f"{stage}: {counts.dataset} done ({counts.rows:,} rows)")

                on_progress("bronze: reading PostgreSQL and new files")
                counts = run_bronze(spark, settings, pg, run_id, on_dataset=progress)
                result = StageResult(
                    stage,
                    rows_in=sum(c.rows for c in counts),
                    rows_out=sum(c.rows for c in counts),
                    datasets=counts,
                )
            elif stage == "silver":
                from salesoptic.pipeline.silver import run_silver

                def judged(counts) -> None:
                    on_progress(f"silver: {counts.dataset} judged ({counts.rows_in:,} rows)")

                on_progress("silver: judging new bronze rows")
                counts = run_silver(spark, settings, run_id, on_dataset=judged)
                result = StageResult(
                    stage,
                    rows_in=sum(c.rows_in for c in counts),
                    rows_out=sum(c.rows_valid for c in counts),
                    quarantined=sum(c.rows_quarantined for c in counts),
                    datasets=counts,
                )
            result.seconds = time.monotonic() - started
            results.append(result)
            on_stage(result)
    return run_id, results
