"""One contract per dataset: typed columns, key, and the ordered rules (reason codes).

A rule is a ``(Reason, Column)`` pair whose column is true when the record FAILS it; the
rule's name is its reason code and the list order is the contract order of
``REASONS_BY_DATASET``. Rules read the bronze fields (strings) and ``_ingested_at``.
Reference rules (UNKNOWN_*) and DUPLICATE need other data and are applied by silver;
they are listed in ``DEFERRED``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F

from salesoptic.contracts.checks import (
    EMAIL_TEXT,
    LOG_TIMESTAMP_FORMAT,
    LOG_TIMESTAMP_TEXT,
    SOURCE_TIMESTAMP_FORMAT,
    SOURCE_TIMESTAMP_TEXT,
    as_integer,
    as_money,
    as_timestamp,
    clean,
    is_missing,
    not_one_of,
    not_positive,
)
from salesoptic.contracts.reasons import REASONS_BY_DATASET, Reason
from salesoptic.contracts.schemas import KEYS
from salesoptic.contracts.sources import CORRUPT_COLUMN

R = Reason
CHANNELS = ("web", "store", "mobile")
EVENT_TYPES = ("view", "click", "add_to_cart", "remove_from_cart", "purchase")
DEVICES = ("desktop", "mobile", "tablet")
LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")
SEGMENTS = ("Standard", "Premium", "Business")

DEFERRED = (R.UNKNOWN_CUSTOMER, R.UNKNOWN_PRODUCT, R.DUPLICATE)


@dataclass(frozen=True)
class Contract:
    """What silver needs to judge and type one dataset."""

    dataset: str
    key: tuple[str, ...]
    typed: Callable[[], dict[str, Column]]
    rules: Callable[[], list[tuple[Reason, Column]]]
    malformed: Reason | None = None

    @property
    def codes(self) -> tuple[Reason, ...]:
        return REASONS_BY_DATASET[self.dataset]


def _source_ts() -> Column:
    return as_timestamp("timestamp", SOURCE_TIMESTAMP_TEXT, SOURCE_TIMESTAMP_FORMAT)


def _future(ts: Column) -> Column:
    return F.coalesce(ts > F.col("_ingested_at"), F.lit(False))


# -- sales: one row per sale line (one order); key transaction_id ----------------------


def _sales_typed() -> dict[str, Column]:
    sold_at = _source_ts()
    return {
        "transaction_id": clean("transaction_id"),
        "sold_at": sold_at,
        "customer_id": as_integer("customer_id"),
        "product_id": as_integer("product_id"),
        "quantity": as_integer("quantity"),
        "unit_price": as_money("unit_price"),
        "channel": clean("channel"),
        "date": F.to_date(sold_at),
    }


def _sales_rules() -> list[tuple[Reason, Column]]:
    ts = _source_ts()
    return [
        (R.MISSING_TRANSACTION_ID, is_missing("transaction_id")),
        (R.INVALID_TIMESTAMP, ts.isNull()),
        (R.FUTURE_TIMESTAMP, _future(ts)),
        (R.MISSING_CUSTOMER_ID, is_missing("customer_id")),
        (R.MISSING_PRODUCT_ID, is_missing("product_id")),
        (R.INVALID_QUANTITY, not_positive(as_integer("quantity"))),
        (R.INVALID_PRICE, not_positive(as_money("unit_price"))),
        (R.INVALID_CHANNEL, not_one_of("channel", CHANNELS)),
    ]


# -- events: one row per clickstream event; key event_id -------------------------------


def _events_typed() -> dict[str, Column]:
    occurred_at = _source_ts()
    return {
        "event_id": clean("event_id"),
        "occurred_at": occurred_at,
        "user_id": clean("user_id"),
        "session_id": clean("session_id"),
        "event_type": clean("event_type"),
        "product_id": as_integer("product_id"),
        "device": clean("device"),
        "date": F.to_date(occurred_at),
    }


def _events_rules() -> list[tuple[Reason, Column]]:
    ts = _source_ts()
    return [
        (R.MISSING_EVENT_ID, is_missing("event_id")),
        (R.INVALID_TIMESTAMP, ts.isNull()),
        (R.FUTURE_TIMESTAMP, _future(ts)),
        (R.MISSING_USER_ID, is_missing("user_id")),
        (R.UNKNOWN_EVENT_TYPE, not_one_of("event_type", EVENT_TYPES)),
        (R.INVALID_DEVICE, not_one_of("device", DEVICES)),
    ]


# -- logs: one row per log line; no key ------------------------------------------------


def _log_ts() -> Column:
    return as_timestamp("timestamp", LOG_TIMESTAMP_TEXT, LOG_TIMESTAMP_FORMAT)


def _logs_typed() -> dict[str, Column]:
    logged_at = _log_ts()
    return {
        "logged_at": logged_at,
        "level": clean("level"),
        "service": clean("service"),
        "status": as_integer("status"),
        "latency_ms": as_integer("latency_ms"),
        "msg": F.col("msg"),  # the message as written, spaces included
        "date": F.to_date(logged_at),
    }


def _logs_rules() -> list[tuple[Reason, Column]]:
    return [
        (R.INVALID_TIMESTAMP, _log_ts().isNull()),
        (R.UNKNOWN_LEVEL, not_one_of("level", LEVELS)),
    ]


def _logs_malformed() -> Column:
    """Not in the format, or a status or latency too large to be one (beyond 32 bits)."""
    return (
        F.col(CORRUPT_COLUMN).isNotNull()
        | as_integer("status").isNull()
        | as_integer("latency_ms").isNull()
    )


# -- customers: one row per customer; key customer_id ----------------------------------


def _customers_typed() -> dict[str, Column]:
    return {
        "customer_id": as_integer("customer_id"),
        "name": clean("name"),
        "email": clean("email"),
        "country": clean("country"),
        "segment": clean("segment"),
        "signup_date": clean("signup_date").try_cast("date"),
        "updated_at": clean("updated_at").try_cast("timestamp"),
    }


def _customers_rules() -> list[tuple[Reason, Column]]:
    return [
        (R.MISSING_NAME, is_missing("name")),
        (R.INVALID_EMAIL, ~F.coalesce(clean("email").rlike(EMAIL_TEXT), F.lit(False))),
        (R.MISSING_COUNTRY, is_missing("country")),
        (R.INVALID_SEGMENT, not_one_of("segment", SEGMENTS)),
    ]


# -- products: one row per product; key product_id -------------------------------------


def _products_typed() -> dict[str, Column]:
    return {
        "product_id": as_integer("product_id"),
        "name": clean("name"),
        "category": clean("category"),
        "list_price": clean("list_price").try_cast("decimal(18,2)"),
        "updated_at": clean("updated_at").try_cast("timestamp"),
    }


def _products_rules() -> list[tuple[Reason, Column]]:
    return [
        (R.MISSING_NAME, is_missing("name")),
        (R.MISSING_CATEGORY, is_missing("category")),
        (R.INVALID_PRICE, not_positive(clean("list_price").try_cast("decimal(18,2)"))),
    ]


CONTRACTS: dict[str, Contract] = {
    "sales": Contract("sales", KEYS["sales"], _sales_typed, _sales_rules, R.MALFORMED_ROW),
    "events": Contract("events", KEYS["events"], _events_typed, _events_rules, R.MALFORMED_JSON),
    "logs": Contract("logs", KEYS["logs"], _logs_typed, _logs_rules, R.MALFORMED_LINE),
    "customers": Contract("customers", KEYS["customers"], _customers_typed, _customers_rules),
    "products": Contract("products", KEYS["products"], _products_typed, _products_rules),
}


def malformed_condition(contract: Contract) -> Column | None:
    """When a record cannot be split into fields at all (it then gets that code alone)."""
    if contract.malformed is None:
        return None
    if contract.dataset == "logs":
        return _logs_malformed()
    return F.col(CORRUPT_COLUMN).isNotNull()
