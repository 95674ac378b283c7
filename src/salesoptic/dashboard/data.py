"""The dashboard's only access to storage: DuckDB over Parquet, and the run records' JSON.

- Gold is read from the version ``gold/current`` points at, resolved once per page run,
  so one render reads one complete version even if a new one is published meanwhile;
  the version id is part of every cache key, so a new version is read on the next run.
- Every value a user chooses reaches DuckDB as a ``?`` parameter, file paths too
  (``read_parquet(?)``). The SQL text is assembled only from constants of this module.
- Results are cached with ``st.cache_data``; the connection with ``st.cache_resource``
  and one cursor per query, because a DuckDB connection is not shared across threads.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from salesoptic.contracts.reasons import DATASETS
from salesoptic.dashboard.filters import FILTERABLE, Filters, kpi_table

GOLD_TABLES = tuple(FILTERABLE)
DATED_TABLES = ("daily_sales", "funnel_daily", "service_health_daily", "log_levels_daily")

# Filter dimension -> the Filters attribute holding its chosen values (dates apart).
_VALUE_FILTERS = (("country", "countries"), ("segment", "segments"), ("channel", "channels"))


@dataclass(frozen=True)
class Gold:
    """One published gold version: ``root`` is the resolved version folder."""

    root: Path
    version: str
    tables: frozenset[str]

    def files(self, table: str) -> str:
        """The Parquet glob of ``table``; only contract table names are accepted."""
        if table not in GOLD_TABLES:
            raise ValueError(f"{table!r} is not a gold table.")
        return str(self.root / table / "*.parquet")

    def has(self, *tables: str) -> bool:
        return all(table in self.tables for table in tables)


def _fingerprint(paths: Sequence[Path]) -> str:
    """Names, sizes and modification times: changes whenever a file is rewritten."""
    parts = []
    for path in sorted(paths):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def resolve_gold(data_dir: Path) -> Gold | None:
    """The gold version ``current`` points at now, or None before the first publication."""
    current = data_dir / "gold" / "current"
    if not current.is_dir():
        return None
    root = current.resolve()
    parquet = {table: list((root / table).glob("*.parquet")) for table in GOLD_TABLES}
    tables = frozenset(table for table, files in parquet.items() if files)
    if not tables:
        return None
    # A symbolic link names its version; a plain folder is identified by its files.
    if current.is_symlink():
        version = root.name
    else:
        version = "dir-" + _fingerprint([f for files in parquet.values() for f in files])
    return Gold(root=root, version=version, tables=tables)


@st.cache_resource(show_spinner=False)
def connection() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB for the server process; gold timestamps are UTC."""
    con = duckdb.connect(":memory:")
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    return con


@st.cache_data(show_spinner=False, max_entries=512)
def _query(sql: str, params: tuple[Any, ...], version: str) -> pd.DataFrame:
    """Run ``sql`` with ``params``; ``version`` keys the cache to the data it read."""
    del version  # only part of the cache key
    values = [list(p) if isinstance(p, tuple) else p for p in params]
    cursor = connection().cursor()
    try:
        return cursor.sql(sql, params=values).to_arrow_table().to_pandas()
    finally:
        cursor.close()


def query(sql: str, params: Sequence[Any], version: str) -> pd.DataFrame:
    """Cached query; lists become tuples so the cache can hash them."""
    frozen = tuple(tuple(p) if isinstance(p, list) else p for p in params)
    return _query(sql, frozen, version)


def _where(table: str, filters: Filters) -> tuple[str, list[Any]]:
    """The WHERE clause of the filters ``table`` can honour, with its parameters."""
    allowed = FILTERABLE[table]
    clauses: list[str] = []
    params: list[Any] = []
    if "date" in allowed and filters.start is not None and filters.end is not None:
        clauses.append("date BETWEEN ? AND ?")
        params += [filters.start, filters.end]
    for dim, attribute in _VALUE_FILTERS:
        values = getattr(filters, attribute)
        if dim in allowed and values:
            clauses.append(f"list_contains(?, {dim})")
            params.append(list(values))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _select(gold: Gold, table: str, filters: Filters, tail: str = "", *extra: Any) -> pd.DataFrame:
    where, params = _where(table, filters)
    sql = f"SELECT * FROM read_parquet(?){where}{tail}"
    return query(sql, [gold.files(table), *params, *extra], gold.version)


# --- filter choices --------------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """First and last dates of all dated tables, and of ``daily_sales`` alone."""

    first: Any
    last: Any
    sales_first: Any
    sales_last: Any


def date_bounds(gold: Gold) -> Bounds | None:
    tables = [t for t in DATED_TABLES if gold.has(t)]
    if not tables:
        return None
    union = " UNION ALL ".join(
        f"SELECT '{t}' AS t, min(date) AS lo, max(date) AS hi FROM read_parquet(?)" for t in tables
    )
    df = query(union, [gold.files(t) for t in tables], gold.version).dropna()
    if df.empty:
        return None
    sales = df[df["t"] == "daily_sales"]
    return Bounds(
        first=df["lo"].min(),
        last=df["hi"].max(),
        sales_first=sales["lo"].iloc[0] if not sales.empty else None,
        sales_last=sales["hi"].iloc[0] if not sales.empty else None,
    )


def filter_options(gold: Gold) -> dict[str, list[str]]:
    """The values each filter can take, from the tables that have the column."""
    sources = {
        "country": ("sales_by_country", "customer_value"),
        "segment": ("sales_by_segment", "customer_value"),
        "channel": ("sales_by_channel",),
    }
    options: dict[str, list[str]] = {}
    for dim, tables in sources.items():
        present = [t for t in tables if gold.has(t)]
        if not present:
            options[dim] = []
            continue
        union = " UNION ".join(f"SELECT DISTINCT {dim} AS v FROM read_parquet(?)" for _ in present)
        df = query(union, [gold.files(t) for t in present], gold.version)
        options[dim] = sorted(str(v) for v in df["v"].dropna())
    return options


# --- business --------------------------------------------------------------------------


@dataclass(frozen=True)
class Kpis:
    """The key figures; a None figure cannot be computed exactly for the filters.

    ``missing`` maps such a figure to the i18n key of the reason.
    """

    table: str | None
    revenue: Decimal | None = None
    orders: int | None = None
    units: int | None = None
    customers: int | None = None
    missing: tuple[tuple[str, str], ...] = ()

    @property
    def avg_order_value(self) -> Decimal | None:
        """Revenue per order, rounded half-up to cents like gold's ``avg_order_value``."""
        if self.revenue is None or not self.orders:
            return None
        return (Decimal(self.revenue) / self.orders).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _one(gold: Gold, sql: str, params: list[Any]) -> dict[str, Any]:
    row = query(sql, params, gold.version).iloc[0]
    return {k: (None if pd.isna(v) else v) for k, v in row.items()}


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _money(value: Any) -> Decimal:
    return Decimal("0.00") if value is None else Decimal(value)


def kpis(gold: Gold, filters: Filters) -> Kpis:
    """Revenue, orders, units, customers from the one table that honours every filter."""
    table = kpi_table(filters)
    if table is None or not gold.has(table):
        return Kpis(table=None)
    where, params = _where(table, filters)
    files = gold.files(table)
    missing: list[tuple[str, str]] = []
    if table == "daily_sales":
        row = _one(
            gold,
            "SELECT sum(revenue) AS revenue, sum(orders) AS orders, sum(units) AS units, "
            f"sum(customers) AS customers, count(*) AS days FROM read_parquet(?){where}",
            [files, *params],
        )
        if not filters.date_active and gold.has("customer_value"):
            # Distinct customers of the whole period: one customer_value row each.
            customers = _int(
                _one(
                    gold,
                    "SELECT count(*) AS n FROM read_parquet(?)",
                    [gold.files("customer_value")],
                )["n"]
            )
        elif filters.date_active and row["days"] <= 1:
            customers = _int(row["customers"]) or 0
        else:
            customers = None
            missing.append(("customers", "kpi_missing_customers_range"))
        return Kpis(
            table,
            _money(row["revenue"]),
            _int(row["orders"]) or 0,
            _int(row["units"]) or 0,
            customers,
            tuple(missing),
        )
    if table == "customer_value":
        row = _one(
            gold,
            "SELECT sum(revenue) AS revenue, sum(orders) AS orders, count(*) AS customers "
            f"FROM read_parquet(?){where}",
            [files, *params],
        )
        units = None
        if not filters.segments and gold.has("sales_by_country"):
            # Countries split sales_by_country exactly as they split customer_value.
            c_where, c_params = _where("sales_by_country", filters)
            units = (
                _int(
                    _one(
                        gold,
                        f"SELECT sum(units) AS units FROM read_parquet(?){c_where}",
                        [gold.files("sales_by_country"), *c_params],
                    )["units"]
                )
                or 0
            )
        else:
            missing.append(("units", "kpi_missing_units"))
        return Kpis(
            table,
            _money(row["revenue"]),
            _int(row["orders"]) or 0,
            units,
            _int(row["customers"]) or 0,
            tuple(missing),
        )
    row = _one(
        gold,
        "SELECT sum(revenue) AS revenue, sum(orders) AS orders, sum(units) AS units "
        f"FROM read_parquet(?){where}",
        [files, *params],
    )
    missing.append(("customers", "kpi_missing_customers_channel"))
    return Kpis(
        table,
        _money(row["revenue"]),
        _int(row["orders"]) or 0,
        _int(row["units"]) or 0,
        None,
        tuple(missing),
    )


def daily_sales(gold: Gold, filters: Filters) -> pd.DataFrame:
    return _select(gold, "daily_sales", filters, " ORDER BY date")


def top_products(gold: Gold, filters: Filters, limit: int) -> pd.DataFrame:
    return _select(
        gold, "sales_by_product", filters, " ORDER BY revenue DESC, product_id LIMIT ?", limit
    )


def categories(gold: Gold, filters: Filters) -> pd.DataFrame:
    return _select(gold, "sales_by_category", filters, " ORDER BY revenue DESC, category")


def countries(gold: Gold, filters: Filters) -> pd.DataFrame:
    return _select(gold, "sales_by_country", filters, " ORDER BY revenue DESC, country")


def segments(gold: Gold, filters: Filters) -> pd.DataFrame:
    return _select(gold, "sales_by_segment", filters, " ORDER BY revenue DESC, segment")


def channels(gold: Gold, filters: Filters) -> pd.DataFrame:
    return _select(gold, "sales_by_channel", filters, " ORDER BY revenue DESC, channel")


def top_customers(gold: Gold, filters: Filters, limit: int) -> pd.DataFrame:
    return _select(
        gold, "customer_value", filters, " ORDER BY revenue DESC, customer_id LIMIT ?", limit
    )


def funnel(gold: Gold, filters: Filters) -> pd.DataFrame:
    return _select(gold, "funnel_daily", filters, " ORDER BY date")


# --- operations ------------------------------------------------------------------------


def service_health(gold: Gold, filters: Filters) -> pd.DataFrame:
    return _select(gold, "service_health_daily", filters, " ORDER BY date, service")


def log_levels(gold: Gold, filters: Filters) -> pd.DataFrame:
    return _select(gold, "log_levels_daily", filters, " ORDER BY date, service, level")


def whole_table(gold: Gold, table: str) -> pd.DataFrame:
    """A small gold table in full (``data_quality``, ``pipeline_runs``)."""
    return query("SELECT * FROM read_parquet(?)", [gold.files(table)], gold.version)


def gold_counts(gold: Gold) -> dict[str, int]:
    """Rows of every published gold table (read from Parquet metadata)."""
    tables = sorted(gold.tables)
    union = " UNION ALL ".join(
        f"SELECT '{t}' AS t, count(*) AS n FROM read_parquet(?)" for t in tables
    )
    df = query(union, [gold.files(t) for t in tables], gold.version)
    return {str(r.t): int(r.n) for r in df.itertuples()}


# --- run records -----------------------------------------------------------------------


def _run_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "_state" / "runs").glob("*.json"))


@st.cache_data(show_spinner=False, max_entries=16)
def _load_runs(paths: tuple[str, ...], fingerprint: str) -> list[dict[str, Any]]:
    del fingerprint  # only part of the cache key
    runs = []
    for path in paths:
        try:
            record = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # Records are replaced atomically, so this is a foreign or damaged file.
            continue
        if isinstance(record, dict) and record.get("run_id"):
            runs.append(record)
    return sorted(runs, key=lambda r: str(r["run_id"]))


def runs(data_dir: Path) -> list[dict[str, Any]]:
    """Every run record, oldest first (run ids sort by start time)."""
    files = _run_files(data_dir)
    return _load_runs(tuple(str(p) for p in files), _fingerprint(files))


# --- quarantine ------------------------------------------------------------------------


def _quarantine_files(data_dir: Path, dataset: str) -> list[Path]:
    if dataset not in DATASETS:
        raise ValueError(f"{dataset!r} is not a dataset.")
    return sorted((data_dir / "quarantine" / dataset).glob("run=*/*.parquet"))


def _quarantine_source(data_dir: Path, dataset: str) -> tuple[list[str], str] | None:
    files = _quarantine_files(data_dir, dataset)
    if not files:
        return None
    return [str(f) for f in files], f"q-{dataset}-{_fingerprint(files)}"


QUARANTINE_READ = "read_parquet(?, union_by_name = true, hive_partitioning = false)"


def quarantine_rows(data_dir: Path) -> dict[str, int]:
    """Rows held in quarantine per dataset (every run of a fact, the latest of a dimension)."""
    counts = {}
    for dataset in DATASETS:
        source = _quarantine_source(data_dir, dataset)
        if source is None:
            counts[dataset] = 0
            continue
        files, key = source
        df = query(f"SELECT count(*) AS n FROM {QUARANTINE_READ}", [files], key)
        counts[dataset] = int(df["n"].iloc[0])
    return counts


def quarantine_sample(
    data_dir: Path, dataset: str, reason: str | None, limit: int
) -> tuple[pd.DataFrame, int]:
    """Up to ``limit`` quarantined rows of ``dataset`` (newest run first) and the total."""
    source = _quarantine_source(data_dir, dataset)
    if source is None:
        return pd.DataFrame(), 0
    files, key = source
    where, params = ("", []) if reason is None else (" WHERE list_contains(reasons, ?)", [reason])
    total = query(f"SELECT count(*) AS n FROM {QUARANTINE_READ}{where}", [files, *params], key)
    rows = query(
        f"SELECT * FROM {QUARANTINE_READ}{where} ORDER BY _run_id DESC, _source LIMIT ?",
        [files, *params, limit],
        key,
    )
    return rows, int(total["n"].iloc[0])


def data_dir_exists(data_dir: Path) -> bool:
    return os.path.isdir(data_dir)
