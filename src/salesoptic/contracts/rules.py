"""One contract per dataset: typed columns, key, and the ordered rules (reason codes).

A rule is a ``(Reason, Column)`` pair whose column is true when the record FAILS it; the
rule's name is its reason code and the list order is the contract order of
``REASONS_BY_DATASET``. Rules read the bronze fields (strings) and ``_ingested_at``.
Rules are given the typed columns (``t``), so each raw value is parsed once per record
whatever the number of rules that read it. Reference rules (UNKNOWN_*) and DUPLICATE need
other data and are applied by silver; they are listed in ``DEFERRED``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F

from salesoptic.contracts.checks import (
    EMAIL_TEXT,
    LOG_TIMESTAMP_TEXT,
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


# The typed columns of a record, by silver column name: what rules read.
Typed = Mapping[str, Column]


@dataclass(frozen=True)
class Contract:
    """What silver needs to judge and type one dataset.

    ``typed()`` maps each silver column to its expression over the bronze fields, except
    ``date``, which is the UTC date of the ``date_of`` column. ``rules(t)`` and
    ``malformed_when(t)`` read the typed columns ``t`` (and bronze fields where cheap).
    """

    dataset: str
    key: tuple[str, ...]
    typed: Callable[[], dict[str, Column]]
    rules: Callable[[Typed], list[tuple[Reason, Column]]]
    malformed: Reason | None = None
    malformed_when: Callable[[Typed], Column] | None = None
    date_of: str | None = None

    @property
    def codes(self) -> tuple[Reason, ...]:
        return REASONS_BY_DATASET[self.dataset]


def _source_ts() -> Column:
    return as_timestamp("timestamp", SOURCE_TIMESTAMP_TEXT)


def _corrupt(t: Typed) -> Column:
    return F.col(CORRUPT_COLUMN).isNotNull()


def _future(ts: Column) -> Column:
    return F.coalesce(ts > F.col("_ingested_at"), F.lit(False))


# -- sales: one row per sale line (one order); key transaction_id ----------------------


def _sales_typed() -> dict[str, Column]:
    return {
        "transaction_id": clean("transaction_id"),
        "sold_at": _source_ts(),
        "customer_id": as_integer("customer_id"),
        "product_id": as_integer("product_id"),
        "quantity": as_integer("quantity"),
        "unit_price": as_money("unit_price"),
        "channel": clean("channel"),
    }


def _sales_rules(t: Typed) -> list[tuple[Reason, Column]]:
    return [
        (R.MISSING_TRANSACTION_ID, t["transaction_id"].isNull()),
        (R.INVALID_TIMESTAMP, t["sold_at"].isNull()),
        (R.FUTURE_TIMESTAMP, _future(t["sold_at"])),
        (R.MISSING_CUSTOMER_ID, is_missing("customer_id")),
        (R.MISSING_PRODUCT_ID, is_missing("product_id")),
        (R.INVALID_QUANTITY, not_positive(t["quantity"])),
        (R.INVALID_PRICE, not_positive(t["unit_price"])),
        (R.INVALID_CHANNEL, not_one_of("channel", CHANNELS)),
    ]


# -- events: one row per clickstream event; key event_id -------------------------------


def _events_typed() -> dict[str, Column]:
    return {
        "event_id": clean("event_id"),
        "occurred_at": _source_ts(),
        "user_id": clean("user_id"),
        "session_id": clean("session_id"),
        "event_type": clean("event_type"),
        "product_id": as_integer("product_id"),
        "device": clean("device"),
    }


def _events_rules(t: Typed) -> list[tuple[Reason, Column]]:
    return [
        (R.MISSING_EVENT_ID, t["event_id"].isNull()),
        (R.INVALID_TIMESTAMP, t["occurred_at"].isNull()),
        (R.FUTURE_TIMESTAMP, _future(t["occurred_at"])),
        (R.MISSING_USER_ID, is_missing("user_id")),
        (R.UNKNOWN_EVENT_TYPE, not_one_of("event_type", EVENT_TYPES)),
        (R.INVALID_DEVICE, not_one_of("device", DEVICES)),
    ]


# -- logs: one row per log line; no key ------------------------------------------------


def _log_ts() -> Column:
    return as_timestamp("timestamp", LOG_TIMESTAMP_TEXT)


def _logs_typed() -> dict[str, Column]:
    return {
        "logged_at": _log_ts(),
        "level": clean("level"),
        "service": clean("service"),
        "status": as_integer("status"),
        "latency_ms": as_integer("latency_ms"),
        "msg": F.col("msg"),  # the message as written, spaces included
    }


def _logs_rules(t: Typed) -> list[tuple[Reason, Column]]:
    return [
        (R.INVALID_TIMESTAMP, t["logged_at"].isNull()),
        (R.UNKNOWN_LEVEL, not_one_of("level", LEVELS)),
    ]


def _logs_malformed(t: Typed) -> Column:
    """Not in the format, or a status or latency too large to be one (beyond 32 bits)."""
    return _corrupt(t) | t["status"].isNull() | t["latency_ms"].isNull()


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


def _customers_rules(t: Typed) -> list[tuple[Reason, Column]]:
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


def _products_rules(t: Typed) -> list[tuple[Reason, Column]]:
    return [
        (R.MISSING_NAME, is_missing("name")),
        (R.MISSING_CATEGORY, is_missing("category")),
        (R.INVALID_PRICE, not_positive(t["list_price"])),
    ]


CONTRACTS: dict[str, Contract] = {
    "sales": Contract(
        "sales", KEYS["sales"], _sales_typed, _sales_rules, R.MALFORMED_ROW, _corrupt, "sold_at"
    ),
    "events": Contract(
        "events",
        KEYS["events"],
        _events_typed,
        _events_rules,
        R.MALFORMED_JSON,
        _corrupt,
        "occurred_at",
    ),
    "logs": Contract(
        "logs",
        KEYS["logs"],
        _logs_typed,
        _logs_rules,
        R.MALFORMED_LINE,
        _logs_malformed,
        "logged_at",
    ),
    "customers": Contract("customers", KEYS["customers"], _customers_typed, _customers_rules),
    "products": Contract("products", KEYS["products"], _products_typed, _products_rules),
}
