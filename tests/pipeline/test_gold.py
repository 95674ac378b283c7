"""Gold tables on real Spark, checked against an independent DuckDB implementation.

Small silver datasets are generated with a seeded RNG (plus hand-made edge cases) and
written as Parquet with the silver schemas. Spark turns them into gold; every gold table
is compared with SQL over the same Parquet files in DuckDB: exact for counts, decimals,
dates and timestamps, 1e-9 for doubles."""

from __future__ import annotations

import math
import random
import shutil
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import Column
from pyspark.sql import functions as F

from salesoptic.contracts.schemas import SILVER_SCHEMAS
from salesoptic.errors import UserError
from salesoptic.pipeline.gold import (
    DAILY_AGGREGATIONS,
    build_gold,
    cached_gold,
    merged_totals,
    pipeline_runs_df,
    quality_df,
    sales_lines,
    sales_totals,
    stored_totals_match,
    updated_daily,
)
from salesoptic.pipeline.gold_increment import SALES_TOTALS, Increment
from salesoptic.pipeline.publish import publish_gold

UTC = timezone.utc
SEED = 20250103
DAY0 = datetime(2025, 1, 1, tzinfo=UTC)

# The contract (DESIGN section 6), written out independently of the code under test.
EXPECTED_TYPES: dict[str, list[tuple[str, str]]] = {
    "daily_sales": [
        ("date", "date"),
        ("orders", "bigint"),
        ("units", "bigint"),
        ("revenue", "decimal(18,2)"),
        ("customers", "bigint"),
        ("avg_order_value", "decimal(18,2)"),
    ],
    "sales_by_product": [
        ("product_id", "int"),
        ("product_name", "string"),
        ("category", "string"),
        ("orders", "bigint"),
        ("units", "bigint"),
        ("revenue", "decimal(18,2)"),
    ],
    "sales_by_category": [
        ("category", "string"),
        ("orders", "bigint"),
        ("units", "bigint"),
        ("revenue", "decimal(18,2)"),
        ("revenue_share", "double"),
    ],
    "sales_by_country": [
        ("country", "string"),
        ("orders", "bigint"),
        ("units", "bigint"),
        ("revenue", "decimal(18,2)"),
        ("customers", "bigint"),
    ],
    "sales_by_segment": [
        ("segment", "string"),
        ("orders", "bigint"),
        ("revenue", "decimal(18,2)"),
        ("avg_order_value", "decimal(18,2)"),
    ],
    "sales_by_channel": [
        ("channel", "string"),
        ("orders", "bigint"),
        ("units", "bigint"),
        ("revenue", "decimal(18,2)"),
    ],
    "customer_value": [
        ("customer_id", "int"),
        ("name", "string"),
        ("country", "string"),
        ("segment", "string"),
        ("orders", "bigint"),
        ("revenue", "decimal(18,2)"),
        ("first_order_at", "timestamp"),
        ("last_order_at", "timestamp"),
    ],
    "funnel_daily": [
        ("date", "date"),
        ("sessions", "bigint"),
        ("sessions_view", "bigint"),
        ("sessions_cart", "bigint"),
        ("sessions_purchase", "bigint"),
        ("view_to_cart_rate", "double"),
        ("cart_to_purchase_rate", "double"),
        ("conversion_rate", "double"),
    ],
    "service_health_daily": [
        ("date", "date"),
        ("service", "string"),
        ("lines", "bigint"),
        ("errors", "bigint"),
        ("error_rate", "double"),
        ("p50_latency_ms", "double"),
        ("p95_latency_ms", "double"),
    ],
    "log_levels_daily": [
        ("date", "date"),
        ("service", "string"),
        ("level", "string"),
        ("lines", "bigint"),
    ],
    "data_quality": [
        ("run_id", "string"),
        ("dataset", "string"),
        ("rows_in", "bigint"),
        ("rows_valid", "bigint"),
        ("rows_quarantined", "bigint"),
        ("reason", "string"),
        ("reason_rows", "bigint"),
    ],
    "pipeline_runs": [
        ("run_id", "string"),
        ("stage", "string"),
        ("started_at", "timestamp"),
        ("finished_at", "timestamp"),
        ("status", "string"),
        ("rows_in", "bigint"),
        ("rows_out", "bigint"),
        ("duration_s", "double"),
    ],
}

RUNS = [
    {
        "run_id": "20250103T100000000000Z",
        "status": "succeeded",
        "started_at": "2025-01-03T10:00:00.000000+00:00",
        "finished_at": "2025-01-03T10:01:00.000000+00:00",
        "error": None,
        "stages": [
            {
                "stage": "bronze",
                "status": "succeeded",
                "started_at": "2025-01-03T10:00:00.123456+00:00",
                "finished_at": "2025-01-03T10:00:12.423456+00:00",
                "duration_s": 12.3,
                "rows_in": 1000,
                "rows_out": 1000,
                "quarantined": 0,
                "datasets": [],
            },
            {
                "stage": "silver",
                "status": "failed",
                "started_at": "2025-01-03T11:00:12.5+01:00",
                "finished_at": None,
                "duration_s": None,
                "rows_in": 1000,
                "rows_out": None,
            },
        ],
        "quality": [
            {
                "dataset": "sales",
                "rows_in": 1000,
                "rows_valid": 990,
                "rows_quarantined": 10,
                "reason": "INVALID_PRICE",
                "reason_rows": 6,
            },
            {
                "dataset": "sales",
                "rows_in": 1000,
                "rows_valid": 990,
                "rows_quarantined": 10,
                "reason": "DUPLICATE",
                "reason_rows": 5,
            },
            {
                "dataset": "logs",
                "rows_in": 3_000_000_000,
                "rows_valid": 3_000_000_000,
                "rows_quarantined": 0,
                "reason": None,
                "reason_rows": 0,
            },
        ],
    },
    {"run_id": "20250104T100000000000Z", "status": "running", "stages": [], "quality": []},
]


def _ts(day: int, seconds: int) -> datetime:
    return DAY0 + timedelta(days=day, seconds=seconds)


def _lineage() -> tuple[str, datetime, str]:
    return ("file:///landing/x", datetime(2025, 2, 1, tzinfo=UTC), "run-1")


def make_silver_rows(rng: random.Random) -> dict[str, list[tuple]]:
    """Silver rows for every dataset: random bulk plus the edge cases the definitions name."""
    countries = ["FR", "DE", "US", "JP"]
    segments = ["Standard", "Premium", "Business"]
    customers = [
        (
            cid,
            f"Customer {cid % 17}",  # repeated names: grouping must be by id
            f"c{cid}@example.com" if cid % 9 else None,
            countries[cid % len(countries)],
            segments[cid % len(segments)],
            date(2024, 1, 1) + timedelta(days=cid),
            _ts(-30, cid),
            *_lineage(),
        )
        for cid in range(1, 41)  # 31..40 never buy
    ]
    categories = ["Books", "Toys", "Garden", "Music"]
    products = [
        (
            pid,
            f"Product {pid % 11}",
            categories[pid % len(categories)],
            Decimal("9.99"),
            _ts(-30, pid),
            *_lineage(),
        )
        for pid in range(1, 26)  # 21..25 never sold
    ]
    products.append((99, "Lonely", "Solo", Decimal("1.00"), _ts(-30, 0), *_lineage()))

    prices = [Decimal(p) for p in ("0.01", "0.05", "0.99", "19.99", "7.50", "1234.56", "3.33")]
    channels = ["web", "store", "mobile"]
    sales = []
    for i in range(300):
        sold_at = _ts(rng.randrange(6), rng.randrange(86_400))
        sales.append(
            (
                f"t-{i:04d}",
                sold_at,
                rng.randint(1, 30),
                rng.randint(1, 20),
                rng.randint(1, 10),
                rng.choice(prices),
                rng.choice(channels),
            )
        )
    # Ties on sold_at for one customer: first and last order times are shared instants.
    tie = _ts(2, 43_200)
    sales += [("tie-1", tie, 5, 1, 2, prices[3], "web"), ("tie-2", tie, 5, 2, 1, prices[0], "web")]
    # Midnight boundaries: the date is the UTC date of sold_at.
    sales += [
        ("edge-1", _ts(3, 86_399), 6, 3, 1, prices[2], "store"),
        ("edge-2", _ts(4, 0), 6, 3, 1, prices[2], "store"),
    ]
    # The only order of category "Solo".
    sales.append(("solo-1", _ts(1, 100), 7, 99, 3, Decimal("0.01"), "mobile"))
    # avg_order_value exactly at a half cent: 0.05 / 2 = 0.025 and 20.01 / 2 = 10.005
    # round half-up to 0.03 and 10.01 (half-even would give 0.02 and 10.00; a double
    # holds 10.005 as 10.00499..., so floating point would give 10.00).
    sales += [
        ("half-1", _ts(10, 10), 8, 4, 1, Decimal("0.01"), "web"),
        ("half-2", _ts(10, 20), 9, 4, 4, Decimal("0.01"), "web"),
        ("half-3", _ts(11, 10), 8, 4, 1, Decimal("19.99"), "web"),
        ("half-4", _ts(11, 20), 8, 4, 2, Decimal("0.01"), "web"),
    ]
    sales_rows = [(*s, s[1].date(), *_lineage()) for s in sales]

    event_types = ["view", "click", "add_to_cart", "remove_from_cart", "purchase"]
    devices = ["desktop", "mobile", "tablet"]
    events = []

    def add_event(at: datetime, session: str | None, event_type: str) -> None:
        product = rng.randint(1, 25) if rng.random() < 0.8 else None
        user = f"u-{rng.randint(1, 60)}"
        events.append(
            (f"e-{len(events)}", at, user, session, event_type, product, rng.choice(devices))
        )

    for s in range(80):
        day, start = rng.randrange(6), rng.randrange(80_000)
        weights = [5, 3, 2, 1, 1]
        for k in range(rng.randint(1, 8)):
            add_event(_ts(day, start + 60 * k), f"s-{s}", rng.choices(event_types, weights)[0])
    # Sessions spanning midnight: they count on both dates.
    for s in range(3):
        add_event(_ts(2, 86_340 + s), f"night-{s}", "view")
        add_event(_ts(3, 30 + s), f"night-{s}", "add_to_cart")
        add_event(_ts(3, 90 + s), f"night-{s}", "purchase" if s else "click")
    # A day whose sessions never view (every rate's denominator is 0)...
    add_event(_ts(8, 100), "noview-1", "click")
    add_event(_ts(8, 200), "noview-2", "remove_from_cart")
    # ... a day with views but no cart, and an event without a session.
    add_event(_ts(9, 100), "viewonly-1", "view")
    add_event(_ts(9, 100), "viewonly-1", "view")
    add_event(_ts(9, 300), None, "purchase")
    events_rows = [(*e, e[1].date(), *_lineage()) for e in events]

    logs = []
    latencies = [5, 10, 10, 20, 20, 20, 35, 80, 250, 1200]
    for _ in range(400):
        service = rng.choice(["Api", "PaymentGateway", "Search"])
        level = rng.choices(["DEBUG", "INFO", "WARN", "ERROR"], [2, 6, 2, 1])[0]
        status = rng.choice([200, 200, 201, 404, 499, 500, 502, 503])
        logs.append((_ts(rng.randrange(5), rng.randrange(86_400)), level, service, status))
    # A service with no errors at all, and a (date, service) with a single line.
    for k in range(25):
        logs.append((_ts(k % 5, 1000 + k), rng.choice(["DEBUG", "INFO"]), "Quiet", 200))
    logs.append((_ts(7, 5), "WARN", "Lonely", 404))
    logs_rows = [
        (at, level, service, status, rng.choice(latencies), "msg", at.date(), *_lineage())
        for at, level, service, status in logs
    ]
    return {
        "sales": sales_rows,
        "events": events_rows,
        "logs": logs_rows,
        "customers": customers,
        "products": products,
    }


ARROW_TYPES = {
    "string": pa.string(),
    "int": pa.int32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "decimal(18,2)": pa.decimal128(18, 2),
}


def write_silver_parquet(path: Path, dataset: str, rows: list[tuple]) -> None:
    """Silver rows as Parquet in two files, typed as the silver schema (written by Arrow)."""
    schema = SILVER_SCHEMAS[dataset]
    arrow_schema = pa.schema(
        [(f.name, ARROW_TYPES[f.dataType.simpleString()]) for f in schema.fields]
    )
    path.mkdir(parents=True)
    half = len(rows) // 2
    for part, chunk in enumerate((rows[:half], rows[half:])):
        columns = list(zip(*chunk, strict=True))
        table = pa.table(
            [pa.array(col, f.type) for col, f in zip(columns, arrow_schema, strict=True)],
            schema=arrow_schema,
        )
        pq.write_table(table, path / f"part-{part}.parquet")


@pytest.fixture(scope="module")
def gold_env(spark, tmp_path_factory: pytest.TempPathFactory):
    """Silver Parquet, the gold tables Spark built from it, and a DuckDB connection.

    Silver is read by both engines from the same files; the gold tables are handed to
    DuckDB as Arrow tables (as ``gold_<table>``), so both sides go through one engine.
    """
    root = tmp_path_factory.mktemp("gold")
    rows = make_silver_rows(random.Random(SEED))
    for dataset, dataset_rows in rows.items():
        write_silver_parquet(root / "silver" / dataset, dataset, dataset_rows)
    silver = {name: spark.read.parquet(str(root / "silver" / name)) for name in rows}
    for name, df in silver.items():
        assert [(f.name, f.dataType) for f in df.schema] == [
            (f.name, f.dataType) for f in SILVER_SCHEMAS[name]
        ]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    with cached_gold(silver, RUNS, spark) as gold:
        schemas = {
            name: [(f.name, f.dataType.simpleString()) for f in df.schema]
            for name, df in gold.tables.items()
        }
        for name, df in gold.tables.items():
            con.register(f"gold_{name}", df.toArrow())
    for name in rows:
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{root}/silver/{name}/*.parquet')"
        )
    con.execute(f"CREATE VIEW s AS {SALES_SQL}")
    yield {"root": root, "con": con, "schemas": schemas, "silver": silver}
    con.close()


def read_gold(env, table: str) -> tuple[list[str], list[tuple]]:
    rel = env["con"].sql(f"SELECT * FROM gold_{table}")
    return rel.columns, rel.fetchall()


def _sort_key(row: tuple, key_len: int) -> tuple:
    return tuple((value is None, str(value)) for value in row[:key_len])


def assert_rows_match(actual: list[tuple], expected: list[tuple], key_len: int) -> None:
    """Same rows by key; doubles within 1e-9, everything else exactly equal."""
    actual = sorted(actual, key=lambda r: _sort_key(r, key_len))
    expected = sorted(expected, key=lambda r: _sort_key(r, key_len))
    assert [r[:key_len] for r in actual] == [r[:key_len] for r in expected]
    for got, want in zip(actual, expected, strict=True):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            if isinstance(w, float):
                assert isinstance(g, float) and math.isclose(g, w, rel_tol=0, abs_tol=1e-9), (
                    got,
                    want,
                )
            else:
                assert g == w and type(g) is type(w), (got, want)


def half_up_cents(cents: int, orders: int) -> Decimal:
    """cents / orders rounded half-up to a whole cent, in integers (no float, no decimal)."""
    return Decimal((2 * cents + orders) // (2 * orders)).scaleb(-2)


def with_aov(rows: list[tuple]) -> list[tuple]:
    """Replace the trailing (cents, orders) pair by the half-up average order value."""
    return [(*r[:-2], half_up_cents(int(r[-2]), int(r[-1]))) for r in rows]


SALES_SQL = """
    SELECT s.*, c.name AS customer_name, c.country, c.segment,
           p.name AS product_name, p.category,
           CAST(s.quantity * s.unit_price AS DECIMAL(38, 2)) AS amount,
           s.quantity * CAST(s.unit_price * 100 AS BIGINT) AS cents
    FROM sales s JOIN customers c USING (customer_id) JOIN products p USING (product_id)
"""

EXPECTED_SQL: dict[str, tuple[str, int, bool]] = {
    # table: (query, key columns, ends with (cents, orders) to turn into avg_order_value)
    "daily_sales": (
        """SELECT date, count(*), sum(quantity)::BIGINT, sum(amount)::DECIMAL(18,2),
                  count(DISTINCT customer_id), sum(cents), count(*)
           FROM s GROUP BY date""",
        1,
        True,
    ),
    "sales_by_product": (
        """SELECT product_id, product_name, category, count(*), sum(quantity)::BIGINT,
                  sum(amount)::DECIMAL(18,2)
           FROM s GROUP BY ALL""",
        1,
        False,
    ),
    "sales_by_category": (
        """SELECT category, count(*), sum(quantity)::BIGINT, sum(amount)::DECIMAL(18,2),
                  sum(amount)::DOUBLE / (SELECT sum(amount) FROM s)::DOUBLE
           FROM s GROUP BY category""",
        1,
        False,
    ),
    "sales_by_country": (
        """SELECT country, count(*), sum(quantity)::BIGINT, sum(amount)::DECIMAL(18,2),
                  count(DISTINCT customer_id)
           FROM s GROUP BY country""",
        1,
        False,
    ),
    "sales_by_segment": (
        """SELECT segment, count(*), sum(amount)::DECIMAL(18,2),
                  sum(cents), count(*)
           FROM s GROUP BY segment""",
        1,
        True,
    ),
    "sales_by_channel": (
        """SELECT channel, count(*), sum(quantity)::BIGINT, sum(amount)::DECIMAL(18,2)
           FROM s GROUP BY channel""",
        1,
        False,
    ),
    "customer_value": (
        """SELECT customer_id, customer_name, country, segment, count(*),
                  sum(amount)::DECIMAL(18,2), min(sold_at), max(sold_at)
           FROM s GROUP BY ALL""",
        1,
        False,
    ),
    "funnel_daily": (
        """WITH d AS (
               SELECT date, session_id,
                      bool_or(event_type = 'view') AS v,
                      bool_or(event_type = 'add_to_cart') AS c,
                      bool_or(event_type = 'purchase') AS p
               FROM events WHERE session_id IS NOT NULL GROUP BY ALL),
           n AS (
               SELECT date, count(*) AS sessions, count(*) FILTER (v) AS sv,
                      count(*) FILTER (c) AS sc, count(*) FILTER (p) AS sp
               FROM d GROUP BY date)
           SELECT date, sessions, sv, sc, sp,
                  CASE WHEN sv = 0 THEN 0.0 ELSE sc / sv END,
                  CASE WHEN sc = 0 THEN 0.0 ELSE sp / sc END,
                  CASE WHEN sv = 0 THEN 0.0 ELSE sp / sv END
           FROM n""",
        1,
        False,
    ),
    "service_health_daily": (
        """SELECT date, service, count(*) AS lines,
                  count(*) FILTER (level = 'ERROR' OR status >= 500) AS errors,
                  errors / lines,
                  quantile_cont(latency_ms, 0.5)::DOUBLE,
                  quantile_cont(latency_ms, 0.95)::DOUBLE
           FROM logs GROUP BY date, service""",
        2,
        False,
    ),
    "log_levels_daily": (
        "SELECT date, service, level, count(*) FROM logs GROUP BY ALL",
        3,
        False,
    ),
}


@pytest.mark.parametrize("table", sorted(EXPECTED_TYPES))
def test_schema_is_the_contract(gold_env, table: str) -> None:
    assert gold_env["schemas"][table] == EXPECTED_TYPES[table]


@pytest.mark.parametrize("table", sorted(EXPECTED_SQL))
def test_table_equals_duckdb_reference(gold_env, table: str) -> None:
    query, key_len, aov = EXPECTED_SQL[table]
    con = gold_env["con"]
    expected = con.sql(query).fetchall()
    if aov:
        expected = with_aov(expected)
    columns, actual = read_gold(gold_env, table)
    assert columns == [name for name, _ in EXPECTED_TYPES[table]]
    assert expected, f"the reference query for {table} returned no rows"
    assert_rows_match(actual, expected, key_len)


def test_edge_cases_are_present(gold_env) -> None:
    """The generated data really exercises the cases the definitions single out."""
    daily = {r[0]: r for r in read_gold(gold_env, "daily_sales")[1]}
    assert daily[date(2025, 1, 11)][5] == Decimal("0.03")  # 0.05 / 2
    assert daily[date(2025, 1, 12)][5] == Decimal("10.01")  # 20.01 / 2
    category = {r[0]: r for r in read_gold(gold_env, "sales_by_category")[1]}
    assert category["Solo"][1:4] == (1, 3, Decimal("0.03"))
    assert math.isclose(sum(r[4] for r in category.values()), 1.0, abs_tol=1e-12)
    funnel = {r[0]: r for r in read_gold(gold_env, "funnel_daily")[1]}
    assert funnel[date(2025, 1, 9)][1:] == (2, 0, 0, 0, 0.0, 0.0, 0.0)
    assert funnel[date(2025, 1, 10)][1:] == (1, 1, 0, 0, 0.0, 0.0, 0.0)
    health = read_gold(gold_env, "service_health_daily")[1]
    assert {r[3] for r in health if r[1] == "Quiet"} == {0}
    [lonely] = [r for r in health if r[1] == "Lonely"]
    assert lonely[2:5] == (1, 0, 0.0) and lonely[5] == lonely[6]  # one line: p50 == p95
    customers = {r[0] for r in read_gold(gold_env, "customer_value")[1]}
    assert customers <= set(range(1, 31)) and 5 in customers
    products = {r[0] for r in read_gold(gold_env, "sales_by_product")[1]}
    assert products.isdisjoint(range(21, 26)) and 99 in products


def test_build_gold_is_lazy_and_equal_to_cached(spark, gold_env) -> None:
    """build_gold returns the same tables as cached_gold, and caches nothing itself."""
    tables = build_gold(gold_env["silver"], RUNS, spark)
    assert {
        n: [(f.name, f.dataType.simpleString()) for f in df.schema] for n, df in tables.items()
    } == (gold_env["schemas"])
    assert not tables["daily_sales"].storageLevel.useMemory
    got = sorted(tables["sales_by_channel"].collect())
    want = sorted(tuple(r) for r in read_gold(gold_env, "sales_by_channel")[1])
    assert [tuple(r) for r in got] == want


def test_daily_customers_are_exact_across_blocks_of_ids(spark) -> None:
    """Distinct customers per date on both sides of the bitmaps' 32,768-id blocks,
    around zero and at the ends of the integer range, counted against Python sets; a
    null id counts for no customer, as in ``count(DISTINCT ...)``."""
    edges = [1, 2, 32767, 32768, 32769, 65536, 65537, 0, -1, -32767, -32768, -32769]
    ids = [*edges, 2**31 - 1, -(2**31)]
    rng = random.Random(SEED)
    sales = [
        (day, rng.choice([*ids, None, rng.randint(-(2**31), 2**31 - 1)]))
        for day in (date(2025, 1, 1), date(2025, 1, 2))
        for _ in range(400)
    ]
    lines = spark.createDataFrame(
        [(d, _ts(0, 0), cid, 1, "web", 1, Decimal("1.00")) for d, cid in sales],
        "date date, sold_at timestamp, customer_id int, product_id int, channel string, "
        "quantity int, unit_price decimal(18,2)",
    )
    got = {r["date"]: r["customers"] for r in DAILY_AGGREGATIONS["daily_sales"](lines).collect()}
    want = {d: len({cid for day, cid in sales if day == d} - {None}) for d, _ in sales}
    assert got == want
    assert min(want.values()) > len(ids)  # random ids as well as the edges
    assert any(cid is None for _, cid in sales)


DAILY_SOURCES = {
    "daily_sales": "sales",
    "funnel_daily": "events",
    "service_health_daily": "logs",
    "log_levels_daily": "logs",
}


def _rows(df) -> list[tuple]:
    return sorted((tuple(r) for r in df.collect()), key=str)


@pytest.mark.parametrize("table", list(DAILY_SOURCES))
def test_updated_daily_equals_a_full_recomputation(gold_env, table: str) -> None:
    """Late records land on an old date: recomputing that date alone gives the full rows."""
    silver = gold_env["silver"][DAILY_SOURCES[table]]
    aggregate = DAILY_AGGREGATIONS[table]
    first = silver.agg(F.min("date")).first()[0]
    # The gold published before the late records: about half of the first date's rows.
    early = silver.where((F.col("date") != first) | (F.rand(seed=7) < 0.5))
    previous = aggregate(early)
    full = _rows(aggregate(silver))
    assert _rows(previous) != full  # the late rows change the first date
    assert _rows(updated_daily(table, previous, silver, [first])) == full
    # Nothing new: the previous rows as they are, even stale ones; a stored column of
    # another type: the table recomputed whole.
    assert _rows(updated_daily(table, previous, silver, [])) == _rows(previous)
    retyped = previous.withColumn(previous.columns[-1], F.col(previous.columns[-1]).cast("string"))
    assert _rows(updated_daily(table, retyped, silver, [])) == full


def test_merged_totals_equal_the_totals_of_all_sales(gold_env) -> None:
    """Totals of earlier sales plus those of later ones: the totals of all of them."""
    lines = sales_lines(gold_env["silver"]["sales"])
    flagged = lines.withColumn("_earlier", F.rand(seed=11) < 0.6)
    earlier = flagged.where("_earlier").drop("_earlier")
    later = flagged.where("NOT _earlier").drop("_earlier")
    assert earlier.count() and later.count()
    full, parts_a, parts_b = sales_totals(lines), sales_totals(earlier), sales_totals(later)
    for name, key in SALES_TOTALS.items():
        merged = merged_totals(parts_a[name], parts_b[name], key)
        assert merged.columns == full[name].columns
        assert _rows(merged) == _rows(full[name])
        assert _rows(parts_a[name]) != _rows(full[name])
    assert stored_totals_match(parts_a, lines)
    retyped = {**parts_a, "channel_totals": parts_a["channel_totals"].withColumn(
        "units", F.col("units").cast("int"))}  # fmt: skip
    assert not stored_totals_match(retyped, lines)
    assert not stored_totals_match({"channel_totals": parts_a["channel_totals"]}, lines)


def test_cached_gold_adds_new_sales_to_stored_totals(spark, gold_env, tmp_path) -> None:
    """An incremental gold from a version's stored totals equals a full recomputation;
    stored totals of another type are not reused; the stored revenue counts in the
    money check."""
    cutoff = gold_env["silver"]["sales"].agg(F.max("date")).first()[0]
    # Run r2 brings the last date's sales and late sales on earlier dates.
    later = (F.col("date") >= cutoff) | (F.xxhash64("transaction_id") % 5 == 0)
    gold_env["silver"]["sales"].withColumn(
        "_run_id", F.when(later, "r2").otherwise("r1")
    ).write.parquet(str(tmp_path / "sales"))
    sales = spark.read.parquet(str(tmp_path / "sales"))
    new_dates = tuple(
        sorted(r[0] for r in sales.where("_run_id = 'r2'").select("date").distinct().collect())
    )
    assert cutoff in new_dates and len(new_dates) > 1
    full = {**gold_env["silver"], "sales": sales}
    gold_dir = tmp_path / "gold"
    with cached_gold({**full, "sales": sales.where("_run_id = 'r1'")}, RUNS, spark) as first:
        assert first.totals_from is None
        previous = publish_gold(first.tables, gold_dir, "v1", parts=first.parts)
    expected = {name: _rows(df) for name, df in build_gold(full, RUNS, spark).items()}

    def increment(version_dir: Path) -> Increment:
        dates = {"sales": new_dates, "events": (), "logs": ()}
        return Increment(version_dir, dates, {"sales": ("r2",), "events": (), "logs": ()})

    with cached_gold(full, RUNS, spark, increment(previous)) as gold:
        assert gold.totals_from == "v1"
        assert {name: _rows(df) for name, df in gold.tables.items()} == expected

    def with_channel_totals(version: str, column: str, value: Column) -> Path:
        """A copy of v1 whose stored channel totals have ``column`` replaced."""
        version_dir = gold_dir / "versions" / version
        shutil.copytree(previous, version_dir)
        stored = spark.read.parquet(str(previous / "_parts" / "channel_totals"))
        changed = stored.withColumn(column, value)
        changed.write.mode("overwrite").parquet(str(version_dir / "_parts" / "channel_totals"))
        return version_dir

    retyped = with_channel_totals("v2", "units", F.col("units").cast("int"))
    with cached_gold(full, RUNS, spark, increment(retyped)) as gold:
        assert gold.totals_from is None
        assert {name: _rows(df) for name, df in gold.tables.items()} == expected

    largest = F.lit(Decimal("9999999999999999.99")).cast("decimal(18,2)")
    near_the_limit = with_channel_totals("v3", "revenue", largest)
    with (
        pytest.raises(UserError, match="exceeds decimal"),
        cached_gold(full, RUNS, spark, increment(near_the_limit)),
    ):
        pass


def test_missing_silver_dataset_is_named(spark, gold_env) -> None:
    silver = dict(gold_env["silver"])
    del silver["logs"]
    with pytest.raises(ValueError, match="logs"):
        build_gold(silver, RUNS, spark)


def _epoch(value: datetime | None) -> float | None:
    # Spark returns naive local-time datetimes; .timestamp() reads them as local time.
    return None if value is None else value.timestamp()


def test_quality_rows_from_run_records(spark) -> None:
    rows = [tuple(r) for r in quality_df(spark, RUNS).collect()]
    assert sorted(rows, key=str) == sorted(
        [
            ("20250103T100000000000Z", "sales", 1000, 990, 10, "INVALID_PRICE", 6),
            ("20250103T100000000000Z", "sales", 1000, 990, 10, "DUPLICATE", 5),
            ("20250103T100000000000Z", "logs", 3_000_000_000, 3_000_000_000, 0, None, 0),
        ],
        key=str,
    )
    assert quality_df(spark, []).count() == 0


def test_pipeline_runs_from_run_records(spark) -> None:
    rows = pipeline_runs_df(spark, RUNS).collect()
    got = [(r[0], r[1], _epoch(r[2]), _epoch(r[3]), *r[4:]) for r in rows]
    start = datetime(2025, 1, 3, 10, 0, 0, 123456, tzinfo=UTC).timestamp()
    end = datetime(2025, 1, 3, 10, 0, 12, 423456, tzinfo=UTC).timestamp()
    assert sorted(got, key=str) == sorted(
        [
            ("20250103T100000000000Z", "bronze", start, end, "succeeded", 1000, 1000, 12.3),
            (
                "20250103T100000000000Z",
                "silver",
                datetime(2025, 1, 3, 10, 0, 12, 500000, tzinfo=UTC).timestamp(),
                None,
                "failed",
                1000,
                None,
                None,
            ),
        ],
        key=str,
    )
    assert pipeline_runs_df(spark, []).count() == 0
