"""The money check before gold: totals up to the largest decimal(18,2) pass, beyond fail."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesoptic.contracts.schemas import SILVER_SCHEMAS
from salesoptic.errors import UserError
from salesoptic.pipeline.revenue_check import require_revenue_fits

LARGEST = Decimal("9999999999999999.99")


def sales(spark, lines: list[tuple[str, int, Decimal]]):
    schema = SILVER_SCHEMAS["sales"]
    rows = []
    for transaction_id, quantity, unit_price in lines:
        row = dict.fromkeys(schema.fieldNames())
        row.update(transaction_id=transaction_id, quantity=quantity, unit_price=unit_price,
                   _source=f"file:/landing/{transaction_id}.csv")  # fmt: skip
        rows.append(tuple(row[name] for name in schema.fieldNames()))
    return spark.createDataFrame(rows, schema)


def test_totals_up_to_the_largest_money_pass(spark) -> None:
    require_revenue_fits(sales(spark, []))
    require_revenue_fits(sales(spark, [("T1", 1, LARGEST)]))
    half = LARGEST / 2 - Decimal("0.005")  # 4999999999999999.99
    require_revenue_fits(sales(spark, [("T1", 1, half), ("T2", 1, Decimal("5000000000000000.00"))]))


def test_a_total_one_cent_beyond_fails_naming_the_largest_sale(spark) -> None:
    lines = [("T1", 1, LARGEST), ("T2", 1, Decimal("0.01")), ("T0", 3, Decimal("2.00"))]
    with pytest.raises(UserError) as info:
        require_revenue_fits(sales(spark, lines))
    message = str(info.value)
    assert "10000000000000006.00" in message and "exceeds decimal(18,2)" in message
    assert "T1 (quantity 1, unit price 9999999999999999.99) from file:/landing/T1.csv" in message


def test_one_line_beyond_money_fails(spark) -> None:
    with pytest.raises(UserError, match=r"quantity 2147483647, unit price 9999999999999999\.99"):
        require_revenue_fits(sales(spark, [("T9", 2_147_483_647, LARGEST)]))


def test_new_sales_count_on_top_of_the_earlier_revenue(spark) -> None:
    """Gold adding new sales to stored totals: the earlier revenue counts in the check."""
    earlier = LARGEST - Decimal("1.00")
    require_revenue_fits(sales(spark, [("T1", 1, Decimal("1.00"))]), earlier=earlier)
    with pytest.raises(UserError, match=r"10000000000000000\.00, exceeds"):
        require_revenue_fits(sales(spark, [("T1", 1, Decimal("1.01"))]), earlier=earlier)
