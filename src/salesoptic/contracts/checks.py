"""Column functions the contracts' rules are made of: ``Column -> Column``, ``F.*`` only.

Raw values are judged with ``try_*`` functions, so a bad value fails a rule and never
the job (ANSI mode stays on for everything else).
"""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import Column
from pyspark.sql import functions as F

INTEGER_TEXT = r"^[+-]?[0-9]+$"
DECIMAL_2_TEXT = r"^[+-]?[0-9]+(\.[0-9]{1,2})?$"
SOURCE_TIMESTAMP_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"
LOG_TIMESTAMP_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
# DESIGN: one @, no spaces, a dot in the domain.
EMAIL_TEXT = r"^[^@\s]+@[^@\s]*\.[^@\s]*$"


def clean(column: str) -> Column:
    """The raw text trimmed; blank becomes null."""
    trimmed = F.trim(F.col(column))
    return F.when(trimmed != "", trimmed)


def is_missing(column: str) -> Column:
    """Null, absent or blank."""
    return clean(column).isNull()


def not_one_of(column: str, allowed: Iterable[str]) -> Column:
    """Not exactly one of ``allowed`` (case-sensitive); null is not one of them."""
    return ~F.coalesce(clean(column).isin(*allowed), F.lit(False))


def as_integer(column: str) -> Column:
    """The integer, or null when the text is not an integer or does not fit in 32 bits."""
    text = clean(column)
    return F.when(text.rlike(INTEGER_TEXT), text.try_cast("int"))


def as_money(column: str) -> Column:
    """The amount as decimal(18,2), or null unless the text has ``.`` and at most 2 decimals."""
    text = clean(column)
    return F.when(text.rlike(DECIMAL_2_TEXT), text.try_cast("decimal(18,2)"))


def as_timestamp(column: str, pattern: str) -> Column:
    """The UTC timestamp when the text is a real date-time of exactly the shape ``pattern``
    matches (``SOURCE_TIMESTAMP_TEXT``, ``LOG_TIMESTAMP_TEXT``).

    With the shape fixed by the pattern, Spark's own cast reads the text: like a
    ``java.time`` formatter it refuses impossible dates and times (February 30, 24:00),
    at under half its cost per value (docs/performance.md).
    """
    text = clean(column)
    return F.when(text.rlike(pattern), text.try_cast("timestamp"))


def not_positive(value: Column) -> Column:
    """Null or <= 0."""
    return F.coalesce(value <= 0, F.lit(True))
