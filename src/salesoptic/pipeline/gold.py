"""Gold: the KPI tables of DESIGN section 6, computed from silver.

Every function here but ``cached_gold`` is a pure transformation (DataFrame API and
``pyspark.sql.functions`` only): no reads, no writes, no actions. ``cached_gold`` persists
the joined sales, runs the money check on them and, in an incremental run, reads the
current version's daily tables (see ``salesoptic.pipeline.gold_increment``). Publication
lives in ``salesoptic.pipeline.publish``.

Conventions shared by every table:

- a silver sale row is one order; ``revenue = sum(quantity * unit_price)`` as
  ``decimal(18,2)``; ``units = sum(quantity)``; counts are ``long``;
- ``avg_order_value = revenue / orders`` rounded half-up to 2 decimals (``decimal(18,2)``);
- rates and percentiles are ``double``; a rate is 0 when its denominator is 0;
- ``date`` is silver's ``date`` column, the UTC date of the record's timestamp;
- grouped sales tables hold only groups with at least one order; dimension attributes come
  from the current silver dimension (one row per id), joined on the id.

Silver is read once for the sales tables: ``enrich_sales`` joins sales to both dimensions
and prunes to the columns the tables use, and every sales table starts from that one
DataFrame. ``build_gold`` itself stays pure and caches nothing; ``cached_gold`` wraps it
and persists the shared sales DataFrame for the duration of a ``with`` block, so that
writing the seven sales tables scans and joins silver sales once instead of seven times.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from salesoptic.pipeline.gold_increment import DAILY_TABLES, Increment
from salesoptic.pipeline.revenue_check import require_revenue_fits

MONEY = T.DecimalType(18, 2)

# The gold tables and their columns, in order (DESIGN section 6; part of the contract).
GOLD_COLUMNS: dict[str, tuple[str, ...]] = {
    "daily_sales": ("date", "orders", "units", "revenue", "customers", "avg_order_value"),
    "sales_by_product": ("product_id", "product_name", "category", "orders", "units", "revenue"),
    "sales_by_category": ("category", "orders", "units", "revenue", "revenue_share"),
    "sales_by_country": ("country", "orders", "units", "revenue", "customers"),
    "sales_by_segment": ("segment", "orders", "revenue", "avg_order_value"),
    "sales_by_channel": ("channel", "orders", "units", "revenue"),
    "customer_value": (
        "customer_id",
        "name",
        "country",
        "segment",
        "orders",
        "revenue",
        "first_order_at",
        "last_order_at",
    ),
    "funnel_daily": (
        "date",
        "sessions",
        "sessions_view",
        "sessions_cart",
        "sessions_purchase",
        "view_to_cart_rate",
        "cart_to_purchase_rate",
        "conversion_rate",
    ),
    "service_health_daily": (
        "date",
        "service",
        "lines",
        "errors",
        "error_rate",
        "p50_latency_ms",
        "p95_latency_ms",
    ),
    "log_levels_daily": ("date", "service", "level", "lines"),
    "data_quality": (
        "run_id",
        "dataset",
        "rows_in",
        "rows_valid",
        "rows_quarantined",
        "reason",
        "reason_rows",
    ),
    "pipeline_runs": (
        "run_id",
        "stage",
        "started_at",
        "finished_at",
        "status",
        "rows_in",
        "rows_out",
        "duration_s",
    ),
}

# Tables with one row per customer grow with the business; every other table is a small
# aggregate and is written as a single file (see ``coalesce_small``).
LARGE_TABLES = frozenset({"customer_value"})

DATA_QUALITY_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("dataset", T.StringType(), False),
        T.StructField("rows_in", T.LongType(), True),
        T.StructField("rows_valid", T.LongType(), True),
        T.StructField("rows_quarantined", T.LongType(), True),
        T.StructField("reason", T.StringType(), True),
        T.StructField("reason_rows", T.LongType(), True),
    ]
)

PIPELINE_RUNS_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("stage", T.StringType(), False),
        T.StructField("started_at", T.TimestampType(), True),
        T.StructField("finished_at", T.TimestampType(), True),
        T.StructField("status", T.StringType(), True),
        T.StructField("rows_in", T.LongType(), True),
        T.StructField("rows_out", T.LongType(), True),
        T.StructField("duration_s", T.DoubleType(), True),
    ]
)

ERROR_LEVEL = "ERROR"
SERVER_ERROR_STATUS = 500


# --- column functions -------------------------------------------------------------------


def revenue_of(quantity: Column, unit_price: Column) -> Column:
    """Revenue of a set of sale lines: ``sum(quantity * unit_price)`` as ``decimal(18,2)``.

    The product of an int and a ``decimal(18,2)`` is exact (scale 2), so is its sum; the
    final cast fails loudly under ANSI mode rather than wrap if a total ever overflows.
    """
    return F.sum(quantity * unit_price).cast(MONEY)


def avg_order_value(revenue: Column, orders: Column) -> Column:
    """``revenue / orders`` rounded half-up to 2 decimals, as ``decimal(18,2)``.

    Decimal division keeps at least 21 decimals here (``decimal(18,2) / decimal(18,0)``),
    so rounding that quotient half-up to 2 decimals equals rounding the exact quotient: a
    quotient of cents by an order count can only lie within 1e-21 of a half cent if the
    count exceeds 1e18.
    """
    quotient = revenue.cast(MONEY) / orders.cast(T.DecimalType(18, 0))
    return F.when(orders > 0, F.round(quotient, 2)).cast(MONEY)


def ratio(numerator: Column, denominator: Column) -> Column:
    """``numerator / denominator`` as a double, 0.0 when the denominator is 0."""
    return F.when(denominator > 0, numerator.cast("double") / denominator.cast("double")).otherwise(
        F.lit(0.0)
    )


# --- sales ------------------------------------------------------------------------------


def enrich_sales(sales_df: DataFrame, customers_df: DataFrame, products_df: DataFrame) -> DataFrame:
    """One row per sale (= one order) with the attributes every sales table needs.

    Columns: ``date, sold_at, customer_id, product_id, channel, quantity, unit_price,
    customer_name, country, segment, product_name, category``. Dimensions are joined on
    their id with a left join, so a sale is never lost from the revenue totals even if a
    dimension row were missing (silver guarantees it is not).
    """
    customer_attrs_df = customers_df.select(
        "customer_id",
        F.col("name").alias("customer_name"),
        "country",
        "segment",
    )
    product_attrs_df = products_df.select(
        "product_id",
        F.col("name").alias("product_name"),
        "category",
    )
    return (
        sales_df.select(
            "date",
            "sold_at",
            "customer_id",
            "product_id",
            "channel",
            "quantity",
            "unit_price",
        )
        .join(customer_attrs_df, on="customer_id", how="left")
        .join(product_attrs_df, on="product_id", how="left")
    )


def agg_daily_sales(sales_df: DataFrame) -> DataFrame:
    """Grain: one row per UTC date with at least one order."""
    return (
        sales_df.groupBy("date")
        .agg(
            F.count(F.lit(1)).alias("orders"),
            F.sum("quantity").cast("long").alias("units"),
            revenue_of(F.col("quantity"), F.col("unit_price")).alias("revenue"),
            F.countDistinct("customer_id").alias("customers"),
        )
        .withColumn("avg_order_value", avg_order_value(F.col("revenue"), F.col("orders")))
        .select(*GOLD_COLUMNS["daily_sales"])
    )


def agg_sales_by_product(sales_df: DataFrame) -> DataFrame:
    """Grain: one row per product with at least one order; name and category are current."""
    return (
        sales_df.groupBy("product_id", "product_name", "category")
        .agg(
            F.count(F.lit(1)).alias("orders"),
            F.sum("quantity").cast("long").alias("units"),
            revenue_of(F.col("quantity"), F.col("unit_price")).alias("revenue"),
        )
        .select(*GOLD_COLUMNS["sales_by_product"])
    )


def agg_sales_by_category(sales_df: DataFrame) -> DataFrame:
    """Grain: one row per product category with at least one order.

    ``revenue_share`` is the category's revenue over the total revenue of all sales, as a
    double; the categories' shares sum to 1.
    """
    category_df = sales_df.groupBy("category").agg(
        F.count(F.lit(1)).alias("orders"),
        F.sum("quantity").cast("long").alias("units"),
        revenue_of(F.col("quantity"), F.col("unit_price")).alias("revenue"),
    )
    # The total is taken from the category aggregate itself (one row), so both sides of
    # the cross join share one shuffle and the shares are consistent with the rows.
    total_df = category_df.agg(F.sum("revenue").alias("total_revenue"))
    return (
        category_df.crossJoin(F.broadcast(total_df))
        .withColumn("revenue_share", ratio(F.col("revenue"), F.col("total_revenue")))
        .select(*GOLD_COLUMNS["sales_by_category"])
    )


def agg_sales_by_country(sales_df: DataFrame) -> DataFrame:
    """Grain: one row per customer country with at least one order."""
    return (
        sales_df.groupBy("country")
        .agg(
            F.count(F.lit(1)).alias("orders"),
            F.sum("quantity").cast("long").alias("units"),
            revenue_of(F.col("quantity"), F.col("unit_price")).alias("revenue"),
            F.countDistinct("customer_id").alias("customers"),
        )
        .select(*GOLD_COLUMNS["sales_by_country"])
    )


def agg_sales_by_segment(sales_df: DataFrame) -> DataFrame:
    """Grain: one row per customer segment with at least one order."""
    return (
        sales_df.groupBy("segment")
        .agg(
            F.count(F.lit(1)).alias("orders"),
            revenue_of(F.col("quantity"), F.col("unit_price")).alias("revenue"),
        )
        .withColumn("avg_order_value", avg_order_value(F.col("revenue"), F.col("orders")))
        .select(*GOLD_COLUMNS["sales_by_segment"])
    )


def agg_sales_by_channel(sales_df: DataFrame) -> DataFrame:
    """Grain: one row per sales channel with at least one order."""
    return (
        sales_df.groupBy("channel")
        .agg(
            F.count(F.lit(1)).alias("orders"),
            F.sum("quantity").cast("long").alias("units"),
            revenue_of(F.col("quantity"), F.col("unit_price")).alias("revenue"),
        )
        .select(*GOLD_COLUMNS["sales_by_channel"])
    )


def agg_customer_value(sales_df: DataFrame) -> DataFrame:
    """Grain: one row per customer with at least one order.

    ``first_order_at`` and ``last_order_at`` are the earliest and latest ``sold_at``.
    """
    return (
        sales_df.groupBy("customer_id", "customer_name", "country", "segment")
        .agg(
            F.count(F.lit(1)).alias("orders"),
            revenue_of(F.col("quantity"), F.col("unit_price")).alias("revenue"),
            F.min("sold_at").alias("first_order_at"),
            F.max("sold_at").alias("last_order_at"),
        )
        .withColumnRenamed("customer_name", "name")
        .select(*GOLD_COLUMNS["customer_value"])
    )


# --- clickstream ------------------------------------------------------------------------


def agg_funnel_daily(events_df: DataFrame) -> DataFrame:
    """Grain: one row per UTC date with at least one event that has a session.

    A session counts once per day it has events (a session spanning midnight counts on
    both dates) and once per funnel step it reached that day. Events without a session id
    belong to no session and are left out.
    """
    session_day_df = (
        events_df.where(F.col("session_id").isNotNull())
        .groupBy("date", "session_id")
        .agg(
            F.max((F.col("event_type") == "view").cast("int")).alias("has_view"),
            F.max((F.col("event_type") == "add_to_cart").cast("int")).alias("has_cart"),
            F.max((F.col("event_type") == "purchase").cast("int")).alias("has_purchase"),
        )
    )
    return (
        session_day_df.groupBy("date")
        .agg(
            F.count(F.lit(1)).alias("sessions"),
            F.sum("has_view").cast("long").alias("sessions_view"),
            F.sum("has_cart").cast("long").alias("sessions_cart"),
            F.sum("has_purchase").cast("long").alias("sessions_purchase"),
        )
        .withColumn("view_to_cart_rate", ratio(F.col("sessions_cart"), F.col("sessions_view")))
        .withColumn(
            "cart_to_purchase_rate", ratio(F.col("sessions_purchase"), F.col("sessions_cart"))
        )
        .withColumn("conversion_rate", ratio(F.col("sessions_purchase"), F.col("sessions_view")))
        .select(*GOLD_COLUMNS["funnel_daily"])
    )


# --- application logs -------------------------------------------------------------------


def is_error_line(level: Column, status: Column) -> Column:
    """A log line is an error when its level is ``ERROR`` or its HTTP status is 5xx."""
    return (level == ERROR_LEVEL) | (status >= SERVER_ERROR_STATUS)


def agg_service_health_daily(logs_df: DataFrame) -> DataFrame:
    """Grain: one row per (UTC date, service) with at least one log line.

    ``errors`` counts error lines (``is_error_line``); ``error_rate = errors / lines``; the
    latency percentiles are exact, with linear interpolation between ranks (Spark's
    ``percentile``, not the approximate one).
    """
    return (
        logs_df.groupBy("date", "service")
        .agg(
            F.count(F.lit(1)).alias("lines"),
            F.count_if(is_error_line(F.col("level"), F.col("status"))).alias("errors"),
            F.percentile(F.col("latency_ms"), F.lit(0.5)).alias("p50_latency_ms"),
            F.percentile(F.col("latency_ms"), F.lit(0.95)).alias("p95_latency_ms"),
        )
        .withColumn("error_rate", ratio(F.col("errors"), F.col("lines")))
        .withColumn("p50_latency_ms", F.col("p50_latency_ms").cast("double"))
        .withColumn("p95_latency_ms", F.col("p95_latency_ms").cast("double"))
        .select(*GOLD_COLUMNS["service_health_daily"])
    )


def agg_log_levels_daily(logs_df: DataFrame) -> DataFrame:
    """Grain: one row per (UTC date, service, level) with at least one log line."""
    return (
        logs_df.groupBy("date", "service", "level")
        .agg(F.count(F.lit(1)).alias("lines"))
        .select(*GOLD_COLUMNS["log_levels_daily"])
    )


# --- run records ------------------------------------------------------------------------


def _utc_timestamp(value: str | datetime | None) -> datetime | None:
    """An ISO-8601 run-record timestamp as an aware UTC datetime (naive means UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        # Python 3.10's fromisoformat does not accept a trailing "Z".
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _long(value: Any) -> int | None:
    return None if value is None else int(value)


def _double(value: Any) -> float | None:
    return None if value is None else float(value)


def quality_df(spark: SparkSession, runs: Iterable[Mapping[str, Any]]) -> DataFrame:
    """``data_quality``. Grain: one row per (run, dataset, reason code) of the silver accounting.

    Built from each run record's ``quality`` list as written by the run log; a dataset with
    nothing quarantined in a run has one row with ``reason`` null and ``reason_rows`` 0.
    """
    rows = [
        (
            str(run["run_id"]),
            str(entry["dataset"]),
            _long(entry.get("rows_in")),
            _long(entry.get("rows_valid")),
            _long(entry.get("rows_quarantined")),
            entry.get("reason"),
            _long(entry.get("reason_rows")),
        )
        for run in runs
        for entry in run.get("quality") or []
    ]
    return spark.createDataFrame(rows, DATA_QUALITY_SCHEMA)


def pipeline_runs_df(spark: SparkSession, runs: Iterable[Mapping[str, Any]]) -> DataFrame:
    """``pipeline_runs``. Grain: one row per (run, stage) recorded in the run log.

    Timestamps are UTC; ``finished_at`` and ``duration_s`` are null for a stage still
    running. A run that has not finished any stage yet has no row.
    """
    rows = [
        (
            str(run["run_id"]),
            str(stage["stage"]),
            _utc_timestamp(stage.get("started_at")),
            _utc_timestamp(stage.get("finished_at")),
            stage.get("status"),
            _long(stage.get("rows_in")),
            _long(stage.get("rows_out")),
            _double(stage.get("duration_s")),
        )
        for run in runs
        for stage in run.get("stages") or []
    ]
    return spark.createDataFrame(rows, PIPELINE_RUNS_SCHEMA)


# --- the whole gold layer ---------------------------------------------------------------

DAILY_AGGREGATIONS = {
    "funnel_daily": agg_funnel_daily,
    "service_health_daily": agg_service_health_daily,
    "log_levels_daily": agg_log_levels_daily,
}


def updated_daily(
    table: str, previous_df: DataFrame, silver_df: DataFrame, dates: Iterable[Any]
) -> DataFrame:
    """A daily table with ``dates`` recomputed from silver and every other date kept.

    Each row of these tables depends only on the silver rows of its own date, so the kept
    rows are the ones a full recomputation would give (``gold_increment``).
    """
    chosen = list(dates)
    kept = previous_df.where(~F.col("date").isin(chosen)).select(*GOLD_COLUMNS[table])
    fresh = DAILY_AGGREGATIONS[table](silver_df.where(F.col("date").isin(chosen)))
    return kept.unionByName(fresh)


def _daily(
    silver: Mapping[str, DataFrame], previous: Mapping[str, DataFrame], increment: Increment | None
) -> dict[str, DataFrame]:
    tables = {}
    for dataset, names in DAILY_TABLES.items():
        for table in names:
            if increment is None:
                tables[table] = DAILY_AGGREGATIONS[table](silver[dataset])
            else:
                tables[table] = updated_daily(
                    table, previous[table], silver[dataset], increment.dates[dataset]
                )
    return tables


def coalesce_small(table: str, df: DataFrame) -> DataFrame:
    """Write small aggregates as one file; leave per-customer tables to adaptive execution."""
    return df if table in LARGE_TABLES else df.coalesce(1)


def _build(
    sales_df: DataFrame,
    silver: Mapping[str, DataFrame],
    runs: list[dict],
    spark: SparkSession,
    daily: Mapping[str, DataFrame],
) -> dict[str, DataFrame]:
    tables = {
        "daily_sales": agg_daily_sales(sales_df),
        "sales_by_product": agg_sales_by_product(sales_df),
        "sales_by_category": agg_sales_by_category(sales_df),
        "sales_by_country": agg_sales_by_country(sales_df),
        "sales_by_segment": agg_sales_by_segment(sales_df),
        "sales_by_channel": agg_sales_by_channel(sales_df),
        "customer_value": agg_customer_value(sales_df),
        "funnel_daily": daily["funnel_daily"],
        "service_health_daily": daily["service_health_daily"],
        "log_levels_daily": daily["log_levels_daily"],
        "data_quality": quality_df(spark, runs),
        "pipeline_runs": pipeline_runs_df(spark, runs),
    }
    return {name: coalesce_small(name, df) for name, df in tables.items()}


def _enrich(silver: Mapping[str, DataFrame]) -> DataFrame:
    missing = sorted({"sales", "events", "logs", "customers", "products"} - set(silver))
    if missing:
        raise ValueError(f"Gold needs the silver datasets {', '.join(missing)}, not given.")
    return enrich_sales(silver["sales"], silver["customers"], silver["products"])


def build_gold(
    silver: Mapping[str, DataFrame], runs: list[dict], spark: SparkSession
) -> dict[str, DataFrame]:
    """Every gold table (name → DataFrame, columns in contract order) from silver.

    ``silver`` maps ``sales, events, logs, customers, products`` to DataFrames with the
    silver schemas; ``runs`` are run records (the JSON shape of docs/data-contracts.md).
    Pure and lazy: nothing is read or cached until the caller writes the tables. To
    reuse the joined sales across the seven sales tables, use ``cached_gold``.
    """
    return _build(_enrich(silver), silver, runs, spark, _daily(silver, {}, None))


@contextlib.contextmanager
def cached_gold(
    silver: Mapping[str, DataFrame],
    runs: list[dict],
    spark: SparkSession,
    increment: Increment | None = None,
) -> Iterator[dict[str, DataFrame]]:
    """``build_gold`` with the joined sales persisted for the duration of the block.

    With an ``increment``, the daily tables of events and logs recompute only its dates
    and take the other dates from its previous version (``updated_daily``).

    The money check (``revenue_check``) runs first, on the persisted sales: its one pass
    materializes the join (memory, spilling to disk), and every sales table then reads
    it from the cache. A revenue beyond ``decimal(18,2)`` raises ``UserError`` before any
    table is computed. The cache is released when the block ends.
    """
    sales_df = _enrich(silver).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        require_revenue_fits(sales_df, named_from=silver["sales"])
        previous = (
            {}
            if increment is None
            else {
                table: spark.read.parquet(increment.previous_table(table))
                for names in DAILY_TABLES.values()
                for table in names
            }
        )
        yield _build(sales_df, silver, runs, spark, _daily(silver, previous, increment))
    finally:
        sales_df.unpersist()
