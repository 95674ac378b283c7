"""Every reason code: a record that passes and records that fail (None and malformed)."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from salesoptic.contracts.checks import LOG_TIMESTAMP_TEXT, SOURCE_TIMESTAMP_TEXT, as_timestamp
from salesoptic.contracts.reasons import REASONS_BY_DATASET
from salesoptic.contracts.rules import CONTRACTS
from salesoptic.contracts.sources import CORRUPT_COLUMN, RESCUED_COLUMN, SOURCE_FIELDS
from salesoptic.pipeline.silver import (
    contested_keys,
    judge,
    key_range,
    keys_in_range,
    latest_version_per_key,
    mark_duplicates,
    reason_counts,
    record_key_hashes,
    with_contested_flags,
    with_reference_reasons,
    without_unread_raw_fields,
)
from salesoptic.runtime.spark import session_settings

INGESTED = dt.datetime(2025, 6, 1, 12, 0, 0)

VALID = {
    "sales": {
        "transaction_id": "T-1", "timestamp": "2025-01-03T10:00:00", "customer_id": "1",
        "product_id": "2", "quantity": "3", "unit_price": "4.50", "channel": "web",
    },
    "events": {
        "event_id": "e-1", "timestamp": "2025-01-03T10:00:00", "user_id": "17",
        "session_id": "s-9", "event_type": "view", "product_id": None, "device": "mobile",
    },
    "logs": {
        "timestamp": "2025-01-03T10:00:00.123Z", "level": "ERROR", "service": "Pay",
        "status": "502", "latency_ms": "532", "msg": "Card declined",
    },
    "customers": {
        "customer_id": "1", "name": "Ada", "email": "ada@example.com", "country": "FR",
        "segment": "Premium", "signup_date": "2024-01-01", "updated_at": "2025-01-01 00:00:00",
    },
    "products": {
        "product_id": "2", "name": "Lamp", "category": "Home", "list_price": "19.99",
        "updated_at": "2025-01-01 00:00:00",
    },
}  # fmt: skip

# (dataset, field overrides, expected reasons in contract order)
CASES = [
    ("sales", {}, []),
    ("sales", {"transaction_id": None}, ["MISSING_TRANSACTION_ID"]),
    ("sales", {"transaction_id": "  "}, ["MISSING_TRANSACTION_ID"]),
    ("sales", {"timestamp": "2025-02-30T10:00:00"}, ["INVALID_TIMESTAMP"]),
    ("sales", {"timestamp": "2025-03-01"}, ["INVALID_TIMESTAMP"]),
    ("sales", {"timestamp": "2025-03-01 10:00:00"}, ["INVALID_TIMESTAMP"]),
    ("sales", {"timestamp": "2025-03-01T10:00:00+01:00"}, ["INVALID_TIMESTAMP"]),
    ("sales", {"timestamp": None}, ["INVALID_TIMESTAMP"]),
    ("sales", {"timestamp": "2099-01-01T00:00:00"}, ["FUTURE_TIMESTAMP"]),
    ("sales", {"timestamp": "2025-06-01T12:00:00"}, []),  # equal to ingestion: not future
    ("sales", {"customer_id": None}, ["MISSING_CUSTOMER_ID"]),
    ("sales", {"product_id": ""}, ["MISSING_PRODUCT_ID"]),
    ("sales", {"quantity": "0"}, ["INVALID_QUANTITY"]),
    ("sales", {"quantity": "-2"}, ["INVALID_QUANTITY"]),
    ("sales", {"quantity": "2.5"}, ["INVALID_QUANTITY"]),
    ("sales", {"quantity": "1.0"}, ["INVALID_QUANTITY"]),
    ("sales", {"quantity": "99999999999999999999"}, ["INVALID_QUANTITY"]),
    ("sales", {"quantity": None}, ["INVALID_QUANTITY"]),
    ("sales", {"quantity": "+7"}, []),
    ("sales", {"unit_price": "4,50"}, ["INVALID_PRICE"]),
    ("sales", {"unit_price": "1.234"}, ["INVALID_PRICE"]),
    ("sales", {"unit_price": "0"}, ["INVALID_PRICE"]),
    ("sales", {"unit_price": "-0.00"}, ["INVALID_PRICE"]),
    ("sales", {"unit_price": "NaN"}, ["INVALID_PRICE"]),
    ("sales", {"unit_price": "1,234.00"}, ["INVALID_PRICE"]),
    ("sales", {"unit_price": None}, ["INVALID_PRICE"]),
    ("sales", {"unit_price": "7"}, []),
    ("sales", {"channel": "Web"}, ["INVALID_CHANNEL"]),
    ("sales", {"channel": None}, ["INVALID_CHANNEL"]),
    (
        "sales",
        {"customer_id": None, "unit_price": "x", "channel": "fax"},
        ["MISSING_CUSTOMER_ID", "INVALID_PRICE", "INVALID_CHANNEL"],
    ),
    (
        "sales",
        {CORRUPT_COLUMN: "T-1,oops", "transaction_id": None, "timestamp": None},
        ["MALFORMED_ROW"],
    ),
    ("events", {}, []),
    ("events", {"event_id": None}, ["MISSING_EVENT_ID"]),
    ("events", {"timestamp": "2025-01-03T25:00:00"}, ["INVALID_TIMESTAMP"]),
    ("events", {"timestamp": "2099-01-03T10:00:00"}, ["FUTURE_TIMESTAMP"]),
    ("events", {"user_id": " "}, ["MISSING_USER_ID"]),
    ("events", {"event_type": "checkout"}, ["UNKNOWN_EVENT_TYPE"]),
    ("events", {"event_type": None}, ["UNKNOWN_EVENT_TYPE"]),
    ("events", {"device": "fridge"}, ["INVALID_DEVICE"]),
    ("events", {"device": None, "user_id": None}, ["MISSING_USER_ID", "INVALID_DEVICE"]),
    ("events", {CORRUPT_COLUMN: "[1, 2]", "event_id": None}, ["MALFORMED_JSON"]),
    ("logs", {}, []),
    ("logs", {"timestamp": "2025-02-30T10:00:00.123Z"}, ["INVALID_TIMESTAMP"]),
    ("logs", {"timestamp": "2025-01-03T10:00:00Z"}, ["INVALID_TIMESTAMP"]),
    ("logs", {"level": "warn"}, ["UNKNOWN_LEVEL"]),
    ("logs", {"level": "FATAL", "timestamp": "x"}, ["INVALID_TIMESTAMP", "UNKNOWN_LEVEL"]),
    ("logs", {"status": "99999999999"}, ["MALFORMED_LINE"]),
    ("logs", {CORRUPT_COLUMN: "garbage", "timestamp": None, "level": None}, ["MALFORMED_LINE"]),
    ("customers", {}, []),
    ("customers", {"name": None}, ["MISSING_NAME"]),
    ("customers", {"email": "ada.example.com"}, ["INVALID_EMAIL"]),
    ("customers", {"email": "ada@example"}, ["INVALID_EMAIL"]),
    ("customers", {"email": "a b@example.com"}, ["INVALID_EMAIL"]),
    ("customers", {"email": "a@b@example.com"}, ["INVALID_EMAIL"]),
    ("customers", {"email": None}, ["INVALID_EMAIL"]),
    ("customers", {"country": ""}, ["MISSING_COUNTRY"]),
    ("customers", {"segment": "premium"}, ["INVALID_SEGMENT"]),
    ("customers", {"name": " ", "segment": None}, ["MISSING_NAME", "INVALID_SEGMENT"]),
    ("products", {}, []),
    ("products", {"name": None}, ["MISSING_NAME"]),
    ("products", {"category": "  "}, ["MISSING_CATEGORY"]),
    ("products", {"list_price": "0.00"}, ["INVALID_PRICE"]),
    ("products", {"list_price": "-5.00"}, ["INVALID_PRICE"]),
    ("products", {"list_price": None}, ["INVALID_PRICE"]),
]


def bronze_rows(spark, dataset: str, rows: list[dict]):
    """Bronze-shaped rows (strings, lineage); ``_case`` numbers them."""
    fields = SOURCE_FIELDS[dataset]
    extras = [RESCUED_COLUMN, CORRUPT_COLUMN] if dataset in ("sales", "events", "logs") else []
    names = (*fields, *extras, "_source")
    schema = T.StructType(
        [T.StructField(n, T.StringType()) for n in names]
        + [
            T.StructField("_ingested_at", T.TimestampType()),
            T.StructField("_case", T.IntegerType()),
        ]
    )
    defaults = {"_source": "file:/x/a.csv"}
    data = [
        (*(row.get(n, defaults.get(n)) for n in names), INGESTED, case)
        for case, row in enumerate(rows)
    ]
    return spark.createDataFrame(data, schema)


@pytest.mark.parametrize("dataset", list(VALID))
def test_rules(spark, dataset: str) -> None:
    cases = [(overrides, expected) for d, overrides, expected in CASES if d == dataset]
    rows = [{**VALID[dataset], **overrides} for overrides, _ in cases]
    judged = judge(bronze_rows(spark, dataset, rows), CONTRACTS[dataset])
    got = {r["_case"]: r["reasons"] for r in judged.select("_case", "reasons").collect()}
    for case, (overrides, expected) in enumerate(cases):
        assert got[case] == expected, overrides


def test_every_code_has_a_case() -> None:
    covered = {code for _, _, expected in CASES for code in expected}
    deferred = {"UNKNOWN_CUSTOMER", "UNKNOWN_PRODUCT", "DUPLICATE"}
    for dataset, codes in REASONS_BY_DATASET.items():
        missing = {c.value for c in codes} - covered - deferred
        assert not missing, (dataset, missing)


def test_typed_values(spark) -> None:
    row = {**VALID["sales"], "unit_price": " 4.5 ", "channel": " web "}
    typed = judge(bronze_rows(spark, "sales", [row]), CONTRACTS["sales"]).first()["_typed"]
    assert str(typed["unit_price"]) == "4.50" and typed["channel"] == "web"
    assert typed["sold_at"] == dt.datetime(2025, 1, 3, 10, 0, 0)
    assert typed["date"] == dt.date(2025, 1, 3)


def test_references(spark) -> None:
    rows = [
        {**VALID["sales"], "transaction_id": "known"},
        {**VALID["sales"], "transaction_id": "no-customer", "customer_id": "999"},
        {**VALID["sales"], "transaction_id": "no-both", "customer_id": "999", "product_id": "98"},
        {**VALID["sales"], "transaction_id": "text-id", "customer_id": "abc"},
        {**VALID["sales"], "transaction_id": "missing", "customer_id": None},
        {**VALID["sales"], "transaction_id": "bad-too", "product_id": "98", "channel": "x"},
    ]
    judged = judge(bronze_rows(spark, "sales", rows), CONTRACTS["sales"])
    customers = spark.createDataFrame([(1,), (None,)], "customer_id int")
    products = spark.createDataFrame([(2,)], "product_id int")
    out = {
        r.transaction_id: r.reasons
        for r in with_reference_reasons(judged, customers, products).collect()
    }
    assert out == {
        "known": [],
        "no-customer": ["UNKNOWN_CUSTOMER"],
        "no-both": ["UNKNOWN_CUSTOMER", "UNKNOWN_PRODUCT"],
        "text-id": ["UNKNOWN_CUSTOMER"],
        "missing": ["MISSING_CUSTOMER_ID"],
        "bad-too": ["INVALID_CHANNEL", "UNKNOWN_PRODUCT"],
    }


def test_references_are_probed_in_broadcasts_whatever_their_size(spark) -> None:
    judged = judge(bronze_rows(spark, "sales", [VALID["sales"]]), CONTRACTS["sales"])
    customers = spark.createDataFrame([(1,)], "customer_id int")
    products = spark.createDataFrame([(2,)], "product_id int")
    # Spark would broadcast no table by its size: only the broadcast hints remain.
    with session_settings(spark, {"spark.sql.autoBroadcastJoinThreshold": "-1"}):
        checked = with_reference_reasons(judged, customers, products)
        plan = checked._jdf.queryExecution().executedPlan().toString()
        assert checked.first().reasons == []
    assert plan.count("ExistenceJoin") == 2
    assert plan.count("BroadcastHashJoin") == 2
    assert "SortMergeJoin" not in plan


def with_duplicate_reason(judged_df, key: str, existing_keys_df, raw_fields):
    """Silver's duplicate steps over judged rows, uncached: the contested keys, the flags,
    then ``mark_duplicates``; both branches of its result together."""
    hashes_df = record_key_hashes(judged_df, F.col(f"_typed.{key}"))
    contested_df = contested_keys(hashes_df, key, existing_keys_df)
    flagged_df = with_contested_flags(judged_df, key, contested_df)
    plain_df, contested_rows_df = mark_duplicates(flagged_df, key, raw_fields)
    return plain_df.unionByName(contested_rows_df)


def test_duplicates_keep_the_first_file_then_the_smallest_record(spark) -> None:
    v = VALID["sales"]
    rows = [
        {**v, "transaction_id": "A", "quantity": "5", "_source": "file:/in/b_2025-01-02.csv"},
        {**v, "transaction_id": "A", "quantity": "9", "_source": "file:/in/a_2025-01-01.csv"},
        {**v, "transaction_id": "A", "quantity": "1", "_source": "file:/in/a_2025-01-01.csv"},
        {**v, "transaction_id": "A", "quantity": "0", "_source": "file:/in/0_first.csv"},
        {**v, "transaction_id": "B", "_source": "file:/in/a.csv"},
        {**v, "transaction_id": "OLD", "_source": "file:/in/a.csv"},
        {**v, "transaction_id": "OLD", "quantity": "0", "_source": "file:/in/0.csv"},
        {**v, "transaction_id": None, "_source": "file:/in/a.csv"},
        {**v, "transaction_id": None, "_source": "file:/in/b.csv"},
    ]
    judged = judge(bronze_rows(spark, "sales", rows), CONTRACTS["sales"]).repartition(3)
    existing = spark.createDataFrame([("OLD",)], "transaction_id string")
    out = with_duplicate_reason(judged, "transaction_id", existing, SOURCE_FIELDS["sales"])
    got = sorted(
        (r.transaction_id or "", r.quantity, r._source.split("/")[-1], tuple(r.reasons))
        for r in out.collect()
    )
    assert got == sorted(
        [
            ("A", "5", "b_2025-01-02.csv", ("DUPLICATE",)),
            ("A", "9", "a_2025-01-01.csv", ("DUPLICATE",)),
            ("A", "1", "a_2025-01-01.csv", ()),  # first file, then the smaller record
            ("A", "0", "0_first.csv", ("INVALID_QUANTITY",)),  # fails a rule: not a candidate
            ("B", "3", "a.csv", ()),
            ("OLD", "3", "a.csv", ("DUPLICATE",)),  # already in silver
            ("OLD", "0", "0.csv", ("INVALID_QUANTITY",)),  # its own reason only
            ("", "3", "a.csv", ("MISSING_TRANSACTION_ID",)),
            ("", "3", "b.csv", ("MISSING_TRANSACTION_ID",)),
        ]
    )


@pytest.mark.parametrize("small_batch", [True, False])
def test_contested_keys_are_repeated_or_already_in_silver(spark, small_batch) -> None:
    v = VALID["sales"]
    keys = ["A", "A", "B", "OLD", "C", "C", "E"]
    rows = [{**v, "transaction_id": k, "_source": f"file:/in/{i}.csv"} for i, k in enumerate(keys)]
    # Records failing a rule count too: "D" is in silver, and "E" comes twice.
    rows.append({**v, "transaction_id": "D", "quantity": "0", "_source": "file:/in/x.csv"})
    rows.append({**v, "transaction_id": "E", "quantity": "0", "_source": "file:/in/y.csv"})
    rows.append({**v, "transaction_id": " ", "_source": "file:/in/z.csv"})  # no key
    rows.append({**v, "transaction_id": None, "_source": "file:/in/z.csv"})
    judged = judge(bronze_rows(spark, "sales", rows), CONTRACTS["sales"]).repartition(2)
    hashes_df = record_key_hashes(judged, F.col("_typed.transaction_id"))
    # Many earlier keys, one of which ("OLD") comes again.
    earlier = [(f"K{i}",) for i in range(5_000)] + [("OLD",), ("OLD",), ("D",)]
    existing = spark.createDataFrame(earlier, "transaction_id string")
    key_of = {
        r.h: r.k
        for r in spark.createDataFrame([(k,) for k in {*keys, "D"}], "k string")
        .select("k", F.xxhash64("k").alias("h"))
        .collect()
    }

    def contested(existing_df) -> list[tuple[str, list[str] | None]]:
        got = contested_keys(hashes_df, "transaction_id", existing_df, small_batch).collect()
        return sorted((key_of[r._hash], r._silver_keys) for r in got)

    assert contested(existing) == [
        ("A", None),
        ("C", None),
        ("D", ["D"]),
        ("E", None),
        ("OLD", ["OLD"]),
    ]
    # A first run: no earlier silver, only the repeated keys.
    assert contested(None) == [("A", None), ("C", None), ("E", None)]


def rows_scanned(df) -> tuple[int, int]:
    """Collect ``df`` (a filtered Parquet read), then (rows it holds, rows its scan read)."""
    held = len(df.collect())
    leaves = df._jdf.queryExecution().executedPlan().collectLeaves().iterator()
    scan = next(n for n in iter(leaves.next, None) if n.nodeName().startswith("Scan parquet"))
    return held, scan.metrics().apply("numOutputRows").value()


def test_earlier_keys_are_read_within_the_batch_s_range_only(spark, tmp_path) -> None:
    v = VALID["sales"]
    batch = ["d2-005", " d2-500 ", "d3-000 ", "d2-300", "  ", None]
    records = [{**v, "transaction_id": k, "_source": "file:/in/a.csv"} for k in batch]
    bronze = bronze_rows(spark, "sales", records)
    bounds = key_range(bronze, CONTRACTS["sales"].typed()["transaction_id"])
    keys = [k.strip() for k in batch if k and k.strip()]
    assert bounds == (min(keys), max(keys))
    # Earlier silver: a file per day, each day's keys sharing its prefix.
    days = {day: [f"d{day}-{n:03d}" for n in range(0, 1000, 5)] for day in (1, 2, 3, 4)}
    for day, day_keys in days.items():
        rows = [(k,) for k in day_keys]
        frame = spark.createDataFrame(rows, "transaction_id string").coalesce(1)
        frame.write.parquet(str(tmp_path / f"day={day}"))
    earlier = spark.read.schema("transaction_id string").parquet(
        *[str(tmp_path / f"day={day}") for day in days]
    )
    narrowed = keys_in_range(earlier, "transaction_id", bounds)
    low, high = bounds
    expected = sorted(k for day_keys in days.values() for k in day_keys if low <= k <= high)
    assert sorted(r.transaction_id for r in narrowed.collect()) == expected
    assert {"d2-005", "d3-000"} <= set(expected)  # both ends are kept
    # The reader skipped the files of days 1 and 4 from their statistics.
    assert rows_scanned(narrowed) == (len(expected), len(days[2]) + len(days[3]))
    assert keys_in_range(earlier, "transaction_id", None).count() == 0
    no_keys = bronze_rows(spark, "sales", [{**v, "transaction_id": " ", "_source": "file:/a"}])
    assert key_range(no_keys, CONTRACTS["sales"].typed()["transaction_id"]) is None


def test_a_key_sharing_a_contested_hash_is_ranked_alone(spark) -> None:
    v = VALID["sales"]
    rows = [
        {**v, "transaction_id": "B", "_source": "file:/in/a.csv"},
        {**v, "transaction_id": "C", "_source": "file:/in/a.csv"},
    ]
    judged = judge(bronze_rows(spark, "sales", rows), CONTRACTS["sales"])
    # A collision: silver holds another key with B's hash, and C's hash is repeated.
    contested = spark.createDataFrame(
        [("B", ["not-B"]), ("C", None)], "k string, _silver_keys array<string>"
    ).select(F.xxhash64("k").alias("_hash"), "_silver_keys")
    flagged = with_contested_flags(judged, "transaction_id", contested)
    plain_df, ranked_df = mark_duplicates(flagged, "transaction_id", SOURCE_FIELDS["sales"])
    assert plain_df.count() == 0
    got = sorted((r.transaction_id, list(r.reasons)) for r in ranked_df.collect())
    assert got == [("B", []), ("C", [])]


def test_raw_fields_are_kept_for_quarantine_and_contested_keys_only(spark) -> None:
    v = VALID["sales"]
    rows = [
        {**v, "transaction_id": "passes"},
        {**v, "transaction_id": "fails", "quantity": "0"},
        {**v, "transaction_id": "contested"},
    ]
    judged = judge(bronze_rows(spark, "sales", rows), CONTRACTS["sales"])
    flagged = judged.withColumn(
        "_hash", F.when(F.col("_typed.transaction_id") == "contested", F.lit(1))
    )
    out = {
        r._typed.transaction_id: r
        for r in without_unread_raw_fields(flagged, SOURCE_FIELDS["sales"]).collect()
    }
    assert all(out["passes"][name] is None for name in SOURCE_FIELDS["sales"])
    assert out["passes"]._typed.quantity == 3  # silver's columns are untouched
    for kept in ("fails", "contested"):
        assert [out[kept][name] for name in SOURCE_FIELDS["sales"]] == [
            {**v, "transaction_id": kept, "quantity": "0" if kept == "fails" else "3"}[name]
            for name in SOURCE_FIELDS["sales"]
        ]


def test_latest_version_per_key(spark) -> None:
    df = spark.createDataFrame(
        [
            (1, "old", dt.datetime(2025, 1, 1), "r1"),
            (1, "new", dt.datetime(2025, 2, 1), "r1"),
            (2, "a", dt.datetime(2025, 1, 1), "r1"),
            (2, "b", dt.datetime(2025, 1, 1), "r2"),
        ],
        "customer_id int, name string, updated_at timestamp, _run_id string",
    )
    out = {r.customer_id: r.name for r in latest_version_per_key(df, "customer_id").collect()}
    assert out == {1: "new", 2: "b"}
    assert F  # functions module used by the contracts under test


def test_reason_counts_match_the_exploded_reasons(spark) -> None:
    reasons = [[], ["MISSING_EVENT_ID", "INVALID_DEVICE"], ["INVALID_DEVICE"], ["DUPLICATE"]]
    df = spark.createDataFrame([(r,) for r in reasons], "reasons array<string>")
    counted = df.agg(*reason_counts("events")).first().asDict()
    exploded = df.select(F.explode("reasons").alias("code")).groupBy("code").count().collect()
    assert {code: n for code, n in counted.items() if n} == {r.code: r["count"] for r in exploded}
    assert set(counted) == {code.value for code in REASONS_BY_DATASET["events"]}


def test_timestamps_agree_with_python_s_parser(spark) -> None:
    texts = [
        "2025-01-03T10:00:00", "2024-02-29T23:59:59", "2023-02-29T12:00:00",
        "2025-02-30T10:00:00", "2025-04-31T10:00:00", "2025-13-01T00:00:00",
        "2025-00-10T00:00:00", "2025-01-00T00:00:00", "2025-01-01T24:00:00",
        "2025-01-01T00:60:00", "2025-01-01T23:59:60", "1000-06-15T12:00:00",
        "1582-10-10T00:00:00", "9999-12-31T23:59:59", " 2025-01-03T10:00:00 ",
    ]  # fmt: skip
    logs = [f"{text.strip()}.123Z" for text in texts]
    df = spark.createDataFrame(list(zip(texts, logs, strict=True)), "timestamp string, log string")
    typed = df.select(
        as_timestamp("timestamp", SOURCE_TIMESTAMP_TEXT).alias("source"),
        as_timestamp("log", LOG_TIMESTAMP_TEXT).alias("log"),
    ).collect()

    def parsed(text: str, fmt: str) -> dt.datetime | None:
        try:
            return dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            return None

    for text, log, row in zip(texts, logs, typed, strict=True):
        assert row.source == parsed(text, "%Y-%m-%dT%H:%M:%S"), text
        assert row.log == parsed(log, "%Y-%m-%dT%H:%M:%S.%fZ"), log
