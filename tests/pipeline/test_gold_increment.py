"""Which dates gold recomputes: decided from a version's manifest and silver's folders.

Files only, no Spark: the folders and manifests are laid out as the pipeline writes them.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from salesoptic.pipeline.gold_increment import (
    DAILY_TABLES,
    DEFINITIONS,
    SALES_TOTALS,
    basis,
    plan_increment,
)

RUNS = {"sales": ["r1"], "events": ["r1"], "logs": ["r1"]}


def write_silver(silver: Path, run: str, days: dict[str, list[str]]) -> None:
    """``silver/<dataset>/run=<run>/date=<day>/part.parquet`` for each dataset's days."""
    for dataset, names in days.items():
        folder = silver / dataset / f"run={run}"
        folder.mkdir(parents=True)
        (folder / "_SUCCESS").touch()
        for name in names:
            (folder / f"date={name}").mkdir()
            (folder / f"date={name}" / "part-0.parquet").touch()


def publish(gold: Path, version: str, recorded: dict | None) -> Path:
    """A complete version with every daily table and sales total, made current."""
    version_dir = gold / "versions" / version
    for tables in DAILY_TABLES.values():
        for table in tables:
            (version_dir / table).mkdir(parents=True)
    for name in SALES_TOTALS:
        (version_dir / "_parts" / name).mkdir(parents=True)
    manifest = {"version_id": version, "created_at": "2026-11-27T10:00:00+00:00", "tables": {}}
    if recorded is not None:
        manifest["basis"] = recorded
    (version_dir / "_manifest.json").write_text(json.dumps(manifest))
    link = gold / "current"
    if link.is_symlink():
        link.unlink()
    os.symlink(Path("versions") / version, link)
    return version_dir


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    gold, silver = tmp_path / "gold", tmp_path / "silver"
    write_silver(silver, "r1", {dataset: ["2025-01-01", "2025-01-02"] for dataset in RUNS})
    return gold, silver


def test_new_runs_give_the_dates_they_wrote(dirs) -> None:
    gold, silver = dirs
    previous = publish(gold, "v1", basis(RUNS))
    new_days = {"sales": ["2025-01-03"], "events": ["2025-01-02", "2025-01-03"], "logs": []}
    write_silver(silver, "r2", new_days)
    now = {"sales": ["r1", "r2"], "events": ["r1", "r2"], "logs": ["r1", "r2"]}
    increment = plan_increment(gold, silver, now)
    assert increment is not None and increment.previous == previous
    # The logs of r2 had no valid row: an empty folder, no date to recompute.
    assert increment.dates == {
        "sales": (date(2025, 1, 3),),
        "events": (date(2025, 1, 2), date(2025, 1, 3)),
        "logs": (),
    }
    assert increment.recomputed_dates()["funnel_daily"] == 2
    assert increment.new_runs == {"sales": ("r2",), "events": ("r2",), "logs": ("r2",)}
    assert plan_increment(gold, silver, RUNS).dates == {"sales": (), "events": (), "logs": ()}


@pytest.mark.parametrize(
    "recorded",
    [
        None,  # a version published before the basis was recorded
        {"silver_runs": RUNS, "definitions": DEFINITIONS - 1},
        {"silver_runs": RUNS, "daily_definitions": 1},  # before the sales totals were kept
        {"silver_runs": RUNS},
        {"definitions": DEFINITIONS},
    ],
)
def test_an_unusable_basis_means_a_full_recomputation(dirs, recorded) -> None:
    gold, silver = dirs
    publish(gold, "v1", recorded)
    assert plan_increment(gold, silver, RUNS) is None


def test_silver_that_lost_a_run_means_a_full_recomputation(dirs) -> None:
    gold, silver = dirs
    publish(gold, "v1", basis({**RUNS, "events": ["r0", "r1"]}))
    assert plan_increment(gold, silver, RUNS) is None  # r0 is no longer committed
    publish(gold, "v2", basis(RUNS))
    assert plan_increment(gold, silver, {**RUNS, "logs": ["r1", "r2"]}) is None  # no folder


def test_a_folder_that_is_not_a_date_means_a_full_recomputation(dirs) -> None:
    gold, silver = dirs
    publish(gold, "v1", basis(RUNS))
    write_silver(silver, "r2", {"events": ["__HIVE_DEFAULT_PARTITION__"]})
    assert plan_increment(gold, silver, {**RUNS, "events": ["r1", "r2"]}) is None


def test_no_current_or_an_incomplete_one_means_a_full_recomputation(dirs) -> None:
    gold, silver = dirs
    assert plan_increment(gold, silver, RUNS) is None
    version_dir = publish(gold, "v1", basis(RUNS))
    (version_dir / "_manifest.json").unlink()
    assert plan_increment(gold, silver, RUNS) is None
    publish(gold, "v2", basis(RUNS))
    (gold / "versions" / "v2" / "funnel_daily").rmdir()
    assert plan_increment(gold, silver, RUNS) is None
    publish(gold, "v3", basis(RUNS))
    (gold / "versions" / "v3" / "_parts" / "customer_totals").rmdir()
    assert plan_increment(gold, silver, RUNS) is None
