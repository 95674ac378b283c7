"""`salesoptic run` as a whole: run records, lock, failures, incremental equivalence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from salesoptic.config import load_settings
from salesoptic.errors import UserError
from salesoptic.generate import GenerateSpec, generate
from salesoptic.pipeline.gold import TOTALS_TABLES
from salesoptic.pipeline.gold_increment import DAILY_TABLES as DAILY_BY_SOURCE
from salesoptic.pipeline.runlog import INTERRUPTED, RunLog, run_lock
from salesoptic.pipeline.runner import RunFailed, run_pipeline
from salesoptic.runtime.postgres import free_port

COUNTS = {"sales": 2500, "events": 3000, "logs": 2000, "customers": 40, "products": 12}
KPI_TABLES = (
    "daily_sales", "sales_by_product", "sales_by_category", "sales_by_country",
    "sales_by_segment", "sales_by_channel", "customer_value", "funnel_daily",
    "service_health_daily", "log_levels_daily",
)  # fmt: skip


def gold_rows(data_dir: Path, table: str) -> list[tuple]:
    path = data_dir / "gold" / "current" / table
    return sorted(
        duckdb.sql(f"SELECT * FROM read_parquet('{path}/*.parquet')").fetchall(),
        key=lambda row: tuple(str(v) for v in row),
    )


def customer_totals(data_dir: Path) -> list[tuple]:
    path = data_dir / "gold" / "current" / "_parts" / "customer_totals"
    return duckdb.sql(
        f"SELECT * FROM read_parquet('{path}/*.parquet') ORDER BY customer_id"
    ).fetchall()


def snapshot_gold(data_dir: Path) -> dict[str, list[tuple]]:
    return {table: gold_rows(data_dir, table) for table in KPI_TABLES}


def settings_for(data_dir: Path, pg_url: str):
    return load_settings(data_dir=data_dir, pg_url=pg_url)


def generate_batch(data_dir: Path, pg_url: str, batch: int, seed: int = 21) -> None:
    spec = GenerateSpec.from_options("tiny", seed=seed, defect_rate=0.08, batch=batch, **COUNTS)
    generate(spec, data_dir / "source", pg_url)


DAILY_TABLES = {table for tables in DAILY_BY_SOURCE.values() for table in tables}


def recomputed_dates(results) -> dict[str, int | None]:
    """Per daily table of the gold stage: dates recomputed (None: computed in full)."""
    gold = next(r for r in results if r.stage == "gold")
    return {t.table: t.dates_recomputed for t in gold.datasets if t.table in DAILY_TABLES}


def totals_from(results) -> set[str | None]:
    """The gold versions the sales tables' totals were added to (None: from every sale)."""
    gold = next(r for r in results if r.stage == "gold")
    return {t.totals_from for t in gold.datasets if t.table in TOTALS_TABLES}


def source_dates(data_dir: Path) -> set[str]:
    """Days of the generated events files (``events_<day>.json``)."""
    return {p.stem.removeprefix("events_") for p in (data_dir / "source" / "events").iterdir()}


def timestamp_types(folder: Path) -> dict[str, set[pa.DataType]]:
    """The Arrow types of the timestamp columns in ``folder``'s Parquet files, per column."""
    found: dict[str, set[pa.DataType]] = {}
    for path in folder.rglob("*.parquet"):
        for field in pq.read_schema(path):
            if pa.types.is_timestamp(field.type):
                found.setdefault(field.name, set()).add(field.type)
    return found


def test_gold_after_two_batches_equals_one_run_over_both(spark, tmp_path, pg_url) -> None:
    incremental, at_once = tmp_path / "incremental", tmp_path / "at_once"
    generate_batch(incremental, pg_url, 1)
    first_run, results = run_pipeline(settings_for(incremental, pg_url))
    assert [r.stage for r in results] == ["bronze", "silver", "gold"]
    assert set(recomputed_dates(results).values()) == {None}
    assert totals_from(results) == {None}
    first_gold = snapshot_gold(incremental)
    assert first_gold["daily_sales"], "gold holds the sales"

    # A rerun with nothing new changes no gold content and adds no silver rows; the daily
    # tables of events and logs are copied from the previous version, no date recomputed.
    rerun, results = run_pipeline(settings_for(incremental, pg_url))
    assert snapshot_gold(incremental) == first_gold
    assert set(recomputed_dates(results).values()) == {0}
    assert totals_from(results) == {first_run}

    days_before = source_dates(incremental)
    generate_batch(incremental, pg_url, 2)
    new_days = source_dates(incremental) - days_before
    _, results = run_pipeline(settings_for(incremental, pg_url))
    two_runs = snapshot_gold(incremental)
    assert totals_from(results) == {rerun}  # only batch 2's sales were read
    gold = next(r for r in results if r.stage == "gold")
    [(silver_rows,)] = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{incremental}/silver/**/*.parquet')"
    ).fetchall()
    assert gold.rows_in == silver_rows
    # Only the days batch 2 added are recomputed (its files may hold late records too).
    recomputed = recomputed_dates(results)
    assert len(new_days) <= min(recomputed.values()) < len(two_runs["funnel_daily"])

    # The sales totals the next run adds to are those of every silver sale.
    assert (
        customer_totals(incremental)
        == duckdb.sql(
            f"""SELECT customer_id, count(*), sum(quantity), sum(quantity * unit_price),
                   min(sold_at), max(sold_at)
            FROM read_parquet('{incremental}/silver/sales/*/*/*.parquet')
            GROUP BY customer_id ORDER BY customer_id"""
        ).fetchall()
    )

    generate_batch(at_once, pg_url, 1)
    generate_batch(at_once, pg_url, 2)
    run_pipeline(settings_for(at_once, pg_url))
    assert snapshot_gold(at_once) == two_runs
    assert two_runs != first_gold

    # Every layer stores its timestamps as UTC instants in microseconds (INT64 marked UTC,
    # not INT96, which Arrow reads as naive nanoseconds).
    utc_micros = pa.timestamp("us", tz="UTC")
    for layer, columns in {
        "bronze": {"_ingested_at"},
        "silver": {"_ingested_at", "sold_at", "occurred_at", "logged_at", "updated_at"},
        "quarantine": {"_ingested_at"},
        "gold/current": {"first_order_at", "last_order_at", "started_at", "finished_at"},
    }.items():
        found = timestamp_types(incremental / layer)
        assert columns <= set(found), (layer, sorted(found))
        assert {name: types for name, types in found.items() if types != {utc_micros}} == {}

    runs = RunLog(incremental / "_state").runs()
    assert [r["status"] for r in runs] == ["succeeded"] * 3
    published = gold_rows(incremental, "pipeline_runs")
    assert {row[0] for row in published} == {r["run_id"] for r in runs}
    quality = gold_rows(incremental, "data_quality")
    assert {row[0] for row in quality} == {r["run_id"] for r in runs}
    for run in runs:
        for row in run["quality"]:
            assert row["rows_in"] == row["rows_valid"] + row["rows_quarantined"]


def test_failed_run_keeps_the_previous_gold_and_is_recorded(
    spark, tmp_path, pg_url, monkeypatch
) -> None:
    generate_batch(tmp_path, pg_url, 1, seed=4)
    run_pipeline(settings_for(tmp_path, pg_url))
    before = snapshot_gold(tmp_path)
    current = os.readlink(tmp_path / "gold" / "current")

    down = f"postgresql://u:secret-pw@127.0.0.1:{free_port()}/db"
    with pytest.raises(UserError, match="cannot be reached") as info:
        run_pipeline(load_settings(data_dir=tmp_path, pg_url=down))
    assert "secret-pw" not in str(info.value)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("salesoptic.pipeline.publish.publish_gold", broken)
    with pytest.raises(RunFailed, match=r"failed in stage gold .*disk on fire"):
        run_pipeline(settings_for(tmp_path, pg_url))

    assert os.readlink(tmp_path / "gold" / "current") == current
    assert snapshot_gold(tmp_path) == before
    runs = RunLog(tmp_path / "_state").runs()
    assert [r["status"] for r in runs] == ["succeeded", "failed", "failed"]
    assert "cannot be reached" in runs[1]["error"]
    assert "disk on fire" in runs[2]["error"]
    assert (tmp_path / "_state" / "runs" / f"{runs[2]['run_id']}.log").exists()


def test_second_concurrent_run_exits_at_once(tmp_path, pg_url) -> None:
    env = {**os.environ, "SALESOPTIC_PG_URL": pg_url, "COLUMNS": "200"}
    with run_lock(tmp_path / "_state"):
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "salesoptic", "run", "--data-dir", str(tmp_path)],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "Another run is in progress" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 15  # no Spark session was started


def test_a_lock_left_by_a_killed_run_does_not_block(tmp_path) -> None:
    state = tmp_path / "_state"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path;"
         "from salesoptic.pipeline.runlog import run_lock;"
         f"ctx = run_lock(Path({str(state)!r})); ctx.__enter__(); print('locked', flush=True);"
         "time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(UserError, match="Another run"), run_lock(state):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with run_lock(state):
        pass


def test_interrupted_runs_are_closed_by_the_next_run(tmp_path) -> None:
    log = RunLog(tmp_path / "_state")
    log.start("20250101T000000000000Z", ["bronze"])
    with run_lock(tmp_path / "_state"):
        assert log.mark_interrupted() == ["20250101T000000000000Z"]
    record = log.runs()[0]
    assert (record["status"], record["error"]) == ("failed", INTERRUPTED)
