"""An independent DuckDB implementation of SalesOptic: landing zone -> bronze -> silver -> gold.

It re-implements DESIGN sections 3, 5 and 6 (and the decisions written down in
docs/data-contracts.md, docs/gold.md and docs/generator.md) with DuckDB's own readers and
SQL; it imports nothing from ``salesoptic``. Two uses:

- a differential test: its ten KPI tables must equal SalesOptic's ``gold/current`` on the
  same landing zone and PostgreSQL tables (``compare_gold``);
- the speed reference of ``make bench``: the same work done by a single-machine engine.

Usage::

    python benchmarks/duckdb_reference.py --data-dir D --pg-url URL --out DIR

reads ``D/source/{sales,events,logs}`` and the PostgreSQL tables ``customers`` and
``products`` (psycopg ``COPY ... TO STDOUT``, timed as part of the read stage), writes one
Parquet file per KPI table to ``DIR`` and prints the seconds of each stage.

Stages (each materialised as in-memory DuckDB tables, so each can be timed):

- ``read`` (bronze-like): every record split into its fields as text, or flagged
  malformed; blank lines dropped;
- ``judge`` (silver-like): trimmed and typed, every rule of the contract, references,
  deduplication, latest valid dimension rows;
- ``gold``: the ten KPI tables.

Known differences from a Spark run, none of which the generator produces: the raw
tie-break text of two different clean records with the same key in the same file
(``to_json`` of the fields, nulls left out, as Spark writes it, but DuckDB's escaping);
a key kept in an earlier run from a file that sorts after a newer file (one run here
sees all files at once); regex ``.``/``\\s`` differences between Java and RE2 on
Unicode line separators and vertical tab; a UTF-8 BOM at the start of a JSON or log file
(DuckDB's line reader strips it); CSV lines DuckDB cannot decode (invalid UTF-8 or stray
quotes) count as malformed here.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

# -- the contract, restated (DESIGN sections 3, 5 and 6) --------------------------------

SALES_FIELDS = (
    "transaction_id",
    "timestamp",
    "customer_id",
    "product_id",
    "quantity",
    "unit_price",
    "channel",
)
EVENT_FIELDS = (
    "event_id",
    "timestamp",
    "user_id",
    "session_id",
    "event_type",
    "product_id",
    "device",
)
LOG_LINE = r'^(\S+) (\S+) ([A-Za-z][A-Za-z0-9]*) status=(\d+) latency_ms=(\d+) msg="(.*)"$'
CUSTOMER_FIELDS = (
    "customer_id",
    "name",
    "email",
    "country",
    "segment",
    "signup_date",
    "updated_at",
)
PRODUCT_FIELDS = ("product_id", "name", "category", "list_price", "updated_at")

REASONS = {
    "sales": (
        "MALFORMED_ROW",
        "MISSING_TRANSACTION_ID",
        "INVALID_TIMESTAMP",
        "FUTURE_TIMESTAMP",
        "MISSING_CUSTOMER_ID",
        "MISSING_PRODUCT_ID",
        "INVALID_QUANTITY",
        "INVALID_PRICE",
        "INVALID_CHANNEL",
        "UNKNOWN_CUSTOMER",
        "UNKNOWN_PRODUCT",
        "DUPLICATE",
    ),
    "events": (
        "MALFORMED_JSON",
        "MISSING_EVENT_ID",
        "INVALID_TIMESTAMP",
        "FUTURE_TIMESTAMP",
        "MISSING_USER_ID",
        "UNKNOWN_EVENT_TYPE",
        "INVALID_DEVICE",
        "DUPLICATE",
    ),
    "logs": ("MALFORMED_LINE", "INVALID_TIMESTAMP", "UNKNOWN_LEVEL"),
    "customers": ("MISSING_NAME", "INVALID_EMAIL", "MISSING_COUNTRY", "INVALID_SEGMENT"),
    "products": ("MISSING_NAME", "MISSING_CATEGORY", "INVALID_PRICE"),
}

GOLD_TABLES: dict[str, tuple[str, ...]] = {
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
}

# Seconds per stage of the last reference run (read, judge, gold, total).
timings: dict[str, float] = {}

# A line that DuckDB's lax JSON parser (yyjson) accepts but strict JSON does not may hold
# one of these: NaN/Infinity, or a trailing comma. Such lines are rare; Python's strict
# parser decides for them.
_LAX_JSON_HINT = r"NaN|Inf|,\s*[\]}]"
# A byte sequence never found in text lines: the "delimiter" that makes DuckDB's CSV
# reader return whole lines (fast, parallel). A line holding it falls back to read_text.
_NO_DELIMITER = "\x00"

_MACROS = r"""
CREATE OR REPLACE MACRO clean(x) AS nullif(trim(x), '');
CREATE OR REPLACE MACRO as_int(x) AS
    CASE WHEN regexp_full_match(clean(x), '[+-]?[0-9]+') THEN try_cast(clean(x) AS INTEGER) END;
CREATE OR REPLACE MACRO as_money(x) AS
    CASE WHEN regexp_full_match(clean(x), '[+-]?[0-9]+(\.[0-9]{1,2})?')
         THEN try_cast(clean(x) AS DECIMAL(18, 2)) END;
CREATE OR REPLACE MACRO as_ts(x) AS
    CASE WHEN regexp_full_match(clean(x), '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}')
         THEN try_strptime(clean(x), '%Y-%m-%dT%H:%M:%S') END;
CREATE OR REPLACE MACRO as_log_ts(x) AS
    CASE WHEN regexp_full_match(clean(x),
                '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z')
         THEN try_strptime(clean(x), '%Y-%m-%dT%H:%M:%S.%gZ') END;
CREATE OR REPLACE MACRO not_one_of(x, allowed) AS
    NOT coalesce(list_contains(allowed, clean(x)), false);
CREATE OR REPLACE MACRO json_field(name, value) AS
    CASE WHEN value IS NOT NULL THEN '"' || name || '":' || to_json(value) END;
"""


@dataclass
class ReferenceResult:
    """What one reference run computed."""

    gold: dict[str, pa.Table]
    # dataset -> rows_in, rows_valid, rows_quarantined, reasons {code: rows}
    quality: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


# -- reading (bronze-like) ---------------------------------------------------------------


def _files(folder: Path, suffix: str) -> list[str]:
    """The landing files of a dataset; hidden names (``.x``, ``_x``) are not data."""
    if not folder.is_dir():
        return []
    return sorted(
        str(p.absolute())
        for p in folder.iterdir()
        if p.is_file() and p.name.endswith(suffix) and not p.name.startswith((".", "_"))
    )


def _sql_list(values: Iterable[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _csv_header(path: str) -> list[str] | None:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        try:
            return [name.strip() for name in next(csv.reader(handle))]
        except StopIteration:
            return None


def _read_sales(con: duckdb.DuckDBPyConnection, files: list[str]) -> int:
    """``bronze_sales``: the contract fields as text, mapped by each file's own header.

    Lines are split on commas in SQL (DuckDB's own CSV parser ignores a trailing
    delimiter, which would hide a line with one empty field too many). A file holding a
    double quote anywhere is parsed by Python's RFC 4180 reader instead (quoted commas
    and line breaks). A line whose field count differs from its file's header is
    MALFORMED_ROW: counted, not loaded. Returns that count.
    """
    headers = []
    for path in files:
        header = _csv_header(path)
        if header:
            position: dict[str, int] = {}
            for i, name in enumerate(header):
                position.setdefault(name, i)
            headers.append(
                {"_source": path, "n_fields": len(header)}
                | {f"p_{name}": position.get(name) for name in SALES_FIELDS}
            )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sales_headers (_source VARCHAR, n_fields INTEGER, "
        + ", ".join(f"p_{name} INTEGER" for name in SALES_FIELDS)
        + ")"
    )
    if headers:
        con.register("_headers", pa.Table.from_pylist(headers))
        con.execute("INSERT INTO sales_headers BY NAME SELECT * FROM _headers")
        con.unregister("_headers")
    with_header = [h["_source"] for h in headers]
    fields = ", ".join(f"nullif(f[h.p_{name} + 1], '') AS {name}" for name in SALES_FIELDS)
    if with_header:
        lines = (
            f"SELECT line, filename AS _source FROM read_csv({_sql_list(with_header)}, "
            "header = true, auto_detect = false, columns = {'line': 'VARCHAR'}, "
            "delim = '\\0', quote = '', escape = '', filename = true) "
            "WHERE line IS NOT NULL AND line <> ''"
        )
        try:
            con.execute(
                f"""
                CREATE OR REPLACE TABLE split_sales AS
                SELECT string_split(line, ',') AS f, contains(line, '"') AS quoted, _source
                FROM ({lines})
                """
            )
        except duckdb.Error:  # a NUL byte or a huge line: every file the slow way
            con.execute(
                "CREATE OR REPLACE TABLE split_sales AS SELECT NULL::VARCHAR[] AS f, "
                "true AS quoted, _source FROM sales_headers"
            )
    else:
        con.execute(
            "CREATE OR REPLACE TABLE split_sales AS SELECT NULL::VARCHAR[] AS f, "
            "false AS quoted, NULL::VARCHAR AS _source WHERE false"
        )
    quoted = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT _source FROM split_sales WHERE quoted ORDER BY 1"
        ).fetchall()
    ]
    if quoted:
        con.execute(
            f"DELETE FROM split_sales WHERE _source IN (SELECT unnest({_sql_list(quoted)}))"
        )
        parsed = []
        for path in quoted:
            with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
                reader = csv.reader(handle)
                next(reader, None)
                parsed.extend({"f": row, "quoted": True, "_source": path} for row in reader if row)
        if parsed:
            con.register("_parsed", pa.Table.from_pylist(parsed))
            con.execute("INSERT INTO split_sales BY NAME SELECT * FROM _parsed")
            con.unregister("_parsed")
    con.execute(
        f"""
        CREATE OR REPLACE TABLE bronze_sales AS
        SELECT {fields}, s._source
        FROM split_sales s JOIN sales_headers h USING (_source)
        WHERE len(s.f) = h.n_fields
        """
    )
    malformed = con.execute(
        "SELECT count(*) FROM split_sales s JOIN sales_headers h USING (_source) "
        "WHERE len(s.f) <> h.n_fields"
    ).fetchone()[0]
    con.execute("DROP TABLE split_sales")
    return malformed


def _lines_relation(con: duckdb.DuckDBPyConnection, files: list[str]) -> str:
    """A SQL relation ``(line, _source)`` of the non-blank lines of text files."""
    if not files:
        return "(SELECT NULL::VARCHAR AS line, NULL::VARCHAR AS _source WHERE false)"
    fast = (
        f"(SELECT line, filename AS _source FROM read_csv({_sql_list(files)}, header = false, "
        "auto_detect = false, columns = {'line': 'VARCHAR'}, delim = '\\0', quote = '', "
        "escape = '', filename = true) WHERE trim(line) <> '')"
    )
    try:
        con.execute(f"SELECT count(*) FROM {fast} WHERE line LIKE '%' || chr(0) || '%'")
        return fast
    except duckdb.Error:
        # A line with a NUL byte, or too long for the CSV reader: split whole files.
        return (
            f"(SELECT rtrim(line, chr(13)) AS line, _source FROM (SELECT "
            f"unnest(string_split(content, chr(10))) AS line, filename AS _source "
            f"FROM read_text({_sql_list(files)})) WHERE trim(rtrim(line, chr(13))) <> '')"
        )


def _strict_json_object(line: str) -> bool:
    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        return isinstance(json.loads(line, parse_constant=refuse), dict)
    except ValueError:
        return False


def _read_events(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    """``bronze_events``: one row per non-blank line; fields as text unless malformed."""
    paths = ", ".join(f"'$.{name}'" for name in EVENT_FIELDS)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE bronze_events AS
        WITH lines AS (
            SELECT line, _source,
                   CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' ELSE false END
                       AS is_object
            FROM {_lines_relation(con, files)}
        ), parsed AS (
            SELECT _source, is_object,
                   CASE WHEN is_object THEN json_extract_string(line, [{paths}]) END AS f,
                   CASE WHEN is_object AND regexp_matches(line, '{_LAX_JSON_HINT}')
                        THEN line END AS _suspect
            FROM lines
        )
        SELECT {", ".join(f"f[{i + 1}] AS {name}" for i, name in enumerate(EVENT_FIELDS))},
               NOT is_object AS _malformed, _suspect, _source
        FROM parsed
        """
    )
    suspects = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT _suspect FROM bronze_events WHERE _suspect IS NOT NULL"
        ).fetchall()
    ]
    lax = [line for line in suspects if not _strict_json_object(line)]
    if lax:
        con.execute("CREATE OR REPLACE TEMP TABLE lax_lines (line VARCHAR)")
        con.executemany("INSERT INTO lax_lines VALUES (?)", [(line,) for line in lax])
        null_fields = ", ".join(f"{name} = NULL" for name in EVENT_FIELDS)
        con.execute(
            f"UPDATE bronze_events SET _malformed = true, {null_fields} "
            "WHERE _suspect IN (SELECT line FROM lax_lines)"
        )


def _read_logs(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    """``bronze_logs``: the six fields of the log format as text, or a malformed line."""
    groups = "['timestamp', 'level', 'service', 'status', 'latency_ms', 'msg']"
    con.execute(
        f"""
        CREATE OR REPLACE TABLE bronze_logs AS
        WITH parsed AS (
            SELECT regexp_extract(line, '{LOG_LINE}', {groups}) AS f, _source
            FROM {_lines_relation(con, files)}
        )
        SELECT CASE WHEN f.timestamp <> '' THEN f.timestamp END AS timestamp,
               CASE WHEN f.timestamp <> '' THEN f.level END AS level,
               CASE WHEN f.timestamp <> '' THEN f.service END AS service,
               CASE WHEN f.timestamp <> '' THEN f.status END AS status,
               CASE WHEN f.timestamp <> '' THEN f.latency_ms END AS latency_ms,
               CASE WHEN f.timestamp <> '' THEN f.msg END AS msg,
               f.timestamp = '' AS _malformed, _source
        FROM parsed
        """
    )


def _pg_table(pg_url: str, table: str, columns: tuple[str, ...]) -> pa.Table:
    """A PostgreSQL table, every column as text (NULL stays null), through COPY."""
    import psycopg
    from pyarrow import csv as pacsv

    select = ", ".join(f"{name}::text" for name in columns)
    buffer = io.BytesIO()
    copy_sql = f"COPY (SELECT {select} FROM {table}) TO STDOUT WITH (FORMAT csv)"
    with psycopg.connect(pg_url) as conn, conn.cursor() as cur, cur.copy(copy_sql) as cp:
        for chunk in cp:
            buffer.write(chunk)
    buffer.seek(0)
    return pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=list(columns)),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in columns},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


# -- judging (silver-like) ---------------------------------------------------------------


def _judge_dimensions(con: duckdb.DuckDBPyConnection) -> None:
    """Valid rows only; the latest by ``updated_at`` per key."""
    con.execute(
        r"""
        CREATE OR REPLACE TABLE judged_customers AS
        SELECT as_int(customer_id) AS customer_id, clean(name) AS name, clean(country) AS country,
               clean(segment) AS segment,
               try_cast(clean(updated_at) AS TIMESTAMPTZ) AS updated_at,
               clean(name) IS NULL AS r_missing_name,
               NOT coalesce(regexp_full_match(clean(email), '[^@\s]+@[^@\s]*\.[^@\s]*'), false)
                   AS r_invalid_email,
               clean(country) IS NULL AS r_missing_country,
               not_one_of(segment, ['Standard', 'Premium', 'Business']) AS r_invalid_segment
        FROM bronze_customers;
        CREATE OR REPLACE TABLE judged_products AS
        SELECT as_int(product_id) AS product_id, clean(name) AS name,
               clean(category) AS category,
               try_cast(clean(updated_at) AS TIMESTAMPTZ) AS updated_at,
               clean(name) IS NULL AS r_missing_name,
               clean(category) IS NULL AS r_missing_category,
               coalesce(try_cast(clean(list_price) AS DECIMAL(18, 2)) <= 0, true)
                   AS r_invalid_price
        FROM bronze_products;
        CREATE OR REPLACE TABLE silver_customers AS
        SELECT customer_id, name, country, segment FROM judged_customers
        WHERE NOT (r_missing_name OR r_invalid_email OR r_missing_country OR r_invalid_segment)
        QUALIFY row_number() OVER (PARTITION BY customer_id
                                   ORDER BY updated_at DESC NULLS LAST) = 1;
        CREATE OR REPLACE TABLE silver_products AS
        SELECT product_id, name, category FROM judged_products
        WHERE NOT (r_missing_name OR r_missing_category OR r_invalid_price)
        QUALIFY row_number() OVER (PARTITION BY product_id
                                   ORDER BY updated_at DESC NULLS LAST) = 1;
        """
    )


def _tie_text(fields: tuple[str, ...]) -> str:
    """Spark's ``to_json(struct(raw fields))``: the fields as a JSON object, nulls left out."""
    return (
        "'{' || concat_ws(',', "
        + ", ".join(f"json_field('{name}', {name})" for name in fields)
        + ") || '}'"
    )


def _deduplicate(
    con: duckdb.DuckDBPyConnection,
    target: str,
    judged: str,
    bronze: str,
    key: str,
    fields: tuple[str, ...],
    clean: str,
    columns: str,
) -> None:
    """One row per key among the clean rows: file name first, then path, then raw text.

    Only keys seen more than once are ranked, and only their raw text is built.
    """
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {target} AS
        WITH clean AS (SELECT * FROM {judged} WHERE {clean}),
        repeated AS (SELECT {key} FROM clean GROUP BY {key} HAVING count(*) > 1),
        candidates AS (SELECT * FROM clean SEMI JOIN repeated USING ({key})),
        ties AS (SELECT rowid AS _rid, {_tie_text(fields)} AS _tie FROM {bronze}
                 WHERE rowid IN (SELECT _rid FROM candidates)),
        kept AS (
            SELECT c.* FROM candidates c JOIN ties USING (_rid)
            QUALIFY row_number() OVER (
                PARTITION BY {key} ORDER BY parse_filename(_source), _source, _tie) = 1)
        SELECT {columns} FROM clean ANTI JOIN repeated USING ({key})
        UNION ALL
        SELECT {columns} FROM kept
        """
    )


def _judge_sales(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    con.execute(
        """
        CREATE OR REPLACE TABLE judged_sales AS
        WITH typed AS (
            SELECT clean(transaction_id) AS transaction_id, as_ts(timestamp) AS sold_at,
                   as_int(customer_id) AS customer_id, as_int(product_id) AS product_id,
                   as_int(quantity) AS quantity, as_money(unit_price) AS unit_price,
                   clean(channel) AS channel,
                   clean(customer_id) IS NULL AS r_missing_customer_id,
                   clean(product_id) IS NULL AS r_missing_product_id,
                   not_one_of(channel, ['web', 'store', 'mobile']) AS r_invalid_channel,
                   rowid AS _rid, _source
            FROM bronze_sales
        )
        SELECT t.*,
               transaction_id IS NULL AS r_missing_transaction_id,
               sold_at IS NULL AS r_invalid_timestamp,
               coalesce(sold_at > $now, false) AS r_future_timestamp,
               coalesce(quantity <= 0, true) AS r_invalid_quantity,
               coalesce(unit_price <= 0, true) AS r_invalid_price,
               NOT r_missing_customer_id AND c.customer_id IS NULL AS r_unknown_customer,
               NOT r_missing_product_id AND p.product_id IS NULL AS r_unknown_product
        FROM typed t
        LEFT JOIN (SELECT customer_id FROM silver_customers) c USING (customer_id)
        LEFT JOIN (SELECT product_id FROM silver_products) p USING (product_id)
        """,
        {"now": now},
    )
    _deduplicate(
        con,
        "silver_sales",
        "judged_sales",
        "bronze_sales",
        "transaction_id",
        SALES_FIELDS,
        """NOT (r_missing_transaction_id OR r_invalid_timestamp OR r_future_timestamp
                OR r_missing_customer_id OR r_missing_product_id OR r_invalid_quantity
                OR r_invalid_price OR r_invalid_channel OR r_unknown_customer
                OR r_unknown_product)""",
        "transaction_id, sold_at, customer_id, product_id, quantity, unit_price, channel, "
        "sold_at::DATE AS date",
    )


def _judge_events(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    con.execute(
        """
        CREATE OR REPLACE TABLE judged_events AS
        SELECT clean(event_id) AS event_id, as_ts(timestamp) AS occurred_at,
               clean(session_id) AS session_id, clean(event_type) AS event_type,
               _malformed,
               NOT _malformed AND clean(event_id) IS NULL AS r_missing_event_id,
               NOT _malformed AND as_ts(timestamp) IS NULL AS r_invalid_timestamp,
               NOT _malformed AND coalesce(as_ts(timestamp) > $now, false)
                   AS r_future_timestamp,
               NOT _malformed AND clean(user_id) IS NULL AS r_missing_user_id,
               NOT _malformed AND not_one_of(event_type,
                   ['view', 'click', 'add_to_cart', 'remove_from_cart', 'purchase'])
                   AS r_unknown_event_type,
               NOT _malformed AND not_one_of(device, ['desktop', 'mobile', 'tablet'])
                   AS r_invalid_device,
               rowid AS _rid, _source
        FROM bronze_events
        """,
        {"now": now},
    )
    _deduplicate(
        con,
        "silver_events",
        "judged_events",
        "bronze_events",
        "event_id",
        EVENT_FIELDS,
        """NOT (_malformed OR r_missing_event_id OR r_invalid_timestamp OR r_future_timestamp
                OR r_missing_user_id OR r_unknown_event_type OR r_invalid_device)""",
        "event_id, occurred_at, session_id, event_type, occurred_at::DATE AS date",
    )


def _judge_logs(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE OR REPLACE TABLE judged_logs AS
        WITH typed AS (
            SELECT as_log_ts(timestamp) AS logged_at, clean(level) AS level,
                   clean(service) AS service, as_int(status) AS status,
                   as_int(latency_ms) AS latency_ms, _malformed
            FROM bronze_logs
        )
        SELECT logged_at, level, service, status, latency_ms,
               _malformed OR status IS NULL OR latency_ms IS NULL AS malformed
        FROM typed
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE judged_logs AS
        SELECT * EXCLUDE (malformed), malformed AS _malformed,
               NOT malformed AND logged_at IS NULL AS r_invalid_timestamp,
               NOT malformed AND not_one_of(level, ['DEBUG', 'INFO', 'WARN', 'ERROR'])
                   AS r_unknown_level
        FROM judged_logs;
        CREATE OR REPLACE TABLE silver_logs AS
        SELECT logged_at, level, service, status, latency_ms, logged_at::DATE AS date
        FROM judged_logs
        WHERE NOT (_malformed OR r_invalid_timestamp OR r_unknown_level)
        """
    )


def _quality(con: duckdb.DuckDBPyConnection, malformed_sales: int) -> dict[str, dict[str, Any]]:
    """Per dataset: rows in, valid, quarantined and rows per reason code (non-zero only)."""

    def counts(table: str, flags: dict[str, str]) -> dict[str, int]:
        select = ", ".join(f"count_if({expr})" for expr in flags.values())
        values = con.execute(f"SELECT count(*), {select} FROM {table}").fetchone()
        return {"_rows": values[0], **dict(zip(flags, values[1:], strict=True))}

    def flags_of(table: str, codes: tuple[str, ...]) -> dict[str, str]:
        names = {c[0] for c in con.execute(f"DESCRIBE {table}").fetchall()}
        out = {}
        for code in codes:
            column = "r_" + code.lower()
            if column in names:
                out[code] = column
        return out

    result: dict[str, dict[str, Any]] = {}
    sources = {
        "customers": ("judged_customers", "silver_customers"),
        "products": ("judged_products", "silver_products"),
        "sales": ("judged_sales", "silver_sales"),
        "events": ("judged_events", "silver_events"),
        "logs": ("judged_logs", "silver_logs"),
    }
    for dataset, (judged, silver) in sources.items():
        codes = REASONS[dataset]
        flags = flags_of(judged, codes)
        clean_flags = {**flags, "_": "_malformed"} if dataset in ("events", "logs") else flags
        found = counts(judged, flags)
        rows_in = found.pop("_rows")
        if dataset != "sales" and codes[0].startswith("MALFORMED"):
            found[codes[0]] = con.execute(f"SELECT count_if(_malformed) FROM {judged}").fetchone()[
                0
            ]
        if dataset == "sales":
            found["MALFORMED_ROW"] = malformed_sales
            rows_in += malformed_sales
        valid = con.execute(f"SELECT count(*) FROM {silver}").fetchone()[0]
        if "DUPLICATE" in codes:
            clean = con.execute(f"SELECT count(*) FROM {judged} WHERE {_all_clean(clean_flags)}")
            found["DUPLICATE"] = clean.fetchone()[0] - valid
        if dataset in ("customers", "products"):
            valid = con.execute(
                f"SELECT count(*) FROM {judged} WHERE {_all_clean(flags)}"
            ).fetchone()[0]
        result[dataset] = {
            "rows_in": rows_in,
            "rows_valid": valid,
            "rows_quarantined": rows_in - valid,
            "reasons": {code: found[code] for code in codes if found.get(code)},
        }
    return result


def _all_clean(flags: dict[str, str]) -> str:
    clauses = list(flags.values())
    return "NOT (" + " OR ".join(clauses) + ")" if clauses else "true"


# -- gold --------------------------------------------------------------------------------

_MONEY = "DECIMAL(18, 2)"


def _aov(revenue: str, orders: str) -> str:
    """revenue / orders rounded half-up to cents, exactly (integer cents, no floats)."""
    cents = f"(({revenue}) * 100)::HUGEINT"
    return (
        f"CASE WHEN ({orders}) > 0 THEN ((CASE WHEN {cents} >= 0 "
        f"THEN (2 * {cents} + ({orders})) // (2 * ({orders})) "
        f"ELSE -((-2 * {cents} + ({orders})) // (2 * ({orders}))) END)::DECIMAL(38, 0) "
        f"* 0.01)::{_MONEY} END"
    )


def _ratio(numerator: str, denominator: str) -> str:
    return (
        f"CASE WHEN ({denominator}) > 0 THEN ({numerator})::DOUBLE / ({denominator})::DOUBLE "
        "ELSE 0.0 END"
    )


_REVENUE = f"sum(quantity * unit_price)::{_MONEY}"

GOLD_SQL: dict[str, str] = {
    "daily_sales": f"""
        SELECT date, count(*)::BIGINT AS orders, sum(quantity)::BIGINT AS units,
               {_REVENUE} AS revenue, count(DISTINCT customer_id)::BIGINT AS customers,
               {_aov("revenue", "orders")} AS avg_order_value
        FROM enriched_sales GROUP BY date""",
    "sales_by_product": f"""
        SELECT product_id, product_name, category, count(*)::BIGINT AS orders,
               sum(quantity)::BIGINT AS units, {_REVENUE} AS revenue
        FROM enriched_sales GROUP BY product_id, product_name, category""",
    "sales_by_category": f"""
        WITH c AS (
            SELECT category, count(*)::BIGINT AS orders, sum(quantity)::BIGINT AS units,
                   {_REVENUE} AS revenue
            FROM enriched_sales GROUP BY category)
        SELECT category, orders, units, revenue,
               {_ratio("revenue", "(SELECT sum(revenue) FROM c)")} AS revenue_share
        FROM c""",
    "sales_by_country": f"""
        SELECT country, count(*)::BIGINT AS orders, sum(quantity)::BIGINT AS units,
               {_REVENUE} AS revenue, count(DISTINCT customer_id)::BIGINT AS customers
        FROM enriched_sales GROUP BY country""",
    "sales_by_segment": f"""
        SELECT segment, count(*)::BIGINT AS orders, {_REVENUE} AS revenue,
               {_aov("revenue", "orders")} AS avg_order_value
        FROM enriched_sales GROUP BY segment""",
    "sales_by_channel": f"""
        SELECT channel, count(*)::BIGINT AS orders, sum(quantity)::BIGINT AS units,
               {_REVENUE} AS revenue
        FROM enriched_sales GROUP BY channel""",
    "customer_value": f"""
        SELECT customer_id, customer_name AS name, country, segment,
               count(*)::BIGINT AS orders, {_REVENUE} AS revenue,
               min(sold_at) AS first_order_at, max(sold_at) AS last_order_at
        FROM enriched_sales GROUP BY customer_id, customer_name, country, segment""",
    "funnel_daily": f"""
        WITH s AS (
            SELECT date, session_id,
                   bool_or(event_type = 'view')::INTEGER AS has_view,
                   bool_or(event_type = 'add_to_cart')::INTEGER AS has_cart,
                   bool_or(event_type = 'purchase')::INTEGER AS has_purchase
            FROM silver_events WHERE session_id IS NOT NULL GROUP BY date, session_id),
        d AS (
            SELECT date, count(*)::BIGINT AS sessions, sum(has_view)::BIGINT AS sessions_view,
                   sum(has_cart)::BIGINT AS sessions_cart,
                   sum(has_purchase)::BIGINT AS sessions_purchase
            FROM s GROUP BY date)
        SELECT *, {_ratio("sessions_cart", "sessions_view")} AS view_to_cart_rate,
               {_ratio("sessions_purchase", "sessions_cart")} AS cart_to_purchase_rate,
               {_ratio("sessions_purchase", "sessions_view")} AS conversion_rate
        FROM d""",
    "service_health_daily": f"""
        SELECT date, service, count(*)::BIGINT AS lines,
               count_if(level = 'ERROR' OR status >= 500)::BIGINT AS errors,
               {_ratio("errors", "lines")} AS error_rate,
               quantile_cont(latency_ms, 0.5)::DOUBLE AS p50_latency_ms,
               quantile_cont(latency_ms, 0.95)::DOUBLE AS p95_latency_ms
        FROM silver_logs GROUP BY date, service""",
    "log_levels_daily": """
        SELECT date, service, level, count(*)::BIGINT AS lines
        FROM silver_logs GROUP BY date, service, level""",
}


def _gold(con: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE enriched_sales AS
        SELECT s.date, s.sold_at, s.customer_id, s.product_id, s.channel, s.quantity,
               s.unit_price, c.name AS customer_name, c.country, c.segment,
               p.name AS product_name, p.category
        FROM silver_sales s
        LEFT JOIN silver_customers c USING (customer_id)
        LEFT JOIN silver_products p USING (product_id)
        """
    )
    tables = {}
    for name, sql in GOLD_SQL.items():
        columns = ", ".join(GOLD_TABLES[name])
        tables[name] = con.sql(f"SELECT {columns} FROM ({sql}) ORDER BY ALL").to_arrow_table()
    return tables


# -- the whole run -----------------------------------------------------------------------


def run_reference(
    source_dir: Path,
    pg_url: str,
    now: datetime | None = None,
    threads: int | None = None,
    temp_dir: Path | None = None,
) -> ReferenceResult:
    """Read ``source_dir`` and the two PostgreSQL tables; judge; compute the gold tables."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    source_dir = Path(source_dir)
    scratch = Path(temp_dir or tempfile.mkdtemp(prefix="salesoptic-duckdb-"))
    con = duckdb.connect(config={"temp_directory": str(scratch)})
    try:
        con.execute("SET TimeZone = 'UTC'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.execute(_MACROS)
        started = time.perf_counter()
        con.register("_customers", _pg_table(pg_url, "customers", CUSTOMER_FIELDS))
        con.execute("CREATE OR REPLACE TABLE bronze_customers AS SELECT * FROM _customers")
        con.register("_products", _pg_table(pg_url, "products", PRODUCT_FIELDS))
        con.execute("CREATE OR REPLACE TABLE bronze_products AS SELECT * FROM _products")
        con.unregister("_customers")
        con.unregister("_products")
        malformed_sales = _read_sales(con, _files(source_dir / "sales", ".csv"))
        _read_events(con, _files(source_dir / "events", ".json"))
        _read_logs(con, _files(source_dir / "logs", ".log"))
        read_done = time.perf_counter()
        _judge_dimensions(con)
        _judge_sales(con, now)
        _judge_events(con, now)
        _judge_logs(con)
        judge_done = time.perf_counter()
        gold = _gold(con)
        gold_done = time.perf_counter()
        stage_seconds = {
            "read": read_done - started,
            "judge": judge_done - read_done,
            "gold": gold_done - judge_done,
            "total": gold_done - started,
        }
        quality = _quality(con, malformed_sales)
        rows = {
            "read": sum(q["rows_in"] for q in quality.values()),
            "judge": sum(q["rows_valid"] for q in quality.values()),
            "gold": sum(t.num_rows for t in gold.values()),
        }
    finally:
        con.close()
        if temp_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    timings.clear()
    timings.update(stage_seconds)
    return ReferenceResult(gold=gold, quality=quality, timings=stage_seconds, rows=rows)


def reference_gold(
    source_dir: Path, pg_url: str, now: datetime | None = None
) -> dict[str, pa.Table]:
    """The ten KPI tables of the landing zone ``source_dir`` (stage seconds in ``timings``)."""
    return run_reference(source_dir, pg_url, now).gold


# -- comparison with SalesOptic's gold ---------------------------------------------------


def _normal(value: Any) -> Any:
    """A value comparable across Spark's and DuckDB's Parquet/Arrow (naive UTC datetimes)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _type_kind(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_large_string(t) or pa.types.is_string(t) or pa.types.is_string_view(t):
        return "string"
    return str(t)


def read_gold_table(folder: Path) -> pa.Table:
    """One gold table folder as written by Spark (part files; ``_``/``.`` files skipped)."""
    files = sorted(
        p for p in Path(folder).iterdir() if p.suffix == ".parquet" or p.name.startswith("part-")
    )
    files = [p for p in files if not p.name.startswith((".", "_"))]
    if not files:
        raise FileNotFoundError(f"no Parquet files under {folder}")
    return pa.concat_tables([pq.read_table(p) for p in files], promote_options="permissive")


def compare_table(
    name: str, reference: pa.Table, actual: pa.Table, tolerance: float = 1e-9
) -> list[str]:
    """Differences between two versions of one gold table (empty when equal).

    Columns must match in name and order and in type (decimal precision and scale
    included; timestamps compared as UTC instants); rows are matched as multisets:
    exact for everything but doubles, which may differ by ``tolerance`` (absolute or
    relative).
    """
    problems = []
    if reference.column_names != actual.column_names:
        return [f"{name}: columns {actual.column_names} != expected {reference.column_names}"]
    for ref_field, act_field in zip(reference.schema, actual.schema, strict=True):
        if _type_kind(ref_field.type) != _type_kind(act_field.type):
            problems.append(
                f"{name}.{ref_field.name}: type {act_field.type} != expected {ref_field.type}"
            )
    doubles = [i for i, f in enumerate(reference.schema) if pa.types.is_floating(f.type)]

    def rows(table: pa.Table) -> list[tuple]:
        out = [tuple(_normal(v) for v in row.values()) for row in table.to_pylist()]

        def key(row: tuple) -> tuple:
            return tuple(
                (v is None, str(v)) for i, v in enumerate(row) if i not in doubles
            ) + tuple(
                (v is None, v if v is not None else 0.0) for i, v in enumerate(row) if i in doubles
            )

        return sorted(out, key=key)

    expected, got = rows(reference), rows(actual)
    if len(expected) != len(got):
        problems.append(f"{name}: {len(got)} rows != expected {len(expected)}")
    shown = 0
    exp_keys = {_exact_part(r, doubles): r for r in expected}
    got_keys = {_exact_part(r, doubles): r for r in got}
    for key in sorted(set(exp_keys) | set(got_keys), key=str):
        e, g = exp_keys.get(key), got_keys.get(key)
        if e is None or g is None or not _close(e, g, doubles, tolerance):
            if shown < 10:
                problems.append(f"{name}: expected {e} got {g}")
            shown += 1
    if shown > 10:
        problems.append(f"{name}: ... {shown - 10} more differing rows")
    return problems


def _exact_part(row: tuple, doubles: list[int]) -> tuple:
    return tuple(v for i, v in enumerate(row) if i not in doubles)


def _close(a: tuple, b: tuple, doubles: list[int], tolerance: float) -> bool:
    for i in doubles:
        x, y = a[i], b[i]
        if x is None or y is None:
            if x is not y:
                return False
            continue
        if math.isnan(x) or math.isnan(y):
            if not (math.isnan(x) and math.isnan(y)):
                return False
            continue
        if abs(x - y) > tolerance * max(1.0, abs(x), abs(y)):
            return False
    return True


def compare_gold(reference: dict[str, pa.Table], gold_dir: Path) -> list[str]:
    """Differences between the reference tables and ``gold_dir/<table>`` (empty: equal)."""
    problems = []
    for name, table in reference.items():
        folder = Path(gold_dir) / name
        if not folder.is_dir():
            problems.append(f"{name}: missing from {gold_dir}")
            continue
        problems.extend(compare_table(name, table, read_gold_table(folder)))
    return problems


def run_records_quality(state_dir: Path) -> dict[str, dict[str, Any]]:
    """The silver accounting of all succeeded runs (facts summed; dimensions: latest run)."""
    totals: dict[str, dict[str, Any]] = {}
    runs_dir = Path(state_dir) / "runs"
    records = sorted(runs_dir.glob("*.json")) if runs_dir.is_dir() else []
    for path in records:
        record = json.loads(path.read_text())
        seen = {}
        for entry in record.get("quality") or []:
            seen.setdefault(entry["dataset"], []).append(entry)
        for dataset, entries in seen.items():
            first = entries[0]
            if dataset in ("customers", "products") or dataset not in totals:
                totals[dataset] = {
                    "rows_in": 0,
                    "rows_valid": 0,
                    "rows_quarantined": 0,
                    "reasons": {},
                }
            t = totals[dataset]
            t["rows_in"] += first["rows_in"] or 0
            t["rows_valid"] += first["rows_valid"] or 0
            t["rows_quarantined"] += first["rows_quarantined"] or 0
            for entry in entries:
                if entry.get("reason"):
                    t["reasons"][entry["reason"]] = (
                        t["reasons"].get(entry["reason"], 0) + entry["reason_rows"]
                    )
    return totals


def compare_quality(reference: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]]):
    """Differences between the reference's and the run records' per-reason counts."""
    problems = []
    for dataset, expected in reference.items():
        got = actual.get(dataset)
        if got is None:
            problems.append(f"quality {dataset}: no run record")
            continue
        for key in ("rows_in", "rows_valid", "rows_quarantined"):
            if expected[key] != got[key]:
                problems.append(f"quality {dataset}.{key}: {got[key]} != expected {expected[key]}")
        if expected["reasons"] != got["reasons"]:
            problems.append(
                f"quality {dataset}.reasons: {got['reasons']} != expected {expected['reasons']}"
            )
    return problems


# -- CLI ---------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime, Decimal)):
        return str(value)
    raise TypeError(type(value))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="Holds source/.")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("SALESOPTIC_PG_URL"),
        help="PostgreSQL with the customers and products tables (env SALESOPTIC_PG_URL).",
    )
    parser.add_argument("--out", type=Path, required=True, help="Folder for <table>.parquet.")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads.")
    parser.add_argument("--compare", type=Path, default=None, help="Gold folder to compare.")
    parser.add_argument("--json", type=Path, default=None, help="Write timings/rows here.")
    args = parser.parse_args(argv)
    if not args.pg_url:
        parser.error("--pg-url (or SALESOPTIC_PG_URL) is required")
    result = run_reference(args.data_dir / "source", args.pg_url, threads=args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, table in result.gold.items():
        pq.write_table(table, args.out / f"{name}.parquet")
    for stage in ("read", "judge", "gold"):
        rows = result.rows[stage]
        print(f"{stage:<6} {rows:>12,} rows {result.timings[stage]:>8.2f} s")
    print(f"{'total':<6} {'':>17} {result.timings['total']:>8.2f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"timings": result.timings, "rows": result.rows, "quality": result.quality},
                indent=2,
                default=_json_default,
            )
        )
    if args.compare:
        problems = compare_gold(result.gold, args.compare)
        print("differential:", "PASS" if not problems else "FAIL")
        for problem in problems:
            print("  " + problem)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
