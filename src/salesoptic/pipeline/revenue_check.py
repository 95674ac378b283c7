"""Gold's money must fit ``decimal(18,2)``; find out before computing, and say why not.

Silver keeps every sale with a positive integer quantity and a positive price of at most
``decimal(18,2)``, but their product can still exceed that type (2,147,483,647 units at
9,999,999,999,999,999.99). Every revenue in gold is a sum of positive sale amounts, so
none exceeds the revenue of all sales: if that total fits, every table fits. If it does
not, the gold stage stops with one sentence naming the largest sale, instead of an
overflow error from deep inside one of the tables. Gold runs the check on its cached
sales, so the check's one pass is also the pass that fills the cache.
"""

from __future__ import annotations

from decimal import Decimal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from salesoptic.errors import UserError

MONEY_MAX = Decimal("9999999999999999.99")  # the largest decimal(18,2)


def _amount() -> Column:
    """quantity (int, 10 digits) times unit_price (decimal(18,2)): exact in decimal(29,2);
    a sum of them in decimal(38,2) cannot overflow below 10^9 sales of the largest amount."""
    return F.col("quantity").cast("decimal(10,0)") * F.col("unit_price")


def require_revenue_fits(
    sales_df: DataFrame, named_from: DataFrame | None = None, earlier: Decimal = Decimal(0)
) -> None:
    """Raise ``UserError`` when the revenue of all sales exceeds ``decimal(18,2)``.

    ``sales_df`` needs ``quantity`` and ``unit_price``; ``earlier`` is the revenue of the
    other sales (already checked, when gold adds new sales to stored totals). The sale the
    message names is looked up, only then, in ``named_from`` (silver sales, with
    ``transaction_id`` and ``_source``), by default ``sales_df`` itself.
    """
    new = sales_df.agg(F.sum(_amount()).alias("total")).first()["total"]
    total = earlier + (new if new is not None else Decimal(0))
    if total <= MONEY_MAX:
        return
    largest = (
        (named_from if named_from is not None else sales_df)
        .select("transaction_id", "quantity", "unit_price", "_source", _amount().alias("a"))
        .orderBy(F.col("a").desc(), "transaction_id")
        .first()
    )
    raise UserError(
        f"Gold was not published: the revenue of all sales, {total}, exceeds "
        f"decimal(18,2), the type of money in gold; the largest sale is "
        f"{largest['transaction_id']} (quantity {largest['quantity']}, "
        f"unit price {largest['unit_price']}) from {largest['_source']}."
    )
