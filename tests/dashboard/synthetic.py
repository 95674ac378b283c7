"""A realistic data directory for the dashboard: gold, quarantine and run records.

The facts are drawn at order grain first (``Truth.orders``); the gold tables are then
aggregated here, with pandas, following DESIGN section 6, and written as Parquet with the
contract types. Tests compare what the dashboard shows with sums computed from
``Truth.orders`` directly, so neither this aggregation nor the dashboard's queries can
hide a mistake of the other. Some names are hostile on purpose (HTML, SQL, formulas).

Used by ``tests/dashboard`` and by ``benchmarks/bench_dashboard.py`` (medium scale).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

SCRIPT_NAME = "<script>alert(1)</script>"
IMG_NAME = '<img src=x onerror="window.__xss=1">'
MARKDOWN_NAME = "**bold** [click](javascript:alert(2))"
FORMULA_NAME = '=HYPERLINK("http://example.invalid","x")'
SQL_COUNTRY = "'; DROP TABLE sales; --"
COUNTRIES = ["France", "Germany", "Spain", "United States", "Côte d'Ivoire", SQL_COUNTRY]
SEGMENTS = ["Standard", "Premium", "Business"]
CHANNELS = ["web", "store", "mobile"]
CATEGORIES = ["Books", "Electronics", "Home", "Toys"]
SERVICES = ["Checkout", "PaymentGateway", "Search"]
LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"]
START = dt.date(2025, 1, 1)

MONEY = pa.decimal128(18, 2)
TS = pa.timestamp("us", tz="UTC")

GOLD_SCHEMAS: dict[str, pa.Schema] = {
    "daily_sales": pa.schema(
        [
            ("date", pa.date32()),
            ("orders", pa.int64()),
            ("units", pa.int64()),
            ("revenue", MONEY),
            ("customers", pa.int64()),
            ("avg_order_value", MONEY),
        ]
    ),
    "sales_by_product": pa.schema(
        [
            ("product_id", pa.int32()),
            ("product_name", pa.string()),
            ("category", pa.string()),
            ("orders", pa.int64()),
            ("units", pa.int64()),
            ("revenue", MONEY),
        ]
    ),
    "sales_by_category": pa.schema(
        [
            ("category", pa.string()),
            ("orders", pa.int64()),
            ("units", pa.int64()),
            ("revenue", MONEY),
            ("revenue_share", pa.float64()),
        ]
    ),
    "sales_by_country": pa.schema(
        [
            ("country", pa.string()),
            ("orders", pa.int64()),
            ("units", pa.int64()),
            ("revenue", MONEY),
            ("customers", pa.int64()),
        ]
    ),
    "sales_by_segment": pa.schema(
        [
            ("segment", pa.string()),
            ("orders", pa.int64()),
            ("revenue", MONEY),
            ("avg_order_value", MONEY),
        ]
    ),
    "sales_by_channel": pa.schema(
        [
            ("channel", pa.string()),
            ("orders", pa.int64()),
            ("units", pa.int64()),
            ("revenue", MONEY),
        ]
    ),
    "customer_value": pa.schema(
        [
            ("customer_id", pa.int32()),
            ("name", pa.string()),
            ("country", pa.string()),
            ("segment", pa.string()),
            ("orders", pa.int64()),
            ("revenue", MONEY),
            ("first_order_at", TS),
            ("last_order_at", TS),
        ]
    ),
    "funnel_daily": pa.schema(
        [
            ("date", pa.date32()),
            ("sessions", pa.int64()),
            ("sessions_view", pa.int64()),
            ("sessions_cart", pa.int64()),
            ("sessions_purchase", pa.int64()),
            ("view_to_cart_rate", pa.float64()),
            ("cart_to_purchase_rate", pa.float64()),
            ("conversion_rate", pa.float64()),
        ]
    ),
    "service_health_daily": pa.schema(
        [
            ("date", pa.date32()),
            ("service", pa.string()),
            ("lines", pa.int64()),
            ("errors", pa.int64()),
            ("error_rate", pa.float64()),
            ("p50_latency_ms", pa.float64()),
            ("p95_latency_ms", pa.float64()),
        ]
    ),
    "log_levels_daily": pa.schema(
        [
            ("date", pa.date32()),
            ("service", pa.string()),
            ("level", pa.string()),
            ("lines", pa.int64()),
        ]
    ),
    "data_quality": pa.schema(
        [
            ("run_id", pa.string()),
            ("dataset", pa.string()),
            ("rows_in", pa.int64()),
            ("rows_valid", pa.int64()),
            ("rows_quarantined", pa.int64()),
            ("reason", pa.string()),
            ("reason_rows", pa.int64()),
        ]
    ),
    "pipeline_runs": pa.schema(
        [
            ("run_id", pa.string()),
            ("stage", pa.string()),
            ("started_at", TS),
            ("finished_at", TS),
            ("status", pa.string()),
            ("rows_in", pa.int64()),
            ("rows_out", pa.int64()),
            ("duration_s", pa.float64()),
        ]
    ),
}

# Quarantined rows per (run, dataset): (reasons, how many rows have exactly these).
QUARANTINE_PLAN: dict[tuple[int, str], list[tuple[tuple[str, ...], int]]] = {
    (0, "sales"): [(("INVALID_PRICE",), 12), (("INVALID_PRICE", "UNKNOWN_CUSTOMER"), 3)],
    (0, "events"): [(("MALFORMED_JSON",), 7)],
    (0, "customers"): [(("INVALID_EMAIL",), 4)],
    (1, "sales"): [(("DUPLICATE",), 5), (("INVALID_CHANNEL",), 2)],
    (1, "customers"): [(("INVALID_EMAIL",), 2), (("MISSING_COUNTRY", "INVALID_SEGMENT"), 1)],
}
ROWS_IN: dict[tuple[int, str], int] = {
    (0, "sales"): 1000,
    (0, "events"): 3000,
    (0, "logs"): 2000,
    (0, "customers"): 64,
    (0, "products"): 25,
    (1, "sales"): 200,
    (1, "events"): 0,
    (1, "logs"): 300,
    (1, "customers"): 66,
    (1, "products"): 25,
}


@dataclass
class Truth:
    """What was written: order-grain facts and every table, for independent checks."""

    data_dir: Path
    orders: pd.DataFrame
    gold: dict[str, pd.DataFrame]
    runs: list[dict]
    quarantine: dict[str, pd.DataFrame] = field(default_factory=dict)
    version: str = ""

    @property
    def dates(self) -> list[dt.date]:
        return sorted(self.orders["date"].unique())


def _money(cents: pd.Series | np.ndarray) -> list[Decimal]:
    return [Decimal(int(c)).scaleb(-2) for c in cents]


def _half_up(cents: pd.Series, orders: pd.Series) -> np.ndarray:
    """``round(cents / orders)`` half-up, for positive numbers."""
    return (2 * cents.to_numpy() + orders.to_numpy()) // (2 * orders.to_numpy())


def draw_orders(
    rng: np.random.Generator, days: int, customers: int, products: int, orders: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Customers, products and one row per order (a sale line), hostile names included."""
    cust = pd.DataFrame(
        {
            "customer_id": np.arange(1, customers + 1, dtype=np.int32),
            "name": [f"Customer {i}" for i in range(1, customers + 1)],
            "country": rng.choice(COUNTRIES, customers, p=[0.3, 0.25, 0.2, 0.15, 0.05, 0.05]),
            "segment": rng.choice(SEGMENTS, customers, p=[0.6, 0.3, 0.1]),
        }
    )
    cust.loc[0, "name"] = SCRIPT_NAME
    cust.loc[1, "name"] = FORMULA_NAME
    prod = pd.DataFrame(
        {
            "product_id": np.arange(1, products + 1, dtype=np.int32),
            "product_name": [f"Product {i}" for i in range(1, products + 1)],
            "category": rng.choice(CATEGORIES, products),
            "price_cents": rng.integers(199, 25_000, products),
        }
    )
    prod.loc[0, "product_name"] = IMG_NAME
    prod.loc[1, "product_name"] = MARKDOWN_NAME
    n = orders
    facts = pd.DataFrame(
        {
            "day": rng.integers(0, days, n),
            "customer_id": rng.integers(1, customers + 1, n).astype(np.int32),
            "product_id": rng.integers(1, products + 1, n).astype(np.int32),
            "quantity": rng.integers(1, 5, n),
            "channel": rng.choice(CHANNELS, n, p=[0.5, 0.3, 0.2]),
            "second": rng.integers(0, 86_400, n),
        }
    )
    # The hostile customer and product lead their rankings, so they are on screen.
    boost = max(20, n // 50)
    facts.loc[: boost - 1, "customer_id"] = 1
    facts.loc[: boost - 1, "product_id"] = 1
    facts.loc[: boost - 1, "quantity"] = 9
    facts["date"] = [START + dt.timedelta(days=int(d)) for d in facts["day"]]
    base = pd.Timestamp(START, tz="UTC")
    facts["sold_at"] = (
        base + pd.to_timedelta(facts["day"], unit="D") + pd.to_timedelta(facts["second"], unit="s")
    )
    facts = facts.merge(cust, on="customer_id").merge(prod, on="product_id")
    facts["revenue_cents"] = facts["quantity"] * facts["price_cents"]
    facts = facts.drop(columns=["day", "second"]).sort_values("sold_at", ignore_index=True)
    return cust, prod, facts


def _sales_groups(facts: pd.DataFrame, keys: list[str], customers: bool) -> pd.DataFrame:
    agg = {
        "orders": ("quantity", "size"),
        "units": ("quantity", "sum"),
        "revenue_cents": ("revenue_cents", "sum"),
    }
    if customers:
        agg["customers"] = ("customer_id", "nunique")
    return facts.groupby(keys, as_index=False).agg(**agg)


def gold_tables(
    rng: np.random.Generator, facts: pd.DataFrame, days: int
) -> dict[str, pd.DataFrame]:
    """The sales, funnel and logs gold tables (DESIGN section 6)."""
    out: dict[str, pd.DataFrame] = {}
    daily = _sales_groups(facts, ["date"], customers=True)
    daily["avg_order_value"] = _money(_half_up(daily["revenue_cents"], daily["orders"]))
    daily["revenue"] = _money(daily["revenue_cents"])
    out["daily_sales"] = daily
    by_product = _sales_groups(facts, ["product_id", "product_name", "category"], False)
    by_product["revenue"] = _money(by_product["revenue_cents"])
    out["sales_by_product"] = by_product
    by_category = _sales_groups(facts, ["category"], False)
    by_category["revenue"] = _money(by_category["revenue_cents"])
    by_category["revenue_share"] = by_category["revenue_cents"] / by_category["revenue_cents"].sum()
    out["sales_by_category"] = by_category
    by_country = _sales_groups(facts, ["country"], True)
    by_country["revenue"] = _money(by_country["revenue_cents"])
    out["sales_by_country"] = by_country
    by_segment = _sales_groups(facts, ["segment"], False)
    by_segment["avg_order_value"] = _money(
        _half_up(by_segment["revenue_cents"], by_segment["orders"])
    )
    by_segment["revenue"] = _money(by_segment["revenue_cents"])
    out["sales_by_segment"] = by_segment
    by_channel = _sales_groups(facts, ["channel"], False)
    by_channel["revenue"] = _money(by_channel["revenue_cents"])
    out["sales_by_channel"] = by_channel
    value = facts.groupby(["customer_id", "name", "country", "segment"], as_index=False).agg(
        orders=("quantity", "size"),
        revenue_cents=("revenue_cents", "sum"),
        first_order_at=("sold_at", "min"),
        last_order_at=("sold_at", "max"),
    )
    value["revenue"] = _money(value["revenue_cents"])
    out["customer_value"] = value

    dates = [START + dt.timedelta(days=d) for d in range(days)]
    sessions = rng.integers(200, 400, days)
    view = (sessions * rng.uniform(0.8, 0.95, days)).astype(np.int64)
    cart = (view * rng.uniform(0.2, 0.4, days)).astype(np.int64)
    purchase = (cart * rng.uniform(0.3, 0.6, days)).astype(np.int64)
    out["funnel_daily"] = pd.DataFrame(
        {
            "date": dates,
            "sessions": sessions,
            "sessions_view": view,
            "sessions_cart": cart,
            "sessions_purchase": purchase,
            "view_to_cart_rate": cart / view,
            "cart_to_purchase_rate": purchase / cart,
            "conversion_rate": purchase / view,
        }
    )
    health_rows, level_rows = [], []
    for date in dates:
        for service in SERVICES:
            per_level = dict(
                zip(LEVELS, rng.integers([5, 100, 10, 0], [20, 300, 40, 15]), strict=True)
            )
            lines = int(sum(per_level.values()))
            errors = int(per_level["ERROR"] + rng.integers(0, 5))
            p50 = float(rng.uniform(20, 80))
            health_rows.append(
                (date, service, lines, errors, errors / lines, p50, p50 * rng.uniform(2, 5))
            )
            level_rows += [(date, service, lvl, int(n)) for lvl, n in per_level.items()]
    out["service_health_daily"] = pd.DataFrame(
        health_rows,
        columns=[
            "date",
            "service",
            "lines",
            "errors",
            "error_rate",
            "p50_latency_ms",
            "p95_latency_ms",
        ],
    )
    out["log_levels_daily"] = pd.DataFrame(
        level_rows, columns=["date", "service", "level", "lines"]
    )
    return out


def run_id(index: int) -> str:
    return f"2025020{index + 1}T100000000000Z"


def quarantine_frames() -> dict[tuple[int, str], pd.DataFrame]:
    """Quarantined rows per (run, dataset), fields as strings, with lineage and reasons."""
    frames = {}
    for (run, dataset), plan in QUARANTINE_PLAN.items():
        rows = []
        for reasons, count in plan:
            for i in range(count):
                rows.append(
                    {
                        "record_id": f"{dataset}-{run}-{len(rows)}",
                        "field": SCRIPT_NAME if i == 0 else f"value {i}",
                        "_source": f"file:///data/source/{dataset}/batch-{run}.txt",
                        "_ingested_at": pd.Timestamp("2025-02-01T10:00:00Z")
                        + pd.Timedelta(days=run),
                        "_run_id": run_id(run),
                        "reasons": list(reasons),
                    }
                )
        frames[(run, dataset)] = pd.DataFrame(rows)
    return frames


def run_records(quarantine: dict[tuple[int, str], pd.DataFrame]) -> list[dict]:
    """Two succeeded runs and a failed one, in the run record format, quality included."""
    datasets = ["sales", "events", "logs", "customers", "products"]
    records = []
    for run in (0, 1):
        started = dt.datetime(2025, 2, 1 + run, 10, 0, tzinfo=dt.timezone.utc)
        quality, bronze, silver = [], [], []
        for dataset in datasets:
            rows_in = ROWS_IN[(run, dataset)]
            frame = quarantine.get((run, dataset))
            bad = 0 if frame is None else len(frame)
            base = {"dataset": dataset, "rows_in": rows_in, "rows_valid": rows_in - bad}
            base["rows_quarantined"] = bad
            if bad == 0:
                quality.append(base | {"reason": None, "reason_rows": 0})
            else:
                codes = frame["reasons"].explode().value_counts()
                quality += [base | {"reason": c, "reason_rows": int(n)} for c, n in codes.items()]
            bronze.append(
                {"dataset": dataset, "rows_in": rows_in, "rows_out": rows_in, "seconds": 1.0}
            )
            silver.append(
                {
                    "dataset": dataset,
                    "rows_in": rows_in,
                    "rows_out": rows_in - bad,
                    "quarantined": bad,
                }
            )
        stages = []
        clock = started
        for stage, per_dataset, seconds in (
            ("bronze", bronze, 12.5),
            ("silver", silver, 20.25),
            ("gold", [], 8.0),
        ):
            rows_in = sum(d["rows_in"] for d in per_dataset) if per_dataset else None
            rows_out = sum(d["rows_out"] for d in per_dataset) if per_dataset else None
            end = clock + dt.timedelta(seconds=seconds)
            stages.append(
                {
                    "stage": stage,
                    "status": "succeeded",
                    "started_at": clock.isoformat(),
                    "finished_at": end.isoformat(),
                    "duration_s": seconds,
                    "rows_in": rows_in,
                    "rows_out": rows_out,
                    "quarantined": sum(d.get("quarantined", 0) for d in per_dataset),
                    "datasets": per_dataset,
                }
            )
            clock = end
        records.append(
            {
                "run_id": run_id(run),
                "status": "succeeded",
                "started_at": started.isoformat(),
                "finished_at": clock.isoformat(),
                "error": None,
                "stages": stages,
                "quality": quality,
            }
        )
    failed_start = dt.datetime(2025, 2, 3, 10, 0, tzinfo=dt.timezone.utc)
    records.append(
        {
            "run_id": run_id(2),
            "status": "failed",
            "started_at": failed_start.isoformat(),
            "finished_at": (failed_start + dt.timedelta(seconds=3)).isoformat(),
            "error": "PostgreSQL is unreachable at 127.0.0.1:5432.",
            "stages": [
                {
                    "stage": "bronze",
                    "status": "failed",
                    "started_at": failed_start.isoformat(),
                    "finished_at": (failed_start + dt.timedelta(seconds=3)).isoformat(),
                    "duration_s": 3.0,
                    "rows_in": None,
                    "rows_out": None,
                    "quarantined": 0,
                    "datasets": [],
                }
            ],
            "quality": [],
        }
    )
    return records


def runlog_tables(records: list[dict]) -> dict[str, pd.DataFrame]:
    quality = pd.DataFrame(
        [{"run_id": r["run_id"]} | q for r in records for q in r["quality"]],
        columns=list(GOLD_SCHEMAS["data_quality"].names),
    )
    stages = pd.DataFrame(
        [
            {
                "run_id": r["run_id"],
                "stage": s["stage"],
                "started_at": pd.Timestamp(s["started_at"]),
                "finished_at": pd.Timestamp(s["finished_at"]),
                "status": s["status"],
                "rows_in": s["rows_in"],
                "rows_out": s["rows_out"],
                "duration_s": s["duration_s"],
            }
            for r in records
            for s in r["stages"]
        ]
    )
    return {"data_quality": quality, "pipeline_runs": stages}


def write_parquet(frame: pd.DataFrame, schema: pa.Schema, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {}
    for f in schema:
        values = frame[f.name].tolist() if f.name in frame else [None] * len(frame)
        values = [None if (not isinstance(v, (list, str)) and pd.isna(v)) else v for v in values]
        columns[f.name] = pa.array(values, type=f.type)
    pq.write_table(pa.table(columns, schema=schema), path)


def publish_gold(data_dir: Path, tables: dict[str, pd.DataFrame], version: str) -> None:
    """Write a gold version in full, then point ``current`` at it (atomic rename)."""
    root = data_dir / "gold" / "versions" / version
    for name, frame in tables.items():
        write_parquet(frame, GOLD_SCHEMAS[name], root / name / "part-00000.parquet")
    link = data_dir / "gold" / "current"
    tmp = data_dir / "gold" / f".current-{version}"
    os.symlink(Path("versions") / version, tmp)
    os.replace(tmp, link)


def write_quarantine(
    data_dir: Path, frames: dict[tuple[int, str], pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """Write the quarantine folders; return the rows held per dataset."""
    schema = pa.schema(
        [
            ("record_id", pa.string()),
            ("field", pa.string()),
            ("_source", pa.string()),
            ("_ingested_at", TS),
            ("_run_id", pa.string()),
            ("reasons", pa.list_(pa.string())),
        ]
    )
    latest_dimension_run = {}
    for run, dataset in frames:
        if dataset in ("customers", "products"):
            latest_dimension_run[dataset] = max(run, latest_dimension_run.get(dataset, run))
    held: dict[str, list[pd.DataFrame]] = {}
    for (run, dataset), frame in frames.items():
        # Dimensions keep only their latest snapshot's rejects.
        if dataset in latest_dimension_run and run != latest_dimension_run[dataset]:
            continue
        folder = data_dir / "quarantine" / dataset / f"run={run_id(run)}"
        write_parquet(frame, schema, folder / "part-0.parquet")
        held.setdefault(dataset, []).append(frame)
    return {dataset: pd.concat(parts, ignore_index=True) for dataset, parts in held.items()}


def write_runs(data_dir: Path, records: list[dict]) -> None:
    runs_dir = data_dir / "_state" / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    for record in records:
        (runs_dir / f"{record['run_id']}.json").write_text(json.dumps(record, indent=2))


def write_data_dir(
    data_dir: Path,
    *,
    days: int = 10,
    customers: int = 60,
    products: int = 25,
    orders: int = 800,
    seed: int = 7,
    version: str = "20250202T100040000000Z",
) -> Truth:
    """Write gold (published under ``version``), quarantine and run records."""
    rng = np.random.default_rng(seed)
    _, _, facts = draw_orders(rng, days, customers, products, orders)
    tables = gold_tables(rng, facts, days)
    quarantine = quarantine_frames()
    records = run_records(quarantine)
    tables |= runlog_tables(records)
    publish_gold(data_dir, tables, version)
    held = write_quarantine(data_dir, quarantine)
    write_runs(data_dir, records)
    return Truth(data_dir, facts, tables, records, held, version)
