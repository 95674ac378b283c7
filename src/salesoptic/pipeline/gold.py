"""Gold: the KPI tables of DESIGN section 6, computed from silver.

Every function here but ``cached_gold`` is a pure transformation (DataFrame API and
``pyspark.sql.functions`` only): no reads, no writes, no actions. ``cached_gold`` persists
the sales parts, runs the money check on them and, in an incremental run, reads the
current version's daily tables and stored sales totals (see
``salesoptic.pipeline.gold_increment``). Publication lives in ``salesoptic.pipeline.publish``.

Conventions shared by every table:

- a silver sale row is one order; ``revenue = sum(quantity * unit_price)`` as
  ``decimal(18,2)``; ``units = sum(quantity)``; counts are ``long``;
- ``avg_order_value = revenue / orders`` rounded half-up to 2 decimals (``decimal(18,2)``);
- rates and percentiles are ``double``; a rate is 0 when its denominator is 0;
- ``date`` is silver's ``date`` column, the UTC date of the record's timestamp;
- grouped sales tables hold only groups with at least one order; dimension attributes come
  from the current silver dimension (one row per id), joined on the id.

Silver sales are read once for the seven sales tables: ``sales_lines`` prunes them to the
columns the tables use, ``sales_totals`` aggregates them per customer, product and
channel, and ``sales_parts`` joins only the customer and product totals to the
dimensions (a million customers, not every sale); the tables by country, segment and
category sum them. ``build_gold`` itself stays pure and caches nothing; ``cached_gold``
wraps it and persists the lines, the totals and the joined totals for the duration of a
``with`` block, so that writing the seven tables scans silver sales once (in an
incremental run: the new sales once, and the dates ``daily_sales`` recomputes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from salesoptic.pipeline.gold_increment import DAILY_TABLES, SALES_TOTALS, Increment
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

# The tables computed from the sales totals (``sales_totals``), not from the sales lines.
TOTALS_TABLES = frozenset(
    {
        "sales_by_product",
        "sales_by_category",
        "sales_by_country",
        "sales_by_segment",
        "sales_by_channel",
        "customer_value",
    }
)

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


SALES_LINE_COLUMNS = (
    "date", "sold_at", "customer_id", "product_id", "channel", "quantity", "unit_price"
)  # fmt: skip


@dataclass(frozen=True)
class SalesParts:
    """Silver sales reduced once for the seven sales tables.

    ``lines``: one row per sale (``SALES_LINE_COLUMNS``), for ``daily_sales``. ``totals``:
    ``sales_totals`` of every sale, per customer, product and channel. ``per_customer``
    and ``per_product``: those totals with the dimension's attributes joined to them
    rather than to every sale. Counts and sums add up exactly, and each customer has one
    country and segment and each product one category, so the tables by country, segment
    and category are sums of these rows.
    """

    lines: DataFrame
    totals: dict[str, DataFrame]
    per_customer: DataFrame
    per_product: DataFrame


def _totals(lines_df: DataFrame, key: str | list[str], *extra: Column) -> DataFrame:
    return lines_df.groupBy(key).agg(
        F.count(F.lit(1)).alias("orders"),
        F.sum("quantity").cast("long").alias("units"),
        revenue_of(F.col("quantity"), F.col("unit_price")).alias("revenue"),
        *extra,
    )


def sales_lines(sales_df: DataFrame) -> DataFrame:
    """Silver sales pruned to the columns the sales tables use."""
    return sales_df.select(*SALES_LINE_COLUMNS)


def sales_totals(lines_df: DataFrame) -> dict[str, DataFrame]:
    """Orders, units and revenue of the lines per customer (with the first and last
    order's ``sold_at``), per product and per channel; named as in ``SALES_TOTALS``."""
    return {
        "customer_totals": _totals(
            lines_df,
            "customer_id",
            F.min("sold_at").alias("first_order_at"),
            F.max("sold_at").alias("last_order_at"),
        ),
        "product_totals": _totals(lines_df, "product_id"),
        "channel_totals": _totals(lines_df, "channel"),
    }


def merged_totals(earlier_df: DataFrame, new_df: DataFrame, key: str) -> DataFrame:
    """The totals of two disjoint sets of sales as the totals of their union: counts and
    sums add, the first and last order are the earliest first and the latest last."""
    extra = []
    if "first_order_at" in new_df.columns:
        extra = [
            F.min("first_order_at").alias("first_order_at"),
            F.max("last_order_at").alias("last_order_at"),
        ]
    both_df = earlier_df.select(*new_df.columns).unionByName(new_df)
    return _summed(both_df, key, *extra)


def same_columns(stored_df: DataFrame, fresh_df: DataFrame) -> bool:
    """Whether a stored result has the columns and types, in order, of a fresh one."""
    return [(f.name, f.dataType) for f in stored_df.schema] == [
        (f.name, f.dataType) for f in fresh_df.schema
    ]


def stored_totals_match(stored: Mapping[str, DataFrame], lines_df: DataFrame) -> bool:
    """Whether stored totals have the columns and types ``sales_totals`` gives now."""
    fresh = sales_totals(lines_df)
    return set(stored) == set(fresh) and all(
        same_columns(stored[name], fresh[name]) for name in fresh
    )


def sales_parts(
    lines_df: DataFrame,
    customers_df: DataFrame,
    products_df: DataFrame,
    totals: Mapping[str, DataFrame] | None = None,
) -> SalesParts:
    """The sales lines (``sales_lines``), their totals (``totals`` when given, else
    ``sales_totals`` of the lines) and the totals joined to the dimensions.

    Dimensions are joined with a left join, so a sale is never lost from the totals even
    if a dimension row were missing (silver guarantees it is not).
    """
    totals = dict(totals) if totals is not None else sales_totals(lines_df)
    customer_attrs_df = customers_df.select("customer_id", "name", "country", "segment")
    product_attrs_df = products_df.select(
        "product_id", F.col("name").alias("product_name"), "category"
    )
    per_customer_df = totals["customer_totals"].join(
        customer_attrs_df, on="customer_id", how="left"
    )
    per_product_df = totals["product_totals"].join(product_attrs_df, on="product_id", how="left")
    return SalesParts(lines_df, totals, per_customer_df, per_product_df)


def _summed(parts_df: DataFrame, key: str, *extra: Column) -> DataFrame:
    """Per-id totals summed into groups of ``key`` (exact: longs and decimals)."""
    return parts_df.groupBy(key).agg(
        F.sum("orders").cast("long").alias("orders"),
        F.sum("units").cast("long").alias("units"),
        F.sum("revenue").cast(MONEY).alias("revenue"),
        *extra,
    )


def agg_daily_sales(lines_df: DataFrame) -> DataFrame:
    """Grain: one row per UTC date with at least one order.

    Distinct customers are counted exactly, with a bitmap of customer ids per date and
    block of 32,768 ids (Spark's ``bitmap_*`` functions): the aggregate holds a few groups
    per date instead of shuffling a (date, customer) pair for nearly every sale.
    """
    customer_id = F.col("customer_id").cast("long")
    per_block_df = _totals(
        lines_df.withColumn("_block", F.bitmap_bucket_number(customer_id)),
        ["date", "_block"],
        F.bitmap_construct_agg(F.bitmap_bit_position(customer_id)).alias("_customers"),
    )
    return (
        _summed(
            per_block_df,
            "date",
            F.sum(F.bitmap_count("_customers")).cast("long").alias("customers"),
        )
        .withColumn("avg_order_value", avg_order_value(F.col("revenue"), F.col("orders")))
        .select(*GOLD_COLUMNS["daily_sales"])
    )


def agg_sales_by_product(per_product_df: DataFrame) -> DataFrame:
    """Grain: one row per product with at least one order; name and category are current."""
    return per_product_df.select(*GOLD_COLUMNS["sales_by_product"])


def agg_sales_by_category(per_product_df: DataFrame) -> DataFrame:
    """Grain: one row per product category with at least one order.

    ``revenue_share`` is the category's revenue over the total revenue of all sales, as a
    double; the categories' shares sum to 1.
    """
    category_df = _summed(per_product_df, "category")
    # The total is taken from the category aggregate itself (one row), so both sides of
    # the cross join share one shuffle and the shares are consistent with the rows.
    total_df = category_df.agg(F.sum("revenue").alias("total_revenue"))
    return (
        category_df.crossJoin(F.broadcast(total_df))
        .withColumn("revenue_share", ratio(F.col("revenue"), F.col("total_revenue")))
        .select(*GOLD_COLUMNS["sales_by_category"])
    )


def agg_sales_by_country(per_customer_df: DataFrame) -> DataFrame:
    """Grain: one row per customer country with at least one order."""
    return _summed(per_customer_df, "country", F.count("customer_id").alias("customers")).select(
        *GOLD_COLUMNS["sales_by_country"]
    )


def agg_sales_by_segment(per_customer_df: DataFrame) -> DataFrame:
    """Grain: one row per customer segment with at least one order."""
    return (
        _summed(per_customer_df, "segment")
        .withColumn("avg_order_value", avg_order_value(F.col("revenue"), F.col("orders")))
        .select(*GOLD_COLUMNS["sales_by_segment"])
    )


def agg_sales_by_channel(channel_totals_df: DataFrame) -> DataFrame:
    """Grain: one row per sales channel with at least one order."""
    return channel_totals_df.select(*GOLD_COLUMNS["sales_by_channel"])


def agg_customer_value(per_customer_df: DataFrame) -> DataFrame:
    """Grain: one row per customer with at least one order.

    ``first_order_at`` and ``last_order_at`` are the earliest and latest ``sold_at``.
    """
    return per_customer_df.select(*GOLD_COLUMNS["customer_value"])


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
    "daily_sales": agg_daily_sales,
    "funnel_daily": agg_funnel_daily,
    "service_health_daily": agg_service_health_daily,
    "log_levels_daily": agg_log_levels_daily,
}


def updated_daily(
    table: str, previous_df: DataFrame, silver_df: DataFrame, dates: Iterable[Any]
) -> DataFrame:
    """A daily table with ``dates`` recomputed from silver and every other date kept.

    Each row of these tables depends only on the silver rows of its own date, so the kept
    rows are the ones a full recomputation would give (``gold_increment``). A previous
    table whose columns or types differ from the fresh ones is not reused: the whole table
    is recomputed.
    """
    chosen = list(dates)
    aggregate = DAILY_AGGREGATIONS[table]
    full_df = aggregate(silver_df)
    previous_df = previous_df.select(*GOLD_COLUMNS[table])
    if not same_columns(previous_df, full_df):
        return full_df
    if not chosen:
        return previous_df
    kept = previous_df.where(~F.col("date").isin(chosen))
    return kept.unionByName(aggregate(silver_df.where(F.col("date").isin(chosen))))


def _daily(
    sources: Mapping[str, DataFrame],
    previous: Mapping[str, DataFrame],
    increment: Increment | None,
) -> dict[str, DataFrame]:
    """The daily tables from ``sources`` (fact dataset → rows with a ``date``)."""
    tables = {}
    for dataset, names in DAILY_TABLES.items():
        for table in names:
            if increment is None:
                tables[table] = DAILY_AGGREGATIONS[table](sources[dataset])
            else:
                tables[table] = updated_daily(
                    table, previous[table], sources[dataset], increment.dates[dataset]
                )
    return tables


def coalesce_small(table: str, df: DataFrame) -> DataFrame:
    """Write small aggregates as one file; leave per-customer tables to adaptive execution."""
    return df if table in LARGE_TABLES else df.coalesce(1)


def _build(
    sales: SalesParts,
    silver: Mapping[str, DataFrame],
    runs: list[dict],
    spark: SparkSession,
    previous: Mapping[str, DataFrame],
    increment: Increment | None,
) -> dict[str, DataFrame]:
    sources = {"sales": sales.lines, "events": silver["events"], "logs": silver["logs"]}
    daily = _daily(sources, previous, increment)
    tables = {
        "daily_sales": daily["daily_sales"],
        "sales_by_product": agg_sales_by_product(sales.per_product),
        "sales_by_category": agg_sales_by_category(sales.per_product),
        "sales_by_country": agg_sales_by_country(sales.per_customer),
        "sales_by_segment": agg_sales_by_segment(sales.per_customer),
        "sales_by_channel": agg_sales_by_channel(sales.totals["channel_totals"]),
        "customer_value": agg_customer_value(sales.per_customer),
        "funnel_daily": daily["funnel_daily"],
        "service_health_daily": daily["service_health_daily"],
        "log_levels_daily": daily["log_levels_daily"],
        "data_quality": quality_df(spark, runs),
        "pipeline_runs": pipeline_runs_df(spark, runs),
    }
    return {name: coalesce_small(name, df) for name, df in tables.items()}


def _require_datasets(silver: Mapping[str, DataFrame]) -> None:
    missing = sorted({"sales", "events", "logs", "customers", "products"} - set(silver))
    if missing:
        raise ValueError(f"Gold needs the silver datasets {', '.join(missing)}, not given.")


def build_gold(
    silver: Mapping[str, DataFrame], runs: list[dict], spark: SparkSession
) -> dict[str, DataFrame]:
    """Every gold table (name → DataFrame, columns in contract order) from silver.

    ``silver`` maps ``sales, events, logs, customers, products`` to DataFrames with the
    silver schemas; ``runs`` are run records (the JSON shape of docs/data-contracts.md).
    Pure and lazy: nothing is read or cached until the caller writes the tables. To
    reuse the sales lines and aggregates across the seven sales tables, use ``cached_gold``.
    """
    _require_datasets(silver)
    sales = sales_parts(sales_lines(silver["sales"]), silver["customers"], silver["products"])
    return _build(sales, silver, runs, spark, {}, None)


@dataclass(frozen=True)
class Gold:
    """What a run publishes: the tables, and the parts the next run can add to
    (``SALES_TOTALS``, see ``gold_increment``); ``totals_from``: the version whose stored
    totals the new sales were added to, None when they were computed from every sale."""

    tables: dict[str, DataFrame]
    parts: dict[str, DataFrame]
    totals_from: str | None = None


def _stored_revenue(channel_totals_df: DataFrame) -> Decimal:
    total = channel_totals_df.agg(F.sum("revenue").alias("total")).first()["total"]
    return total if total is not None else Decimal(0)


@contextlib.contextmanager
def cached_gold(
    silver: Mapping[str, DataFrame],
    runs: list[dict],
    spark: SparkSession,
    increment: Increment | None = None,
) -> Iterator[Gold]:
    """``build_gold`` with the sales parts persisted for the duration of the block.

    With an ``increment``, the daily tables (``daily_sales`` and those of events and logs)
    recompute only its dates and take the other dates from its previous version
    (``updated_daily``), and the sales totals are the previous version's plus those of
    the sales of the new silver runs (``merged_totals``); stored totals with other
    columns or types are not reused: the totals are computed from every sale.

    The money check (``revenue_check``) runs first, on the persisted sales lines the
    totals are computed from (every sale, or the new ones on top of the revenue the
    previous totals hold): its one pass materializes them (memory, spilling to disk).
    The totals and the per-customer and per-product aggregates are computed from them
    once and persisted too, and the sales tables but ``daily_sales`` read from these
    caches; ``daily_sales`` reads the cached lines in a full run, and silver pruned to its
    recomputed dates in an incremental one. A revenue beyond ``decimal(18,2)`` raises
    ``UserError`` before any table is computed. ``Gold.totals_from`` names the version
    whose totals were added to (None: computed from every sale). The caches are released
    when the block ends.
    """
    _require_datasets(silver)
    lines_df = sales_lines(silver["sales"])
    stored = (
        {}
        if increment is None
        else {name: spark.read.parquet(increment.previous_part(name)) for name in SALES_TOTALS}
    )
    reuse = increment is not None and stored_totals_match(stored, lines_df)
    if reuse:
        new_runs = list(increment.new_runs["sales"])
        counted_df = sales_lines(silver["sales"].where(F.col("_run_id").isin(new_runs)))
    else:
        counted_df = lines_df
    cached = [counted_df.persist(StorageLevel.MEMORY_AND_DISK)]
    try:
        earlier = _stored_revenue(stored["channel_totals"]) if reuse else Decimal(0)
        require_revenue_fits(cached[0], named_from=silver["sales"], earlier=earlier)
        totals = {
            name: merged_totals(stored[name], df, SALES_TOTALS[name]) if reuse else df
            for name, df in sales_totals(cached[0]).items()
        }
        totals = {name: df.persist(StorageLevel.MEMORY_AND_DISK) for name, df in totals.items()}
        cached += totals.values()
        parts = sales_parts(
            lines_df if reuse else cached[0], silver["customers"], silver["products"], totals
        )
        sales = replace(
            parts,
            per_customer=parts.per_customer.persist(StorageLevel.MEMORY_AND_DISK),
            per_product=parts.per_product.persist(StorageLevel.MEMORY_AND_DISK),
        )
        cached += [sales.per_customer, sales.per_product]
        previous = (
            {}
            if increment is None
            else {
                table: spark.read.parquet(increment.previous_table(table))
                for names in DAILY_TABLES.values()
                for table in names
            }
        )
        totals_from = increment.previous.name if reuse and increment is not None else None
        yield Gold(_build(sales, silver, runs, spark, previous, increment), totals, totals_from)
    finally:
        for df in cached:
            df.unpersist()
