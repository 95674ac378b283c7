"""An independent judge of generated data, written from DESIGN sections 3 and 5 only.

It shares no code with the generator: plain Python parsing (csv, json, re, datetime)
decides every record's reason codes, so the generator's ground truth can be checked.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pytest

from salesoptic.contracts.reasons import REASONS_BY_DATASET

SALES_COLUMNS = [
    "transaction_id", "timestamp", "customer_id", "product_id", "quantity", "unit_price", "channel"
]  # fmt: skip
CHANNELS = {"web", "store", "mobile"}
EVENT_TYPES = {"view", "click", "add_to_cart", "remove_from_cart", "purchase"}
DEVICES = {"desktop", "mobile", "tablet"}
LEVELS = {"DEBUG", "INFO", "WARN", "ERROR"}
SEGMENTS = {"Standard", "Premium", "Business"}
LOG_LINE = re.compile(
    r'^(\S+) (\S+) ([A-Za-z][A-Za-z0-9]*) status=(\d+) latency_ms=(\d+) msg="(.*)"$'
)
SOURCE_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
LOG_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
INTEGER = re.compile(r"^[+-]?\d+$")
DECIMAL = re.compile(r"^[+-]?\d+(\.\d{1,2})?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]*\.[^@\s]*$")
DATASET_FOLDERS = {"sales": "sales", "events": "events", "logs": "logs"}


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def parse_ts(text: object, log: bool = False) -> dt.datetime | None:
    """The timestamp if it is a real date-time in exactly the source's format."""
    if not isinstance(text, str) or not (LOG_TS if log else SOURCE_TS).match(text):
        return None
    try:
        return dt.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None


def ordered(dataset: str, codes: set[str]) -> list[str]:
    return [c.value for c in REASONS_BY_DATASET[dataset] if c.value in codes]


def judge_customers(rows: Iterable[tuple]) -> dict[str, list[str]]:
    """customer_id -> codes, for rows (customer_id, name, email, country, segment, ...)."""
    out = {}
    for cid, name, email, country, segment, *_ in rows:
        codes = set()
        if blank(name):
            codes.add("MISSING_NAME")
        if email is None or not EMAIL.match(email):
            codes.add("INVALID_EMAIL")
        if blank(country):
            codes.add("MISSING_COUNTRY")
        if segment not in SEGMENTS:
            codes.add("INVALID_SEGMENT")
        out[str(cid)] = ordered("customers", codes)
    return out


def judge_products(rows: Iterable[tuple]) -> dict[str, list[str]]:
    """product_id -> codes, for rows (product_id, name, category, list_price, ...)."""
    out = {}
    for pid, name, category, price, *_ in rows:
        codes = set()
        if blank(name):
            codes.add("MISSING_NAME")
        if blank(category):
            codes.add("MISSING_CATEGORY")
        if price is None or Decimal(price) <= 0:
            codes.add("INVALID_PRICE")
        out[str(pid)] = ordered("products", codes)
    return out


def _sales_codes(fields: list[str], now: dt.datetime, customers: set[int], products: set[int]):
    if len(fields) != len(SALES_COLUMNS):
        return {"MALFORMED_ROW"}, None
    row = dict(zip(SALES_COLUMNS, fields, strict=True))
    codes = set()
    if blank(row["transaction_id"]):
        codes.add("MISSING_TRANSACTION_ID")
    ts = parse_ts(row["timestamp"])
    if ts is None:
        codes.add("INVALID_TIMESTAMP")
    elif ts > now:
        codes.add("FUTURE_TIMESTAMP")
    for name, missing, unknown, valid in (
        ("customer_id", "MISSING_CUSTOMER_ID", "UNKNOWN_CUSTOMER", customers),
        ("product_id", "MISSING_PRODUCT_ID", "UNKNOWN_PRODUCT", products),
    ):
        if blank(row[name]):
            codes.add(missing)
        elif INTEGER.match(row[name]) and int(row[name]) not in valid:
            codes.add(unknown)
    if not INTEGER.match(row["quantity"]) or int(row["quantity"]) <= 0:
        codes.add("INVALID_QUANTITY")
    if not DECIMAL.match(row["unit_price"]) or Decimal(row["unit_price"]) <= 0:
        codes.add("INVALID_PRICE")
    if row["channel"] not in CHANNELS:
        codes.add("INVALID_CHANNEL")
    return codes, row["transaction_id"]


def _event_codes(line: str, now: dt.datetime):
    try:
        obj = json.loads(line)
    except ValueError:
        return {"MALFORMED_JSON"}, None
    if not isinstance(obj, dict):
        return {"MALFORMED_JSON"}, None
    codes = set()
    if blank(obj.get("event_id")):
        codes.add("MISSING_EVENT_ID")
    ts = parse_ts(obj.get("timestamp"))
    if ts is None:
        codes.add("INVALID_TIMESTAMP")
    elif ts > now:
        codes.add("FUTURE_TIMESTAMP")
    if blank(obj.get("user_id")):
        codes.add("MISSING_USER_ID")
    if obj.get("event_type") not in EVENT_TYPES:
        codes.add("UNKNOWN_EVENT_TYPE")
    if obj.get("device") not in DEVICES:
        codes.add("INVALID_DEVICE")
    return codes, obj.get("event_id")


def _log_codes(line: str):
    match = LOG_LINE.match(line)
    if not match:
        return {"MALFORMED_LINE"}, None
    codes = set()
    if parse_ts(match.group(1), log=True) is None:
        codes.add("INVALID_TIMESTAMP")
    if match.group(2) not in LEVELS:
        codes.add("UNKNOWN_LEVEL")
    return codes, None


def records(path: Path, dataset: str) -> list[str]:
    """A file's records: its lines without line ends (and without the CSV header)."""
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and "\r" not in text
    lines = text[:-1].split("\n")
    if dataset == "sales":
        assert lines[0] == ",".join(SALES_COLUMNS)
        return lines[1:]
    return lines


def judge_files(
    source_dir: Path, customers: set[int], products: set[int]
) -> dict[tuple[str, int], list[str]]:
    """(source, record_index) -> codes for every record of the landing zone.

    DUPLICATE follows DESIGN section 5: among records passing every other rule, per key
    the one from the file whose name sorts first (then the smallest raw text) is kept.
    """
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    verdicts: dict[tuple[str, int], set[str]] = {}
    for dataset, folder in DATASET_FOLDERS.items():
        candidates: dict[str, list[tuple[str, str, int]]] = {}
        for path in sorted((source_dir / folder).iterdir(), key=lambda p: p.name):
            if path.name.startswith("."):
                continue
            source = f"{folder}/{path.name}"
            for index, raw in enumerate(records(path, dataset)):
                if dataset == "sales":
                    codes, key = _sales_codes(next(csv.reader([raw])), now, customers, products)
                elif dataset == "events":
                    codes, key = _event_codes(raw, now)
                else:
                    codes, key = _log_codes(raw)
                verdicts[(source, index)] = codes
                if not codes and key is not None:
                    candidates.setdefault(str(key), []).append((source, raw, index))
        for copies in candidates.values():
            kept = min(copies, key=lambda c: (c[0], c[1]))
            for copy in copies:
                if copy is not kept:
                    verdicts[(copy[0], copy[2])].add("DUPLICATE")
    return {k: ordered(k[0].split("/")[0], v) for k, v in verdicts.items()}


@pytest.fixture
def judge():
    """The independent judge's functions."""

    class Judge:
        files = staticmethod(judge_files)
        customers = staticmethod(judge_customers)
        products = staticmethod(judge_products)
        records = staticmethod(records)

    return Judge
