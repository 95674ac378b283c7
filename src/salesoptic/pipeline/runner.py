"""`salesoptic run`: bronze, silver and gold of one run, in one Spark session.

The runner holds the run lock, keeps the run record up to date, and turns failures into
a failed run record: a user error keeps its one sentence; anything else is recorded with
a one-line summary, its traceback goes to ``_state/runs/<run_id>.log``, and the previous
gold stays current (gold changes only by the final atomic publication).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from salesoptic.config import Settings
from salesoptic.contracts.sources import TABLE_SOURCES
from salesoptic.errors import UserError
from salesoptic.pipeline.runlog import RunLog, run_lock, utc_now
from salesoptic.runtime.pgcheck import require_tables
from salesoptic.runtime.pgurl import PgUrl
from salesoptic.runtime.postgres import resolve_pg
from salesoptic.runtime.spark import java_error_summary, spark_session

STAGES = ("bronze", "silver", "gold")


class RunFailed(Exception):
    """An unexpected failure of a run, already recorded; the message is one sentence."""


class _StageFailure(Exception):
    """A stage's unexpected failure, summarised while the Spark session was still up."""

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


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


def failure_summary(exc: BaseException) -> str:
    """One line for the run record: the error's type and its Java or Python message."""
    return f"{type(exc).__name__}: {java_error_summary(exc)}"


def quality_rows(silver_counts: list) -> list[dict[str, Any]]:
    """The silver accounting of a run as ``data_quality`` rows (one per dataset and code)."""
    rows = []
    for counts in silver_counts:
        base = {
            "dataset": counts.dataset,
            "rows_in": counts.rows_in,
            "rows_valid": counts.rows_valid,
            "rows_quarantined": counts.rows_quarantined,
        }
        if not counts.reasons:
            rows.append({**base, "reason": None, "reason_rows": 0})
        for reason, n in sorted(counts.reasons.items()):
            rows.append({**base, "reason": reason, "reason_rows": n})
    return rows


def _stage_record(result: StageResult, started_at: str) -> dict[str, Any]:
    return {
        "stage": result.stage,
        "status": "succeeded",
        "started_at": started_at,
        "finished_at": utc_now(),
        "duration_s": round(result.seconds, 3),
        "rows_in": result.rows_in,
        "rows_out": result.rows_out,
        "quarantined": result.quarantined,
        "datasets": [asdict(d) for d in result.datasets],
    }


def _bronze(spark, settings: Settings, pg: PgUrl, run_id: str, progress) -> StageResult:
    from salesoptic.pipeline.bronze import run_bronze

    progress("bronze: PostgreSQL snapshots and new files")
    counts = run_bronze(
        spark, settings, pg, run_id,
        on_dataset=lambda c: progress(f"bronze: {c.dataset} landed ({c.rows:,} rows)"),
    )  # fmt: skip
    rows = sum(c.rows for c in counts)
    return StageResult("bronze", rows_in=rows, rows_out=rows, datasets=counts)


def _silver(spark, settings: Settings, run_id: str, progress, record) -> StageResult:
    from salesoptic.pipeline.silver import run_silver

    progress("silver: judging new bronze rows")
    counts = run_silver(
        spark, settings, run_id,
        on_dataset=lambda c: progress(f"silver: {c.dataset} judged ({c.rows_in:,} rows)"),
    )  # fmt: skip
    record["quality"] = quality_rows(counts)
    return StageResult(
        "silver",
        rows_in=sum(c.rows_in for c in counts),
        rows_out=sum(c.rows_valid for c in counts),
        quarantined=sum(c.rows_quarantined for c in counts),
        datasets=counts,
    )


def _gold(spark, settings: Settings, run_id: str, progress, record, log: RunLog) -> StageResult:
    from salesoptic.contracts.reasons import DATASETS, FACT_DATASETS
    from salesoptic.pipeline.gold import TOTALS_TABLES, cached_gold
    from salesoptic.pipeline.gold_increment import basis, plan_increment
    from salesoptic.pipeline.publish import list_versions, publish_gold
    from salesoptic.pipeline.silver import SilverStore, read_silver

    started, started_at = time.monotonic(), utc_now()
    silver_runs = {ds: SilverStore(settings, ds).committed_runs() for ds in FACT_DATASETS}
    increment = plan_increment(
        settings.gold_dir.absolute(), settings.silver_dir.absolute(), silver_runs
    )
    if increment is None:
        progress("gold: computing and publishing the KPI tables")
    else:
        days = len(set().union(*increment.dates.values()))
        progress(
            f"gold: computing and publishing the KPI tables ({days} new day(s) for the daily "
            f"tables; earlier days taken from gold version {increment.previous.name})"
        )
    silver = {dataset: read_silver(spark, settings, dataset) for dataset in DATASETS}
    # Footers read by the driver: five Spark count jobs took 1.4-2.7 s at large.
    rows_in = sum(SilverStore(settings, dataset).rows() for dataset in DATASETS)
    # The gold stage is recorded as succeeded inside the gold it publishes: that gold
    # becomes visible only if the publication succeeds. Its duration there stops before
    # the tables are written; the run record has the whole.
    finished = {**record, "status": "succeeded", "finished_at": utc_now()}
    finished["stages"] = [
        *record["stages"],
        {"stage": "gold", "status": "succeeded", "started_at": started_at,
         "finished_at": utc_now(), "duration_s": round(time.monotonic() - started, 3),
         "rows_in": rows_in, "rows_out": None},
    ]  # fmt: skip
    runs = [r for r in log.runs() if r["run_id"] != run_id] + [finished]
    with cached_gold(silver, runs, spark, increment) as gold:
        publish_gold(
            gold.tables,
            settings.gold_dir.absolute(),
            run_id,
            settings.gold_keep,
            basis(silver_runs),
            gold.parts,
        )
        totals_from = gold.totals_from
    published = next(v for v in list_versions(settings.gold_dir.absolute()) if v.id == run_id)
    recomputed = {} if increment is None else increment.recomputed_dates()
    return StageResult(
        "gold",
        rows_in=rows_in,
        rows_out=sum(published.rows.values()),
        datasets=[
            _TableCount(
                table,
                rows,
                recomputed.get(table),
                totals_from if table in TOTALS_TABLES else None,
            )
            for table, rows in sorted(published.rows.items())
        ],
    )


@dataclass
class _TableCount:
    table: str
    rows: int
    # Days recomputed of a daily table updated incrementally; None: computed in full.
    dates_recomputed: int | None = None
    # A table computed from sales totals: the gold version whose totals the new sales
    # were added to; None: computed from every sale.
    totals_from: str | None = None


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
    stages = [s for s in STAGES if s in stages]
    log = RunLog(settings.state_dir)
    with run_lock(settings.state_dir):
        log.mark_interrupted()
        run_id = new_run_id()
        record = log.start(run_id, list(stages))
        results: list[StageResult] = []
        current = None
        try:
            pg = None
            if "bronze" in stages:
                pg = resolve_pg(settings)
                # Fail before Spark starts when the database or its tables are missing.
                require_tables(pg, list(TABLE_SOURCES))
            on_progress("Starting Spark")
            with spark_session(settings, f"salesoptic-run-{run_id}", on_progress) as spark:
                try:
                    for stage in stages:
                        current = stage
                        started_at, started = utc_now(), time.monotonic()
                        if stage == "bronze":
                            result = _bronze(spark, settings, pg, run_id, on_progress)
                        elif stage == "silver":
                            result = _silver(spark, settings, run_id, on_progress, record)
                        else:
                            result = _gold(spark, settings, run_id, on_progress, record, log)
                        result.seconds = time.monotonic() - started
                        record["stages"].append(_stage_record(result, started_at))
                        log.save(record)
                        results.append(result)
                        on_stage(result)
                except UserError:
                    raise
                except Exception as exc:
                    # A Java error's text is read from the JVM, which the session stops
                    # on the way out: summarise it now.
                    raise _StageFailure(failure_summary(exc)) from exc
        except UserError as exc:
            _fail(log, record, current, str(exc))
            raise
        except Exception as exc:
            summary = exc.summary if isinstance(exc, _StageFailure) else failure_summary(exc)
            trace = log.path(run_id).with_suffix(".log")
            trace.write_text(traceback.format_exc())
            _fail(log, record, current, summary)
            stage_text = f" in stage {current}" if current else ""
            raise RunFailed(
                f"Run {run_id} failed{stage_text} ({summary}); the previous gold is "
                f"unchanged and the details are in {trace}."
            ) from exc
        record["status"] = "succeeded"
        record["finished_at"] = utc_now()
        log.save(record)
        return run_id, results


def _fail(log: RunLog, record: dict, stage: str | None, message: str) -> None:
    if stage is not None:
        record["stages"].append(
            {"stage": stage, "status": "failed", "started_at": None, "finished_at": utc_now(),
             "duration_s": None, "rows_in": None, "rows_out": None}
        )  # fmt: skip
    record["status"] = "failed"
    record["error"] = message
    record["finished_at"] = utc_now()
    log.save(record)
