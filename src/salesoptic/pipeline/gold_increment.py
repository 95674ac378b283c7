"""Which dates of gold's daily tables a run has to recompute.

Silver facts only grow: each run adds one folder ``run=<id>/date=<day>/`` per dataset and
never changes an earlier run's. A gold version's manifest names the silver runs it was
computed from, and the version of the daily tables' definitions. The daily tables that
read one fact dataset and no dimension (``daily_sales``, ``funnel_daily``,
``service_health_daily``, ``log_levels_daily``) can then change only on the dates that the
newer runs wrote: the next gold recomputes those dates from all of silver and copies
every other date's rows from the current version, which gives the same rows as a full
recomputation. Anything that breaks the premise (no complete current version, a version
without that record or with other definitions, a recorded run no longer in silver or
without its folder, a folder that is not a date) means a full recomputation. When a
daily table's definition changes, ``DAILY_DEFINITIONS`` is raised with it, and
``updated_daily`` also recomputes a table whose stored columns or types differ from the
fresh ones. The other sales tables are always recomputed in full: a changed customer or
product can change any of their rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from salesoptic.pipeline.publish import current_manifest

DAILY_TABLES: dict[str, tuple[str, ...]] = {
    "sales": ("daily_sales",),
    "events": ("funnel_daily",),
    "logs": ("service_health_daily", "log_levels_daily"),
}
DATE_FOLDER = "date="
# Raise whenever a daily table's definition changes: rows an earlier definition computed
# are then never reused.
DAILY_DEFINITIONS = 1


def basis(silver_runs: Mapping[str, list[str]]) -> dict[str, object]:
    """What a gold version's manifest records for the next run's ``plan_increment``."""
    return {"silver_runs": dict(silver_runs), "daily_definitions": DAILY_DEFINITIONS}


@dataclass(frozen=True)
class Increment:
    """Recompute ``dates[dataset]`` of that dataset's daily tables; copy the rest."""

    previous: Path
    dates: dict[str, tuple[date, ...]]

    def previous_table(self, table: str) -> str:
        return str(self.previous / table)

    def recomputed_dates(self) -> dict[str, int]:
        """Daily table → how many of its dates are recomputed."""
        return {
            table: len(self.dates[dataset])
            for dataset, tables in DAILY_TABLES.items()
            for table in tables
        }


def _dates_written(run_folder: Path) -> set[date] | None:
    """The dates a silver run wrote, from its folder names; None if one is not a date."""
    dates: set[date] = set()
    for child in run_folder.iterdir():
        if not child.is_dir():
            continue  # _SUCCESS and the like
        try:
            dates.add(date.fromisoformat(child.name.removeprefix(DATE_FOLDER)))
        except ValueError:
            return None
    return dates


def plan_increment(
    gold_dir: Path, silver_dir: Path, silver_runs: Mapping[str, list[str]]
) -> Increment | None:
    """The dates to recompute since the current gold, or None for a full recomputation.

    ``silver_runs`` maps each fact dataset to its committed silver runs now.
    """
    current = current_manifest(gold_dir)
    if current is None:
        return None
    previous, manifest = current
    recorded = manifest.get("basis")
    if not isinstance(recorded, dict) or recorded.get("daily_definitions") != DAILY_DEFINITIONS:
        return None
    covered = recorded.get("silver_runs")
    if not isinstance(covered, dict):
        return None
    dates: dict[str, tuple[date, ...]] = {}
    for dataset, tables in DAILY_TABLES.items():
        before, now = covered.get(dataset), silver_runs.get(dataset, [])
        if not isinstance(before, list) or not set(before) <= set(now):
            return None
        if any(not (previous / table).is_dir() for table in tables):
            return None
        # Silver writes a folder for every committed run, empty or not: one missing was
        # lost, and a full recomputation is what no longer counts its rows.
        if any(not (silver_dir / dataset / f"run={run}").is_dir() for run in now):
            return None
        touched: set[date] = set()
        for run in sorted(set(now) - set(before)):
            written = _dates_written(silver_dir / dataset / f"run={run}")
            if written is None:
                return None
            touched |= written
        dates[dataset] = tuple(sorted(touched))
    return Increment(previous=previous, dates=dates)
