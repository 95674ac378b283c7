"""What a run can take from the current gold instead of recomputing it from all of silver.

Silver facts only grow: each run adds one folder ``run=<id>/date=<day>/`` per dataset and
never changes an earlier run's. A gold version's manifest names the silver runs it was
computed from, and the version of the definitions of what is reused. Two things can
then be updated from the newer runs alone, with the same rows as a full recomputation:

- the daily tables that read one fact dataset and no dimension (``daily_sales``,
  ``funnel_daily``, ``service_health_daily``, ``log_levels_daily``) can change only on
  the dates the newer runs wrote: those dates are recomputed from all of silver and every
  other date's rows are copied from the current version;
- the sales totals per customer, product and channel (orders, units, revenue, first and
  last order) are counts, sums, minima and maxima of disjoint sets of sales: the version
  keeps them under ``_parts/`` and the next run adds the totals of the newer runs' sales.
  The tables that join them to the dimensions are computed afresh from them.

Anything that breaks the premise (no complete current version, a version without that
record, with other definitions or without its parts, a recorded run no longer in silver
or without its folder, a folder that is not a date) means a full recomputation. When the
definition of a daily table or of a total changes, ``DEFINITIONS`` is raised with it;
``updated_daily`` and ``stored_totals_match`` also refuse whatever is stored with other
columns or types than the fresh ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from salesoptic.pipeline.publish import PARTS, current_manifest

DAILY_TABLES: dict[str, tuple[str, ...]] = {
    "sales": ("daily_sales",),
    "events": ("funnel_daily",),
    "logs": ("service_health_daily", "log_levels_daily"),
}
# The sales totals a version keeps for the next run, by name: the column they group by.
SALES_TOTALS: dict[str, str] = {
    "customer_totals": "customer_id",
    "product_totals": "product_id",
    "channel_totals": "channel",
}
DATE_FOLDER = "date="
# Raise whenever the definition of a daily table or a sales total changes: rows an
# earlier definition computed are then never reused.
DEFINITIONS = 2


def basis(silver_runs: Mapping[str, list[str]]) -> dict[str, object]:
    """What a gold version's manifest records for the next run's ``plan_increment``."""
    return {"silver_runs": dict(silver_runs), "definitions": DEFINITIONS}


@dataclass(frozen=True)
class Increment:
    """Recompute ``dates[dataset]`` of that dataset's daily tables and copy the rest; add
    the totals of the sales of ``new_runs["sales"]`` to the previous version's."""

    previous: Path
    dates: dict[str, tuple[date, ...]]
    new_runs: dict[str, tuple[str, ...]]

    def previous_table(self, table: str) -> str:
        return str(self.previous / table)

    def previous_part(self, name: str) -> str:
        return str(self.previous / PARTS / name)

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
    if not isinstance(recorded, dict) or recorded.get("definitions") != DEFINITIONS:
        return None
    covered = recorded.get("silver_runs")
    if not isinstance(covered, dict):
        return None
    if any(not (previous / PARTS / name).is_dir() for name in SALES_TOTALS):
        return None
    dates: dict[str, tuple[date, ...]] = {}
    new_runs: dict[str, tuple[str, ...]] = {}
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
        new_runs[dataset] = tuple(sorted(set(now) - set(before)))
        for run in new_runs[dataset]:
            written = _dates_written(silver_dir / dataset / f"run={run}")
            if written is None:
                return None
            touched |= written
        dates[dataset] = tuple(sorted(touched))
    return Increment(previous=previous, dates=dates, new_runs=new_runs)
