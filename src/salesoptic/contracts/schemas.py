"""Silver and quarantine schemas: the typed form of each dataset, shared by every layer.

Silver column names follow the project's patterns: ``<verb>_at`` for timestamps (UTC),
``date`` for the UTC date of that timestamp (the partition of fact datasets), money as
``decimal(18,2)``. Every silver and quarantine row also carries the lineage columns
``_source``, ``_ingested_at`` and ``_run_id`` (the run that judged it).
"""

from __future__ import annotations

from pyspark.sql import types as T

MONEY = T.DecimalType(18, 2)


def _schema(*fields: tuple[str, T.DataType]) -> T.StructType:
    return T.StructType([T.StructField(name, dtype, True) for name, dtype in fields])


LINEAGE = (
    ("_source", T.StringType()),
    ("_ingested_at", T.TimestampType()),
    ("_run_id", T.StringType()),
)

# Grain and key of each dataset; facts are partitioned by `date`.
KEYS: dict[str, tuple[str, ...]] = {
    "sales": ("transaction_id",),
    "events": ("event_id",),
    "logs": (),
    "customers": ("customer_id",),
    "products": ("product_id",),
}
GRAIN: dict[str, str] = {
    "sales": "one row per sale line; a sale row is one order",
    "events": "one row per clickstream event",
    "logs": "one row per application log line",
    "customers": "one row per customer, its latest valid version",
    "products": "one row per product, its latest valid version",
}

SILVER_SCHEMAS: dict[str, T.StructType] = {
    "sales": _schema(
        ("transaction_id", T.StringType()),
        ("sold_at", T.TimestampType()),
        ("customer_id", T.IntegerType()),
        ("product_id", T.IntegerType()),
        ("quantity", T.IntegerType()),
        ("unit_price", MONEY),
        ("channel", T.StringType()),
        ("date", T.DateType()),
        *LINEAGE,
    ),
    "events": _schema(
        ("event_id", T.StringType()),
        ("occurred_at", T.TimestampType()),
        ("user_id", T.StringType()),
        ("session_id", T.StringType()),
        ("event_type", T.StringType()),
        ("product_id", T.IntegerType()),
        ("device", T.StringType()),
        ("date", T.DateType()),
        *LINEAGE,
    ),
    "logs": _schema(
        ("logged_at", T.TimestampType()),
        ("level", T.StringType()),
        ("service", T.StringType()),
        ("status", T.IntegerType()),
        ("latency_ms", T.IntegerType()),
        ("msg", T.StringType()),
        ("date", T.DateType()),
        *LINEAGE,
    ),
    "customers": _schema(
        ("customer_id", T.IntegerType()),
        ("name", T.StringType()),
        ("email", T.StringType()),
        ("country", T.StringType()),
        ("segment", T.StringType()),
        ("signup_date", T.DateType()),
        ("updated_at", T.TimestampType()),
        *LINEAGE,
    ),
    "products": _schema(
        ("product_id", T.IntegerType()),
        ("name", T.StringType()),
        ("category", T.StringType()),
        ("list_price", MONEY),
        ("updated_at", T.TimestampType()),
        *LINEAGE,
    ),
}

REASONS_COLUMN = "reasons"
