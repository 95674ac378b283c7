"""Helpers shared by the reliability tests: reading zones with pyarrow/DuckDB, not Spark."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from salesoptic.runtime.pgurl import PgUrl

KPI_TABLES = (
    "daily_sales", "sales_by_product", "sales_by_category", "sales_by_country",
    "sales_by_segment", "sales_by_channel", "customer_value", "funnel_daily",
    "service_health_daily", "log_levels_daily",
)  # fmt: skip
KEYS = {"sales": "transaction_id", "events": "event_id"}
FACTS = ("sales", "events", "logs")

CUSTOMERS_DDL = (
    "CREATE TABLE customers (customer_id integer PRIMARY KEY, name text, email text, "
    "country text, segment text, signup_date date, updated_at timestamptz)"
)
PRODUCTS_DDL = (
    "CREATE TABLE products (product_id integer PRIMARY KEY, name text, category text, "
    "list_price numeric(10,2), updated_at timestamptz)"
)


def parquet_rows(folder: Path) -> list[dict]:
    """Every row of every Parquet file under ``folder`` (hidden folders skipped)."""
    rows: list[dict] = []
    if not folder.is_dir():
        return rows
    for path in sorted(folder.rglob("*.parquet")):
        relative = path.relative_to(folder).parts
        if any(part.startswith(("_", ".")) for part in relative):
            continue
        table = pq.read_table(path, partitioning=None)
        # Bronze keeps undecodable bytes as they came: read strings as bytes.
        binary = pa.schema(
            [
                pa.field(f.name, pa.binary() if f.type == pa.string() else f.type)
                for f in table.schema
            ]
        )
        for row in table.cast(binary).to_pylist():
            rows.append({k: _text(v) for k, v in row.items()})
    return rows


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value


def bronze_rows(data_dir: Path, dataset: str) -> list[dict]:
    return parquet_rows(data_dir / "bronze" / dataset)


def silver_rows(data_dir: Path, dataset: str) -> list[dict]:
    return parquet_rows(data_dir / "silver" / dataset)


def quarantine_rows(data_dir: Path, dataset: str) -> list[dict]:
    return parquet_rows(data_dir / "quarantine" / dataset)


def file_name(source: str | bytes) -> str:
    text = source.decode("utf-8", "surrogateescape") if isinstance(source, bytes) else source
    return text.rsplit("/", 1)[-1]


def outcomes_by_file(data_dir: Path, dataset: str) -> dict[str, Counter]:
    """Per source file name, a Counter of outcomes: () for silver, the reasons tuple else."""
    result: dict[str, Counter] = {}
    for row in silver_rows(data_dir, dataset):
        result.setdefault(file_name(row["_source"]), Counter())[()] += 1
    for row in quarantine_rows(data_dir, dataset):
        result.setdefault(file_name(row["_source"]), Counter())[tuple(row["reasons"])] += 1
    return result


def bronze_count_by_file(data_dir: Path, dataset: str) -> Counter:
    return Counter(file_name(r["_source"]) for r in bronze_rows(data_dir, dataset))


def assert_accounting(data_dir: Path) -> dict[str, tuple[int, int, int]]:
    """Every bronze row of a fact is in exactly one of silver or quarantine, per file.

    Returns per dataset (bronze, silver, quarantine) row counts.
    """
    figures = {}
    for dataset in FACTS:
        bronze = bronze_count_by_file(data_dir, dataset)
        judged: Counter = Counter()
        for outcome in outcomes_by_file(data_dir, dataset).values():
            judged.update({k: v for k, v in outcome.items()})
        per_file: Counter = Counter()
        for name, outcome in outcomes_by_file(data_dir, dataset).items():
            per_file[name] = sum(outcome.values())
        assert per_file == bronze, f"{dataset}: silver + quarantine per file != bronze per file"
        silver = len(silver_rows(data_dir, dataset))
        quarantine = len(quarantine_rows(data_dir, dataset))
        assert silver + quarantine == sum(bronze.values()), dataset
        figures[dataset] = (sum(bronze.values()), silver, quarantine)
    return figures


def assert_no_duplicate_keys(data_dir: Path) -> None:
    for dataset, key in KEYS.items():
        keys = Counter(r[key] for r in silver_rows(data_dir, dataset))
        repeated = {k: n for k, n in keys.items() if n > 1}
        assert not repeated, f"{dataset}: keys in silver more than once: {list(repeated)[:5]}"


def gold_table(version_dir: Path, table: str) -> list[tuple]:
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{version_dir / table}/*.parquet')").fetchall()
    return sorted(rows, key=lambda row: tuple(str(v) for v in row))


def gold_snapshot(data_dir: Path) -> dict[str, list[tuple]]:
    """Every KPI table of ``gold/current``, resolved once."""
    current = data_dir / "gold" / "current"
    version = current.parent / os.readlink(current)
    return {table: gold_table(version, table) for table in KPI_TABLES}


def current_version(data_dir: Path) -> str | None:
    try:
        return os.readlink(data_dir / "gold" / "current")
    except OSError:
        return None


def run_records(data_dir: Path) -> list[dict]:
    folder = data_dir / "_state" / "runs"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def make_database(admin: PgUrl, name: str) -> PgUrl:
    """A fresh database on the session's server, so tests never touch others' tables."""
    with psycopg.connect(admin.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PgUrl(admin.host, admin.port, name, admin.user, admin.password)


def load_dimensions(pg: PgUrl, customers: list[tuple], products: list[tuple]) -> None:
    """Create and fill the two tables with parameters (psycopg), never string-built SQL."""
    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS customers")
        conn.execute("DROP TABLE IF EXISTS products")
        conn.execute(CUSTOMERS_DDL)
        conn.execute(PRODUCTS_DDL)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO customers VALUES (%s, %s, %s, %s, %s, %s, %s)", customers)
            cur.executemany("INSERT INTO products VALUES (%s, %s, %s, %s, %s)", products)


def as_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows)
