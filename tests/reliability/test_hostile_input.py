"""Hostile input: every case ends as silver rows or quarantine rows with the reasons of
DESIGN section 5 (or a clear error), never a crash, a hang or a silently lost record.

All cases live in one landing zone and go through one real run (`run_pipeline`, in
process, on the session's Spark and a PostgreSQL database of their own), so the cases
also prove that one hostile file cannot spoil the others. Each case is its own file; its
records are found in silver and quarantine by their ``_source`` file name.

The expected outcome of each record is written here from the rules of DESIGN section 5,
not from running the code: ``()`` means the record is valid (silver), otherwise the
tuple is the reasons in contract order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

import psycopg
import pytest

from salesoptic.config import load_settings
from salesoptic.pipeline.runner import run_pipeline

from .support import (
    assert_accounting,
    assert_no_duplicate_keys,
    bronze_count_by_file,
    gold_snapshot,
    load_dimensions,
    make_database,
    outcomes_by_file,
    quarantine_rows,
    run_records,
    silver_rows,
)

H = b"transaction_id,timestamp,customer_id,product_id,quantity,unit_price,channel"
TS = "2025-01-03T10:00:00"
LOG_TS = "2025-01-03T10:00:00.123Z"
MB = 1 << 20


def sale(tid: str, ts: str = TS, cust: str = "1", prod: str = "1", qty: str = "3",
         price: str = "4.50", channel: str = "web") -> bytes:  # fmt: skip
    return ",".join([tid, ts, cust, prod, qty, price, channel]).encode()


def csv(*lines: bytes, header: bytes = H, end: bytes = b"\n") -> bytes:
    return end.join([header, *lines]) + end


def event(eid: str, **overrides: str) -> bytes:
    """A JSON line; values are given as JSON text (so wrong types can be written)."""
    fields = {
        "event_id": f'"{eid}"', "timestamp": f'"{TS}"', "user_id": "17",
        "session_id": '"s-1"', "event_type": '"view"', "product_id": "1",
        "device": '"mobile"',
    }  # fmt: skip
    fields.update(overrides)
    return ("{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}").encode()


def log(ts: str = LOG_TS, level: str = "INFO", service: str = "Api", status: str = "200",
        latency: str = "12", msg: str = "ok") -> bytes:  # fmt: skip
    return f'{ts} {level} {service} status={status} latency_ms={latency} msg="{msg}"'.encode()


def lines(*records: bytes) -> bytes:
    return b"\n".join(records) + b"\n"


def ok(n: int = 1) -> Counter:
    return Counter({(): n})


def q(*reasons: str, n: int = 1) -> Counter:
    return Counter({tuple(reasons): n})


@dataclass(frozen=True)
class Case:
    id: str
    dataset: str
    file: str
    content: bytes
    expected: Counter  # outcome -> records; empty Counter: the file holds no record


BIG = "x" * (10 * MB)
LONG = "y" * 100_000
HTML = "<script>alert('x')</script>"
SQL = "'; DROP TABLE customers; --"

# fmt: off
CASES = [
    # -- sales (CSV) ---------------------------------------------------------------
    Case("empty file", "sales", "s01.csv", b"", Counter()),
    Case("header only", "sales", "s02.csv", H + b"\n", Counter()),
    Case("UTF-8 BOM", "sales", "s03.csv", b"\xef\xbb\xbf" + csv(sale("S03")), ok()),
    Case("CRLF line ends", "sales", "s04.csv", csv(sale("S04a"), sale("S04b"), end=b"\r\n"),
         ok(2)),
    # Latin-1 bytes in a UTF-8 file: `café` is not one of the channels; an id is any text.
    Case("Latin-1 bytes", "sales", "s05.csv",
         csv(sale("S05a", channel="caf\xe9"), sale("S05b")).replace(b"caf\xc3\xa9", b"caf\xe9"),
         q("INVALID_CHANNEL") + ok()),
    # Junk lines without separators: one field where the header has seven.
    Case("binary junk", "sales", "s06.csv",
         csv(b"\x00\x01\x02\xff\xfe\x80junk", b"\x7f\x1b[31m\x00\x00"),
         q("MALFORMED_ROW", n=2)),
    Case("10 MB single line", "sales", "s07.csv", csv(sale("S07", channel=BIG)),
         q("INVALID_CHANNEL")),
    Case("quoted commas, quotes, newlines", "sales", "s08.csv",
         csv(sale('"S08,a"'), sale('"S08\nb"'), sale('"S08""c"""'),
             sale("S08d", price='"4.50"', channel='"web"')),
         ok(4)),
    Case("extra column", "sales", "s09.csv", csv(sale("S09") + b",SPRING", header=H + b",promo"),
         ok()),
    # Without the columns quantity and channel: both are absent, so both rules fail.
    Case("missing columns", "sales", "s10.csv",
         csv(b"S10,2025-01-03T10:00:00,1,1,4.50",
             header=b"transaction_id,timestamp,customer_id,product_id,unit_price"),
         q("INVALID_QUANTITY", "INVALID_CHANNEL")),
    Case("reordered columns", "sales", "s11.csv",
         csv(b"web,4.50,3,1,1,2025-01-03T10:00:00,S11",
             header=b"channel,unit_price,quantity,product_id,customer_id,timestamp,"
                    b"transaction_id"),
         ok()),
    Case("field count differs from header", "sales", "s12.csv",
         csv(b"S12a,2025-01-03T10:00:00,1,1,3,4.50", sale("S12b") + b",extra"),
         q("MALFORMED_ROW", n=2)),
    Case("thousands separators, decimal commas", "sales", "s13.csv",
         csv(sale("S13a", price='"1,234.00"'), sale("S13b", price='"4,50"'),
             sale("S13c", qty='"1,000"'), sale("S13d", qty="1 000"), sale("S13e", price="4.505")),
         q("INVALID_PRICE", n=3) + q("INVALID_QUANTITY", n=2)),
    Case("NaN and Infinity", "sales", "s14.csv",
         csv(sale("S14a", price="NaN"), sale("S14b", price="Infinity"),
             sale("S14c", qty="NaN"), sale("S14d", price="-Infinity"), sale("S14e", qty="1e3")),
         q("INVALID_PRICE", n=3) + q("INVALID_QUANTITY", n=2)),
    # Integers beyond 32 bits are not integers of the contract's types: an id that is
    # present but not an integer refers to no customer (UNKNOWN), a quantity is invalid.
    Case("huge integers", "sales", "s15.csv",
         csv(sale("S15a", qty="99999999999999999999"),
             sale("S15b", cust="99999999999999999999"),
             sale("S15c", price="99999999999999999999.99"),
             sale("S15d", qty="2147483647", price="1.00")),
         q("INVALID_QUANTITY") + q("UNKNOWN_CUSTOMER") + q("INVALID_PRICE") + ok()),
    Case("impossible and ill-formatted timestamps", "sales", "s16.csv",
         csv(sale("S16a", ts="2025-02-30T10:00:00"), sale("S16b", ts="2025-03-01"),
             sale("S16c", ts="2025-03-01 10:00:00"), sale("S16d", ts="2025-01-03T25:00:00"),
             sale("S16e", ts="2024-02-29T10:00:00")),
         q("INVALID_TIMESTAMP", n=4) + ok()),
    Case("timestamps with offsets", "sales", "s17.csv",
         csv(sale("S17a", ts="2025-01-03T10:00:00+02:00"), sale("S17b", ts="2025-01-03T10:00:00Z"),
             sale("S17c", ts="2025-01-03T10:00:00.000")),
         q("INVALID_TIMESTAMP", n=3)),
    Case("future timestamp", "sales", "s18.csv", csv(sale("S18", ts="2999-01-01T00:00:00")),
         q("FUTURE_TIMESTAMP")),
    Case("negative zero and signs", "sales", "s19.csv",
         csv(sale("S19a", qty="-0"), sale("S19b", price="-0.00"), sale("S19c", price="0"),
             sale("S19d", qty="-3"), sale("S19e", qty="+3", price="+4.50")),
         q("INVALID_QUANTITY", n=2) + q("INVALID_PRICE", n=2) + ok()),
    Case("very long strings", "sales", "s20.csv",
         csv(sale("S20" + LONG), sale("S20b", channel=LONG)),
         ok() + q("INVALID_CHANNEL")),
    Case("SQL and HTML text in fields", "sales", "s21.csv",
         csv(sale('"' + SQL + '"'), sale("S21b", channel=HTML.replace("'", ""))),
         ok() + q("INVALID_CHANNEL")),
    # Blank, absent, unknown and non-integer ids; a key repeated after trimming.
    Case("missing, unknown and duplicate ids", "sales", "s22.csv",
         csv(sale("", cust="", prod=""), sale("S22b", cust="999"), sale("S22c", prod="abc"),
             sale(" S22d"), sale("S22d"), sale("S22e", cust="  ")),
         q("MISSING_TRANSACTION_ID", "MISSING_CUSTOMER_ID", "MISSING_PRODUCT_ID")
         + q("UNKNOWN_CUSTOMER") + q("UNKNOWN_PRODUCT") + ok() + q("DUPLICATE")
         + q("MISSING_CUSTOMER_ID")),
    Case("blank lines and no final newline", "sales", "s23.csv",
         H + b"\n\n" + sale("S23a") + b"\n   \n\n" + sale("S23b"), ok(2)),
    Case("duplicated header name, spaces in header", "sales", "s24.csv",
         csv(sale("S24") + b",store",
             header=b" transaction_id , timestamp,customer_id,product_id,quantity,unit_price,"
                    b"channel,channel"),
         ok()),
    Case("unknown channel case", "sales", "s25.csv", csv(sale("S25", channel="Web")),
         q("INVALID_CHANNEL")),
    # -- events (JSON lines) -------------------------------------------------------
    Case("JSON arrays instead of objects", "events", "e01.json",
         lines(b"[" + event("E01a") + b"]", b"[1, 2, 3]", b"[]"),
         q("MALFORMED_JSON", n=3)),
    Case("JSON scalars", "events", "e02.json", lines(b"42", b'"text"', b"null", b"true"),
         q("MALFORMED_JSON", n=4)),
    Case("broken JSON, trailing text, two objects", "events", "e03.json",
         lines(b'{"event_id": "E03a"', event("E03b") + b" trailing", event("E03c") + event("E03d"),
               b"{'event_id': 'E03e'}"),
         q("MALFORMED_JSON", n=4)),
    # Nested values are kept as JSON text; an unknown nested field is rescued. Nesting
    # beyond the JSON parser's limit (1000 levels) cannot be split into fields at all.
    Case("nested garbage", "events", "e04.json",
         lines(event("E04a", extra='{"deep": [[[{"x": null}]]], "more": {"a": {"b": {}}}}'),
               event("E04b", device='{"kind": "mobile"}'),
               b'{"a": ' + b"[" * 2000 + b"]" * 2000 + b"}"),
         ok() + q("INVALID_DEVICE") + q("MALFORMED_JSON")),
    Case("wrong JSON types", "events", "e05.json",
         lines(event("E05a", user_id="true"), event("E05b", user_id="null"),
               event("E05c", event_type="1"), event("E05d", device='["mobile"]'),
               event("E05e", timestamp="1735898400"), event("E05f", product_id='"abc"')),
         ok() + q("MISSING_USER_ID") + q("UNKNOWN_EVENT_TYPE") + q("INVALID_DEVICE")
         + q("INVALID_TIMESTAMP") + ok()),
    Case("NaN and Infinity in JSON", "events", "e06.json",
         lines(event("E06a", product_id="NaN"), event("E06b", user_id="Infinity")),
         q("MALFORMED_JSON", n=2)),
    # Kept as their text; a number longer than the parser's limit (1000 digits) is not
    # JSON the parser can split.
    Case("huge numbers in JSON", "events", "e07.json",
         lines(event("E07a", user_id="1" * 30), event("E07b", product_id="9" * 30),
               event("E07c", user_id="1" * 5000)),
         ok(2) + q("MALFORMED_JSON")),
    Case("event timestamps", "events", "e08.json",
         lines(event("E08a", timestamp='"2025-02-30T10:00:00"'),
               event("E08b", timestamp='"2025-01-03T10:00:00+01:00"'),
               event("E08c", timestamp='"2999-01-01T00:00:00"')),
         q("INVALID_TIMESTAMP", n=2) + q("FUTURE_TIMESTAMP")),
    Case("empty object", "events", "e09.json", lines(b"{}"),
         q("MISSING_EVENT_ID", "INVALID_TIMESTAMP", "MISSING_USER_ID", "UNKNOWN_EVENT_TYPE",
           "INVALID_DEVICE")),
    Case("JSON with BOM and CRLF", "events", "e10.json",
         b"\xef\xbb\xbf" + event("E10a") + b"\r\n" + event("E10b") + b"\r\n", ok(2)),
    Case("Latin-1 and binary bytes in JSON", "events", "e11.json",
         lines(event("E11a", device='"mobil\xe9"').replace(b"\xc3\xa9", b"\xe9"),
               b"\x00\x01\xff binary \x80"),
         q("INVALID_DEVICE") + q("MALFORMED_JSON")),
    # Which value would count? Keeping one would lose the other: not one clean object.
    Case("repeated keys in one object", "events", "e12.json",
         lines(event("E12a").replace(b"{", b'{"event_id": "E12b", ', 1)),
         q("MALFORMED_JSON")),
    Case("SQL and HTML text in JSON", "events", "e13.json",
         lines(event("E13a", session_id='"' + HTML + '"'), event("E13b", event_type=f'"{SQL}"')),
         ok() + q("UNKNOWN_EVENT_TYPE")),
    # -- logs (text) ---------------------------------------------------------------
    Case("log lines: format, levels, timestamps", "logs", "l01.log",
         lines(log(), log(level="error"), log(ts="2025-02-30T10:00:00.000Z"),
               log(ts="2025-01-03T10:00:00.000+01:00"), log(ts="2025-01-03T10:00:00Z"),
               b"just some text", log(status="-1"), log(status="99999999999")),
         ok() + q("UNKNOWN_LEVEL") + q("INVALID_TIMESTAMP", n=3) + q("MALFORMED_LINE", n=3)),
    Case("log with BOM, CRLF, blank lines, binary", "logs", "l02.log",
         b"\xef\xbb\xbf" + log() + b"\r\n\r\n  \r\n" + log(msg=HTML) + b"\r\n\x00\xff\xfe\r\n",
         ok(2) + q("MALFORMED_LINE")),
    Case("log message with quotes and a 1 MB text", "logs", "l03.log",
         lines(log(msg='say "hi" ' + SQL), log(msg="z" * MB)), ok(2)),
]

CUSTOMERS = [
    (1, "Robert'); DROP TABLE customers;--", "bobby@example.com", "<b>FR</b>", "Standard",
     date(2024, 1, 1), datetime(2024, 1, 1, tzinfo=timezone.utc)),
    (2, '<script>alert("pwned")</script> & <img src=x onerror=alert(1)>', "x@example.org",
     "Ünïcødé 🎉 \u202eRTL", "Premium", date(2024, 1, 1),
     datetime(2024, 1, 1, tzinfo=timezone.utc)),
    (3, "   ", "not an email", "", "premium", None, None),
]
PRODUCTS = [
    (1, "<b>Bold</b> & \"quotes\" 'single'", "'; DELETE FROM products; --", Decimal("4.50"),
     datetime(2024, 1, 1, tzinfo=timezone.utc)),
    (2, "Widget " + "w" * 10_000, "=1+2;cmd|' /C calc'!A0", Decimal("1.00"), None),
    (3, None, " ", Decimal("0.00"), None),
]
DIMENSION_EXPECTED = {
    "customers": ok(2) + q("MISSING_NAME", "INVALID_EMAIL", "MISSING_COUNTRY", "INVALID_SEGMENT"),
    "products": ok(2) + q("MISSING_NAME", "MISSING_CATEGORY", "INVALID_PRICE"),
}
# One sale per customer and product with hostile names, so they reach gold.
NAME_SALES = Case("sales of hostile-named customers", "sales", "s99.csv",
                  csv(sale("S99a", cust="2", prod="2")), ok())
# fmt: on


@pytest.fixture(scope="module")
def hostile_run(spark, pg, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("hostile")
    db = make_database(pg, "reliability_hostile")
    load_dimensions(db, CUSTOMERS, PRODUCTS)
    for case in [*CASES, NAME_SALES]:
        folder = data_dir / "source" / case.dataset
        folder.mkdir(parents=True, exist_ok=True)
        (folder / case.file).write_bytes(case.content)
    run_id, results = run_pipeline(load_settings(data_dir=data_dir, pg_url=db.url))
    return data_dir, db, run_id, results


def test_there_are_at_least_30_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.file for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_ends_in_silver_or_quarantine_with_the_design_reasons(hostile_run, case) -> None:
    data_dir = hostile_run[0]
    outcome = outcomes_by_file(data_dir, case.dataset).get(case.file, Counter())
    assert outcome == case.expected
    # Nothing silently lost or invented between the file and bronze either.
    assert bronze_count_by_file(data_dir, case.dataset)[case.file] == sum(case.expected.values())


def test_the_run_succeeds_and_its_accounting_holds(hostile_run) -> None:
    data_dir, _, run_id, _ = hostile_run
    figures = assert_accounting(data_dir)
    assert_no_duplicate_keys(data_dir)
    expected_total = sum(sum(c.expected.values()) for c in [*CASES, NAME_SALES])
    assert sum(b for b, _, _ in figures.values()) == expected_total
    [record] = run_records(data_dir)
    assert (record["run_id"], record["status"]) == (run_id, "succeeded")
    for row in record["quality"]:
        assert row["rows_in"] == row["rows_valid"] + row["rows_quarantined"]


def test_malformed_records_keep_their_text(hostile_run) -> None:
    data_dir = hostile_run[0]
    corrupt = [r["_corrupt_record"] for r in quarantine_rows(data_dir, "events")]
    assert "[1, 2, 3]" in corrupt and '"text"' in corrupt
    ten_mb = [r for r in quarantine_rows(data_dir, "sales") if r["transaction_id"] == "S07"]
    assert len(ten_mb[0]["channel"]) == len(BIG)


def test_typed_values_are_the_intended_ones(hostile_run) -> None:
    data_dir = hostile_run[0]
    sales = {r["transaction_id"]: r for r in silver_rows(data_dir, "sales")}
    assert {"S08,a", "S08\nb", 'S08"c"', "S08d", "S03", "S04a", "S11", "S24", SQL} <= set(sales)
    reordered = sales["S11"]
    assert (reordered["quantity"], reordered["unit_price"], reordered["channel"]) == (
        3, Decimal("4.50"), "web",
    )  # fmt: skip
    assert sales["S04a"]["channel"] == "web"  # no carriage return left
    assert sales["S24"]["channel"] == "web"  # the first of a repeated column
    assert sales["S19e"]["quantity"] == 3 and sales["S19e"]["unit_price"] == Decimal("4.50")
    assert sales["S15d"]["quantity"] == 2147483647


def test_dimensions_with_hostile_text(hostile_run) -> None:
    data_dir = hostile_run[0]
    for dataset, expected in DIMENSION_EXPECTED.items():
        outcome = Counter({(): len(silver_rows(data_dir, dataset))})
        outcome.update(tuple(r["reasons"]) for r in quarantine_rows(data_dir, dataset))
        assert outcome == expected, dataset


def test_hostile_names_reach_gold_as_exact_text(hostile_run) -> None:
    data_dir, db, _, _ = hostile_run
    gold = gold_snapshot(data_dir)
    names = {row[0]: row[1] for row in gold["customer_value"]}
    assert names[1] == CUSTOMERS[0][1] and names[2] == CUSTOMERS[1][1]
    countries = {row[0] for row in gold["sales_by_country"]}
    assert {CUSTOMERS[0][3], CUSTOMERS[1][3]} <= countries
    products = {row[0]: (row[1], row[2]) for row in gold["sales_by_product"]}
    assert products[1] == (PRODUCTS[0][1], PRODUCTS[0][2])
    assert products[2] == (PRODUCTS[1][1], PRODUCTS[1][2])
    with psycopg.connect(db.url) as conn:  # the SQL-looking text was never executed
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == len(CUSTOMERS)
        assert conn.execute("SELECT count(*) FROM products").fetchone()[0] == len(PRODUCTS)


def test_a_rerun_changes_nothing(hostile_run) -> None:
    data_dir, db, _, _ = hostile_run
    before = gold_snapshot(data_dir)
    bronze_before = {d: bronze_count_by_file(data_dir, d) for d in ("sales", "events", "logs")}
    silver_before = {d: len(silver_rows(data_dir, d)) for d in ("sales", "events", "logs")}
    run_pipeline(load_settings(data_dir=data_dir, pg_url=db.url))
    assert gold_snapshot(data_dir) == before
    for dataset in ("sales", "events", "logs"):
        assert bronze_count_by_file(data_dir, dataset) == bronze_before[dataset]
        assert len(silver_rows(data_dir, dataset)) == silver_before[dataset]
