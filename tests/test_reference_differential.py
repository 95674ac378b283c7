"""Differential test: SalesOptic's gold equals an independent DuckDB implementation.

The reference (``benchmarks/duckdb_reference.py``) re-implements the landing zone →
bronze → silver → gold semantics of DESIGN sections 3, 5 and 6 in DuckDB SQL, importing
nothing from ``salesoptic``. On generated data with defects, every KPI gold table must be
equal (exact for counts and decimals, 1e-9 for doubles), and the per-reason quarantine
counts of the run records must equal the reference's, first after one batch, then after
a second batch ingested by an incremental run.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import duckdb_reference as ref
import pyarrow as pa

from salesoptic.config import load_settings
from salesoptic.generate import GenerateSpec, generate
from salesoptic.pipeline.runner import run_pipeline


def _spec(batch: int):
    return GenerateSpec.from_options(
        "tiny",
        sales=3000,
        events=4000,
        logs=3000,
        customers=50,
        products=12,
        seed=20250607,
        defect_rate=0.1,
        batch=batch,
    )


def _check(data_dir: Path, pg_url: str) -> None:
    result = ref.run_reference(data_dir / "source", pg_url, datetime.now(timezone.utc))
    assert set(result.gold) == set(ref.GOLD_TABLES)
    assert all(table.num_rows > 0 for table in result.gold.values())
    problems = ref.compare_gold(result.gold, data_dir / "gold" / "current")
    problems += ref.compare_quality(result.quality, ref.run_records_quality(data_dir / "_state"))
    assert not problems, "\n".join(problems)


def test_gold_equals_duckdb_reference_over_two_batches(spark, pg_url, tmp_path):
    data_dir = tmp_path / "data"
    settings = load_settings(data_dir=data_dir, pg_url=pg_url)

    generate(_spec(1), data_dir / "source", pg_url)
    run_pipeline(settings)
    _check(data_dir, pg_url)

    # Batch 2 re-sends keys of batch 1 and updates customers' segments: an incremental
    # run must give the gold of one reference run over both batches.
    generate(_spec(2), data_dir / "source", pg_url)
    run_pipeline(settings)
    _check(data_dir, pg_url)


def test_comparison_detects_a_difference(tmp_path):
    """The comparison itself: one cent, one count or 1e-6 in a rate is a difference."""
    from decimal import Decimal

    table = pa.table(
        {
            "channel": ["web", "store"],
            "orders": pa.array([3, 1], pa.int64()),
            "revenue": pa.array([Decimal("10.01"), Decimal("2.00")], pa.decimal128(18, 2)),
            "rate": [0.5, 0.25],
        }
    )
    assert ref.compare_table("t", table, table.take([1, 0])) == []
    close = table.set_column(3, "rate", pa.array([0.5 + 1e-12, 0.25]))
    assert ref.compare_table("t", table, close) == []
    cent = table.set_column(
        2, "revenue", pa.array([Decimal("10.02"), Decimal("2.00")], pa.decimal128(18, 2))
    )
    assert ref.compare_table("t", table, cent)
    count = table.set_column(1, "orders", pa.array([3, 2], pa.int64()))
    assert ref.compare_table("t", table, count)
    rate = table.set_column(3, "rate", pa.array([0.5 + 1e-6, 0.25]))
    assert ref.compare_table("t", table, rate)
    assert ref.compare_table("t", table, table.slice(0, 1))
    wrong_type = table.set_column(1, "orders", pa.array([3.0, 1.0]))
    assert ref.compare_table("t", table, wrong_type)
