"""Sales: one CSV file per day, one line per sale (DESIGN section 3).

Grain: one row per sale line, key ``transaction_id`` (``t-YYYYMMDD-NNNNNNNN``, unique
across batches because days never repeat). Lines are in time order within the file.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from salesoptic.contracts.reasons import Reason
from salesoptic.generate.common import (
    BLANKS,
    DayContext,
    FileResult,
    future_timestamps,
    invalid_timestamps,
    sample_clean,
    seconds_of_day,
    skewed_index,
    unknown_ids,
)
from salesoptic.generate.defects import DefectPlan, plan_defects
from salesoptic.generate.dimensions import References
from salesoptic.generate.duplicates import POOL_PER_FILE, DuplicatePool
from salesoptic.generate.text import (
    choice_text,
    choose,
    concat,
    int_text,
    money_text,
    pick,
    put,
    sequence_ids,
    timestamps,
)

R = Reason

COLUMNS = (
    "transaction_id",
    "timestamp",
    "customer_id",
    "product_id",
    "quantity",
    "unit_price",
    "channel",
)
HEADER = ",".join(COLUMNS)
CHANNELS = ("web", "store", "mobile")
CHANNEL_SHARES = (0.50, 0.15, 0.35)
DISCOUNT_SHARE = 0.18
DISCOUNT_PERCENTS = np.array([5, 10, 15, 20, 25, 30])
MAX_QUANTITY = 10

BAD_QUANTITIES = ("0", "-1", "2.5", "abc", "two", "1.0", "-3")
BAD_PRICES = ("0.00", "-4.99", "1.234", "abc", "N/A", "12.345", "9.999", "0")
BAD_CHANNELS = ("Web", "fax", "WEB", "phone", "in-store", "Mobile", "online")
EXTRA_FIELDS = ("promo", "N/A", "1", "")
UNKNOWN_CUSTOMER_BASE = 90_000_000
UNKNOWN_PRODUCT_BASE = 9_000_000


def sales_day(
    ctx: DayContext, records: int, defective: int, refs: References, pool: DuplicatePool
) -> FileResult:
    """The sales of one day: ``records`` lines of which ``defective`` carry defects."""
    rng = ctx.rng
    seconds = seconds_of_day(rng, records)
    customer = refs.valid_customer_ids[skewed_index(rng, len(refs.valid_customer_ids), records)]
    product_index = np.searchsorted(refs.product_cdf, rng.random(records), side="right")
    product_index = np.minimum(product_index, len(refs.valid_product_ids) - 1)
    quantity = np.minimum(rng.geometric(0.55, records), MAX_QUANTITY)
    discount = np.where(
        rng.random(records) < DISCOUNT_SHARE, rng.choice(DISCOUNT_PERCENTS, size=records), 0
    )
    list_cents = refs.product_price_cents[product_index]
    cents = np.maximum(1, (list_cents * (100 - discount) + 50) // 100)
    cols = {
        "transaction_id": sequence_ids(f"t-{ctx.compact}-", 1, records),
        "timestamp": timestamps(ctx.clock(), seconds),
        "customer_id": int_text(customer),
        "product_id": int_text(refs.valid_product_ids[product_index]),
        "quantity": int_text(quantity),
        "unit_price": money_text(cents),
        "channel": pick(CHANNELS, rng.choice(3, size=records, p=CHANNEL_SHARES)),
    }

    lines = pc.binary_join_element_wise(*(cols[c] for c in COLUMNS), ",")
    unavailable = frozenset() if len(pool) else frozenset({R.DUPLICATE})
    plan = plan_defects("sales", rng, records, defective, unavailable)
    # Defects are applied to the defective records only, then written back in one step.
    bad = {c: pc.take(cols[c], plan.positions) for c in COLUMNS}
    local = np.arange(len(plan))
    _inject_duplicates(rng, bad, local[plan.has(R.DUPLICATE)], pool)
    _inject_field_defects(rng, bad, plan, local, refs)
    bad_lines = pc.binary_join_element_wise(*(bad[c] for c in COLUMNS), ",")
    malformed = local[plan.has(R.MALFORMED_ROW)]
    bad_lines = put(bad_lines, malformed, _malformed(rng, bad, bad_lines, malformed))
    lines = put(lines, plan.positions, bad_lines)

    no_key = plan.has(R.MALFORMED_ROW) | plan.has(R.MISSING_TRANSACTION_ID)
    keys = pc.if_else(pa.array(no_key), pa.nulls(len(plan), pa.string()), bad["transaction_id"])
    keep = sample_clean(rng, records, plan, min(POOL_PER_FILE, max(64, defective)))
    pool_rows = pa.table({c: pc.take(cols[c], keep) for c in COLUMNS})
    return FileResult("sales", ctx.source, HEADER, lines, plan, keys, pool_rows)


def _inject_duplicates(
    rng: np.random.Generator, cols: dict[str, pa.Array], positions: np.ndarray, pool: DuplicatePool
) -> None:
    """Copies of earlier clean sales: half exact re-sends, half with a changed field."""
    if len(positions) == 0:
        return
    copies = pool.sample(rng, len(positions))
    fields = {c: copies[c] for c in COLUMNS}
    changed = rng.integers(0, 3, len(positions))  # 0: exact, 1: quantity, 2: channel
    quantity = pc.cast(fields["quantity"], pa.int64()).to_numpy()
    other_quantity = int_text(np.where(quantity < MAX_QUANTITY, quantity + 1, quantity - 1))
    fields["quantity"] = pc.if_else(pa.array(changed == 1), other_quantity, fields["quantity"])
    channel_index = pc.index_in(fields["channel"], pa.array(CHANNELS)).to_numpy()
    other_channel = pick(CHANNELS, (channel_index + 1) % len(CHANNELS))
    fields["channel"] = pc.if_else(pa.array(changed == 2), other_channel, fields["channel"])
    for c in COLUMNS:
        cols[c] = put(cols[c], positions, fields[c])


def _inject_field_defects(
    rng: np.random.Generator,
    cols: dict[str, pa.Array],
    plan: DefectPlan,
    local: np.ndarray,
    refs: References,
) -> None:
    """Wrong field values; ``cols`` holds only the defective records (``local`` ordinals)."""

    def blanks(n: int) -> pa.Array:
        return choice_text(rng, BLANKS, n)

    pos = local[plan.has(R.MISSING_TRANSACTION_ID)]
    cols["transaction_id"] = put(cols["transaction_id"], pos, blanks(len(pos)))
    pos = local[plan.has(R.INVALID_TIMESTAMP)]
    ts = cols["timestamp"]
    cols["timestamp"] = put(ts, pos, invalid_timestamps(rng, pc.take(ts, pos)))
    pos = local[plan.has(R.FUTURE_TIMESTAMP)]
    ts = cols["timestamp"]
    cols["timestamp"] = put(ts, pos, future_timestamps(rng, pc.take(ts, pos)))
    pos = local[plan.has(R.MISSING_CUSTOMER_ID)]
    cols["customer_id"] = put(cols["customer_id"], pos, blanks(len(pos)))
    pos = local[plan.has(R.UNKNOWN_CUSTOMER)]
    ids = unknown_ids(rng, len(pos), refs.defective_customer_ids, UNKNOWN_CUSTOMER_BASE)
    cols["customer_id"] = put(cols["customer_id"], pos, int_text(ids))
    pos = local[plan.has(R.MISSING_PRODUCT_ID)]
    cols["product_id"] = put(cols["product_id"], pos, blanks(len(pos)))
    pos = local[plan.has(R.UNKNOWN_PRODUCT)]
    ids = unknown_ids(rng, len(pos), refs.defective_product_ids, UNKNOWN_PRODUCT_BASE)
    cols["product_id"] = put(cols["product_id"], pos, int_text(ids))
    pos = local[plan.has(R.INVALID_QUANTITY)]
    cols["quantity"] = put(cols["quantity"], pos, choice_text(rng, BAD_QUANTITIES, len(pos)))
    pos = local[plan.has(R.INVALID_PRICE)]
    cols["unit_price"] = put(cols["unit_price"], pos, choice_text(rng, BAD_PRICES, len(pos)))
    pos = local[plan.has(R.INVALID_CHANNEL)]
    cols["channel"] = put(cols["channel"], pos, choice_text(rng, BAD_CHANNELS, len(pos)))


def _malformed(
    rng: np.random.Generator, cols: dict[str, pa.Array], lines: pa.Array, positions: np.ndarray
) -> pa.Array:
    """Lines whose field count differs from the header's: an extra field or a cut line."""
    line = pc.take(lines, positions)
    part = {c: pc.take(cols[c], positions) for c in COLUMNS}

    def first(k: int) -> pa.Array:
        return pc.binary_join_element_wise(*(part[c] for c in COLUMNS[:k]), ",")

    extra = concat(line, ",", choice_text(rng, EXTRA_FIELDS, len(positions)))
    variants = [extra, first(2), first(4), first(5), first(6)]
    return choose(rng.integers(0, len(variants), len(positions)), variants)
