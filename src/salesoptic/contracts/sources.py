"""The source records of DESIGN section 3, as bronze keeps them: every field a string.

Bronze adds to these fields ``_rescued_data`` (files: source fields outside the
contract, as a JSON object), ``_corrupt_record`` (files: the whole record when it cannot
be split into fields; then every field is null) and the lineage columns.
"""

from __future__ import annotations

SOURCE_FIELDS: dict[str, tuple[str, ...]] = {
    "sales": (
        "transaction_id",
        "timestamp",
        "customer_id",
        "product_id",
        "quantity",
        "unit_price",
        "channel",
    ),
    "events": (
        "event_id",
        "timestamp",
        "user_id",
        "session_id",
        "event_type",
        "product_id",
        "device",
    ),
    "logs": ("timestamp", "level", "service", "status", "latency_ms", "msg"),
    "customers": (
        "customer_id",
        "name",
        "email",
        "country",
        "segment",
        "signup_date",
        "updated_at",
    ),
    "products": ("product_id", "name", "category", "list_price", "updated_at"),
}

# Fields of a fact dataset with about one value per record (keys, timestamps, ids of
# users and customers), by their source names: bronze and quarantine keep those names,
# and so do silver's keys and ids. Silver's typed timestamps are named otherwise
# (sold_at, occurred_at, logged_at) and keep their dictionary: a day's folder repeats
# its seconds.
DISTINCT_FIELDS: dict[str, tuple[str, ...]] = {
    "sales": ("transaction_id", "timestamp", "customer_id"),
    "events": ("event_id", "timestamp", "user_id", "session_id"),
    "logs": ("timestamp",),
}

# Landing-zone folder and file pattern of each file dataset.
FILE_SOURCES: dict[str, str] = {"sales": "*.csv", "events": "*.json", "logs": "*.log"}

# PostgreSQL table and key of each dimension (the key splits large reads).
TABLE_SOURCES: dict[str, str] = {"customers": "customer_id", "products": "product_id"}

# A log line: timestamp, level, service, status, latency, quoted message. A line that
# does not match is MALFORMED_LINE; the timestamp and level are judged in silver. A Java
# regex: ``\z`` is the end of the line, where ``$`` would also match before a final
# U+0085 or U+2028, which Spark's text reader leaves inside the line.
LOG_LINE_PATTERN = r'^(\S+) (\S+) ([A-Za-z][A-Za-z0-9]*) status=(\d+) latency_ms=(\d+) msg="(.*)"\z'

LINEAGE_COLUMNS = ("_source", "_ingested_at", "_run_id")
RESCUED_COLUMN = "_rescued_data"
CORRUPT_COLUMN = "_corrupt_record"
