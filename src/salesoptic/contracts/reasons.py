"""The reason codes of DESIGN section 5: the closed vocabulary of quarantine.

Tests, the generator's ground truth and the dashboard import this module; a code is
added here (and to DESIGN.md) before it is used anywhere.
"""

from __future__ import annotations

from enum import Enum


class Reason(str, Enum):
    MALFORMED_ROW = "MALFORMED_ROW"
    MALFORMED_JSON = "MALFORMED_JSON"
    MALFORMED_LINE = "MALFORMED_LINE"
    MISSING_TRANSACTION_ID = "MISSING_TRANSACTION_ID"
    MISSING_EVENT_ID = "MISSING_EVENT_ID"
    INVALID_TIMESTAMP = "INVALID_TIMESTAMP"
    FUTURE_TIMESTAMP = "FUTURE_TIMESTAMP"
    MISSING_CUSTOMER_ID = "MISSING_CUSTOMER_ID"
    MISSING_PRODUCT_ID = "MISSING_PRODUCT_ID"
    MISSING_USER_ID = "MISSING_USER_ID"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_CHANNEL = "INVALID_CHANNEL"
    INVALID_DEVICE = "INVALID_DEVICE"
    UNKNOWN_EVENT_TYPE = "UNKNOWN_EVENT_TYPE"
    UNKNOWN_LEVEL = "UNKNOWN_LEVEL"
    UNKNOWN_CUSTOMER = "UNKNOWN_CUSTOMER"
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"
    MISSING_NAME = "MISSING_NAME"
    INVALID_EMAIL = "INVALID_EMAIL"
    MISSING_COUNTRY = "MISSING_COUNTRY"
    INVALID_SEGMENT = "INVALID_SEGMENT"
    MISSING_CATEGORY = "MISSING_CATEGORY"
    DUPLICATE = "DUPLICATE"

    def __str__(self) -> str:
        return self.value


R = Reason

# Per dataset, the codes in contract order: a quarantined row's `reasons` follow it.
REASONS_BY_DATASET: dict[str, tuple[Reason, ...]] = {
    "sales": (
        R.MALFORMED_ROW,
        R.MISSING_TRANSACTION_ID,
        R.INVALID_TIMESTAMP,
        R.FUTURE_TIMESTAMP,
        R.MISSING_CUSTOMER_ID,
        R.MISSING_PRODUCT_ID,
        R.INVALID_QUANTITY,
        R.INVALID_PRICE,
        R.INVALID_CHANNEL,
        R.UNKNOWN_CUSTOMER,
        R.UNKNOWN_PRODUCT,
        R.DUPLICATE,
    ),
    "events": (
        R.MALFORMED_JSON,
        R.MISSING_EVENT_ID,
        R.INVALID_TIMESTAMP,
        R.FUTURE_TIMESTAMP,
        R.MISSING_USER_ID,
        R.UNKNOWN_EVENT_TYPE,
        R.INVALID_DEVICE,
        R.DUPLICATE,
    ),
    "logs": (R.MALFORMED_LINE, R.INVALID_TIMESTAMP, R.UNKNOWN_LEVEL),
    "customers": (R.MISSING_NAME, R.INVALID_EMAIL, R.MISSING_COUNTRY, R.INVALID_SEGMENT),
    "products": (R.MISSING_NAME, R.MISSING_CATEGORY, R.INVALID_PRICE),
}

FACT_DATASETS = ("sales", "events", "logs")
DIMENSION_DATASETS = ("customers", "products")
DATASETS = FACT_DATASETS + DIMENSION_DATASETS

# Plain-language meaning of each code, for people reading the quarantine.
EXPLANATIONS: dict[Reason, str] = {
    R.MALFORMED_ROW: "The CSV line has a different number of fields than its file's header.",
    R.MALFORMED_JSON: "The line is not one JSON object.",
    R.MALFORMED_LINE: "The log line does not follow the log format.",
    R.MISSING_TRANSACTION_ID: "The transaction id is empty or absent.",
    R.MISSING_EVENT_ID: "The event id is empty or absent.",
    R.INVALID_TIMESTAMP: "The timestamp is not a real date-time in the source's exact format.",
    R.FUTURE_TIMESTAMP: "The timestamp is later than the moment the record was ingested.",
    R.MISSING_CUSTOMER_ID: "The customer id is empty or absent.",
    R.MISSING_PRODUCT_ID: "The product id is empty or absent.",
    R.MISSING_USER_ID: "The user id is empty or absent.",
    R.INVALID_QUANTITY: "The quantity is not a whole number greater than zero.",
    R.INVALID_PRICE: "The price is not a positive decimal with at most two decimals.",
    R.INVALID_CHANNEL: "The channel is not one of web, store, mobile.",
    R.INVALID_DEVICE: "The device is not one of desktop, mobile, tablet.",
    R.UNKNOWN_EVENT_TYPE: "The event type is not one of the funnel steps.",
    R.UNKNOWN_LEVEL: "The log level is not one of DEBUG, INFO, WARN, ERROR.",
    R.UNKNOWN_CUSTOMER: "The sale refers to a customer that is not among the valid customers.",
    R.UNKNOWN_PRODUCT: "The sale refers to a product that is not among the valid products.",
    R.MISSING_NAME: "The name is empty or absent.",
    R.INVALID_EMAIL: "The email is not of the form local@domain.tld.",
    R.MISSING_COUNTRY: "The country is empty or absent.",
    R.INVALID_SEGMENT: "The segment is not one of Standard, Premium, Business.",
    R.MISSING_CATEGORY: "The category is empty or absent.",
    R.DUPLICATE: "Another record with the same business key was kept instead.",
}
