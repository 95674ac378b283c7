"""Load the customers and products tables into PostgreSQL with COPY (never row by row).

Batch 1 recreates both tables (DESIGN section 3). A later batch copies its new and
updated rows into a temporary table and upserts them, so a rerun of the same batch
leaves the tables as they were.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from salesoptic.errors import UserError
from salesoptic.generate.dimensions import CUSTOMER_COLUMNS, PRODUCT_COLUMNS, DimensionLoad
from salesoptic.generate.text import lines_buffer

DDL = {
    "customers": (
        "CREATE TABLE customers (customer_id integer PRIMARY KEY, name text, email text, "
        "country text, segment text, signup_date date, updated_at timestamptz)"
    ),
    "products": (
        "CREATE TABLE products (product_id integer PRIMARY KEY, name text, category text, "
        "list_price numeric(10,2), updated_at timestamptz)"
    ),
}
COLUMNS = {"customers": CUSTOMER_COLUMNS, "products": PRODUCT_COLUMNS}
COPY_BLOCK_BYTES = 8 << 20


def _mask(url: str) -> str:
    try:
        from salesoptic.runtime.pgurl import mask_url

        return mask_url(url)
    except Exception:  # a URL too broken to parse is not echoed: it may hold a password
        return "the given --pg-url"


def connect(pg_url: str) -> psycopg.Connection:
    """Open a connection; an unreachable server or a bad URL is a one-sentence UserError."""
    try:
        return psycopg.connect(pg_url, connect_timeout=10, application_name="salesoptic-generate")
    except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
        raise UserError(f"PostgreSQL is unreachable at {_mask(pg_url)}.") from exc


def check_reachable(pg_url: str) -> None:
    with connect(pg_url) as conn:
        conn.execute("SELECT 1")


def _copy_blocks(table: pa.Table, columns: tuple[str, ...]) -> Iterator[memoryview]:
    """COPY text format: tab-separated, ``\\N`` for NULL. Values hold no tab or backslash."""
    if len(table) == 0:
        return
    rows = pc.binary_join_element_wise(
        *(table[c].combine_chunks() for c in columns),
        "\t",
        null_handling="replace",
        null_replacement="\\N",
    )
    data = memoryview(lines_buffer(rows))
    for start in range(0, len(data), COPY_BLOCK_BYTES):
        yield data[start : start + COPY_BLOCK_BYTES]


def _copy(cur: psycopg.Cursor, target: str, table: pa.Table, columns: tuple[str, ...]) -> None:
    with cur.copy(f"COPY {target} ({', '.join(columns)}) FROM STDIN") as copy:
        for block in _copy_blocks(table, columns):
            copy.write(block)


def load_dimensions(pg_url: str, load: DimensionLoad, batch: int) -> dict[str, float]:
    """Write the batch's dimension rows; returns seconds spent per table."""
    seconds: dict[str, float] = {}
    tables = {"customers": load.customers, "products": load.products}
    with connect(pg_url) as conn, conn.cursor() as cur:
        if batch > 1:
            for name in tables:
                cur.execute("SELECT to_regclass(%s)", (name,))
                row = cur.fetchone()
                if row is None or row[0] is None:
                    raise UserError(
                        f"Table {name} is missing at {_mask(pg_url)}; generate batch 1 first."
                    )
        for name, rows in tables.items():
            started = time.perf_counter()
            columns = COLUMNS[name]
            key = columns[0]
            if batch == 1:
                cur.execute(f"DROP TABLE IF EXISTS {name}")
                cur.execute(DDL[name])
                _copy(cur, name, rows, columns)
            else:
                stage = f"{name}_stage"
                cur.execute(f"CREATE TEMP TABLE {stage} (LIKE {name}) ON COMMIT DROP")
                _copy(cur, stage, rows, columns)
                updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
                cur.execute(
                    f"INSERT INTO {name} ({', '.join(columns)}) "
                    f"SELECT {', '.join(columns)} FROM {stage} "
                    f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
                )
            seconds[name] = time.perf_counter() - started
        conn.commit()
        conn.autocommit = True
        for name in tables:
            conn.execute(f"ANALYZE {name}")
    return seconds
