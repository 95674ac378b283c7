"""Clickstream events: one JSON-lines file per day, one object per line (DESIGN section 3).

Grain: one row per event, key ``event_id`` (``e-YYYYMMDD-NNNNNNNN``). Events come from
sessions that walk the funnel in order: views, clicks on some of them, sometimes an
add_to_cart, sometimes a remove_from_cart, and a purchase for some carts. Lines are in
time order within the file, so a session's events are interleaved with others'.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from salesoptic.contracts.reasons import Reason
from salesoptic.generate.common import HOURLY_TRAFFIC as HOURLY
from salesoptic.generate.common import (
    DayContext,
    FileResult,
    future_timestamps,
    invalid_timestamps,
    sample_clean,
    second_of,
    skewed_index,
)
from salesoptic.generate.defects import DefectPlan, plan_defects
from salesoptic.generate.dimensions import References
from salesoptic.generate.duplicates import POOL_PER_FILE, DuplicatePool
from salesoptic.generate.text import (
    choice_text,
    choose,
    concat,
    int_text,
    pick,
    put,
    sequence_ids,
    timestamps,
    two_digits,
)

R = Reason

COLUMNS = ("event_id", "timestamp", "user_id", "session_id", "event_type", "product_id", "device")
STRING_FIELDS = frozenset({"event_id", "timestamp", "session_id", "event_type", "device"})
EVENT_TYPES = ("view", "click", "add_to_cart", "remove_from_cart", "purchase")
DEVICES = ("desktop", "mobile", "tablet")
DEVICE_SHARES = (0.42, 0.48, 0.10)

BAD_EVENT_TYPES = ("View", "checkout", "page_view", "ADD_TO_CART", "wishlist", "purchased")
BAD_DEVICES = ("Desktop", "phone", "smart-tv", "MOBILE", "watch", "iPad")
# JSON tokens for a missing value; None means the key is absent.
MISSING_ID_TOKENS = (None, "null", '""', '" "')
MISSING_USER_TOKENS = (None, "null", '""', '"  "')
MALFORMED_SCALARS = ('"view"', "42", "null", "true", "[1, 2, 3]")


def events_day(
    ctx: DayContext, records: int, defective: int, refs: References, pool: DuplicatePool
) -> FileResult:
    """The events of one day: ``records`` lines of which ``defective`` carry defects."""
    rng = ctx.rng
    cols = _clean_events(ctx, records, refs)

    lines = render(cols)
    unavailable = frozenset() if len(pool) else frozenset({R.DUPLICATE})
    plan = plan_defects("events", rng, records, defective, unavailable)
    # Defects are applied to the defective records only, then written back in one step.
    bad = {c: pc.take(cols[c], plan.positions) for c in COLUMNS}
    local = np.arange(len(plan))
    _inject_duplicates(rng, bad, local[plan.has(R.DUPLICATE)], pool)
    bad_lines = render_tokens(_field_defects(rng, bad, plan, local))
    malformed = local[plan.has(R.MALFORMED_JSON)]
    bad_lines = put(bad_lines, malformed, _malformed(rng, pc.take(bad_lines, malformed)))
    lines = put(lines, plan.positions, bad_lines)

    no_key = plan.has(R.MALFORMED_JSON) | plan.has(R.MISSING_EVENT_ID)
    keys = pc.if_else(pa.array(no_key), pa.nulls(len(plan), pa.string()), bad["event_id"])
    keep = sample_clean(rng, records, plan, min(POOL_PER_FILE, max(64, defective)))
    pool_rows = pa.table({c: pc.take(cols[c], keep) for c in COLUMNS})
    return FileResult("events", ctx.source, None, lines, plan, keys, pool_rows)


def _clean_events(ctx: DayContext, records: int, refs: References) -> dict[str, pa.Array]:
    """Funnel sessions cut to exactly ``records`` events, sorted by time."""
    rng = ctx.rng
    # Mean session length is about 4.4 events; draw enough sessions, then cut.
    sessions = max(1, int(records / 4.0) + 16)
    views = np.minimum(rng.geometric(0.4, sessions), 12)
    clicks = rng.binomial(views, 0.5)
    cart = rng.random(sessions) < np.where(clicks > 0, 0.38, 0.08)
    removed = cart & (rng.random(sessions) < 0.25)
    bought = cart & (rng.random(sessions) < np.where(removed, 0.2, 0.55))
    steps = np.stack([views, clicks, cart, removed, bought], axis=1).astype(np.int64)
    lengths = steps.sum(axis=1)
    while lengths.sum() < records:  # rare: top up with one-view sessions
        steps = np.vstack([steps, np.array([[1, 0, 0, 0, 0]] * (records - lengths.sum()))])
        lengths = steps.sum(axis=1)
    sessions = int(np.searchsorted(np.cumsum(lengths), records) + 1)
    steps, lengths = steps[:sessions], lengths[:sessions]

    event_type = np.repeat(np.tile(np.arange(5), sessions), steps.ravel())[:records]
    session = np.repeat(np.arange(sessions), lengths)[:records]
    # Seconds between a session's events; the session's first event has offset 0.
    gaps = rng.exponential(35.0, records).astype(np.int64) + 2
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    first_of_session = np.zeros(records, dtype=bool)
    first_of_session[starts[starts < records]] = True
    gaps[first_of_session] = 0
    elapsed = np.cumsum(gaps)
    offset = elapsed - elapsed[starts[session]]
    duration = np.zeros(sessions, dtype=np.int64)
    np.maximum.at(duration, session, offset)
    hour = rng.choice(24, size=sessions, p=HOURLY)
    start = hour * 3600 + rng.integers(0, 3600, sessions)
    start = np.clip(start, 0, np.maximum(0, 86_399 - duration))  # a session ends the same day
    seconds = np.minimum(start[session] + offset, 86_399)

    user = refs.valid_customer_ids[skewed_index(rng, len(refs.valid_customer_ids), sessions)]
    device = rng.choice(3, size=sessions, p=DEVICE_SHARES)
    n_products = len(refs.valid_product_ids)
    focus = np.searchsorted(refs.product_cdf, rng.random(sessions), side="right")
    browsed = np.searchsorted(refs.product_cdf, rng.random(records), side="right")
    product = np.minimum(
        np.where(rng.random(records) < 0.4, browsed, focus[session]), n_products - 1
    )
    product_id = int_text(refs.valid_product_ids[product])
    # Some views are of listing pages rather than a product.
    no_product = (event_type == 0) & (rng.random(records) < 0.08)
    product_id = pc.if_else(pa.array(no_product), pa.scalar("null"), product_id)

    order = np.argsort(seconds, kind="stable")
    return {
        "event_id": sequence_ids(f"e-{ctx.compact}-", 1, records),
        "timestamp": timestamps(ctx.clock(), seconds[order]),
        "user_id": int_text(user[session[order]]),
        "session_id": concat(
            f"s-{ctx.compact}-", pc.utf8_lpad(int_text(session[order] + 1), 7, "0")
        ),
        "event_type": pick(EVENT_TYPES, event_type[order]),
        "product_id": pc.take(product_id, order),
        "device": pick(DEVICES, device[session[order]]),
    }


def render(cols: dict[str, pa.Array]) -> pa.Array:
    """JSON lines in the key order and spacing of DESIGN section 3 (clean records)."""
    return concat(
        '{"event_id": "', cols["event_id"],
        '", "timestamp": "', cols["timestamp"],
        '", "user_id": ', cols["user_id"],
        ', "session_id": "', cols["session_id"],
        '", "event_type": "', cols["event_type"],
        '", "product_id": ', cols["product_id"],
        ', "device": "', cols["device"], '"}',
    )  # fmt: skip


def render_tokens(tokens: dict[str, pa.Array]) -> pa.Array:
    """JSON lines from per-key JSON tokens; a null token leaves its key out."""
    members = [concat(f'"{key}": ', tokens[key]) for key in COLUMNS]
    body = pc.binary_join_element_wise(*members, ", ", null_handling="skip")
    return concat("{", body, "}")


def _quoted(values: pa.Array) -> pa.Array:
    return concat('"', values, '"')


def _tokens(rng: np.random.Generator, choices: tuple[str | None, ...], count: int) -> pa.Array:
    return pa.array([choices[i] for i in rng.integers(0, len(choices), count)], pa.string())


def _field_defects(
    rng: np.random.Generator, values: dict[str, pa.Array], plan: DefectPlan, local: np.ndarray
) -> dict[str, pa.Array]:
    """JSON tokens of the defective records (``local`` ordinals) with wrong fields."""
    tokens = {c: _quoted(v) if c in STRING_FIELDS else v for c, v in values.items()}

    def at(code: Reason) -> np.ndarray:
        return local[plan.has(code)]

    pos = at(R.MISSING_EVENT_ID)
    tokens["event_id"] = put(tokens["event_id"], pos, _tokens(rng, MISSING_ID_TOKENS, len(pos)))
    pos = at(R.INVALID_TIMESTAMP)
    bad = invalid_timestamps(rng, pc.take(values["timestamp"], pos))
    tokens["timestamp"] = put(tokens["timestamp"], pos, _quoted(bad))
    pos = at(R.FUTURE_TIMESTAMP)
    bad = future_timestamps(rng, pc.take(values["timestamp"], pos))
    tokens["timestamp"] = put(tokens["timestamp"], pos, _quoted(bad))
    pos = at(R.MISSING_USER_ID)
    tokens["user_id"] = put(tokens["user_id"], pos, _tokens(rng, MISSING_USER_TOKENS, len(pos)))
    pos = at(R.UNKNOWN_EVENT_TYPE)
    bad = choice_text(rng, BAD_EVENT_TYPES, len(pos))
    tokens["event_type"] = put(tokens["event_type"], pos, _quoted(bad))
    pos = at(R.INVALID_DEVICE)
    tokens["device"] = put(tokens["device"], pos, _quoted(choice_text(rng, BAD_DEVICES, len(pos))))
    return tokens


def _inject_duplicates(
    rng: np.random.Generator, cols: dict[str, pa.Array], positions: np.ndarray, pool: DuplicatePool
) -> None:
    """Copies of earlier clean events: half exact re-sends, half with a changed field."""
    if len(positions) == 0:
        return
    copies = pool.sample(rng, len(positions))
    fields = {c: copies[c] for c in COLUMNS}
    changed = rng.integers(0, 3, len(positions))  # 0: exact, 1: device, 2: second
    device_index = pc.index_in(fields["device"], pa.array(DEVICES)).to_numpy()
    other_device = pick(DEVICES, (device_index + 1) % len(DEVICES))
    fields["device"] = pc.if_else(pa.array(changed == 1), other_device, fields["device"])
    ts = fields["timestamp"]
    shifted = (second_of(ts) + rng.integers(1, 60, len(positions))) % 60
    other_ts = concat(pc.utf8_slice_codeunits(ts, 0, 17), two_digits(shifted))
    fields["timestamp"] = pc.if_else(pa.array(changed == 2), other_ts, ts)
    for c in COLUMNS:
        cols[c] = put(cols[c], positions, fields[c])


def _malformed(rng: np.random.Generator, lines: pa.Array) -> pa.Array:
    """Lines that are not one JSON object: arrays, scalars, broken or cut JSON."""
    count = len(lines)
    variants = [
        concat("[", lines, "]"),  # an array holding the object
        pc.utf8_slice_codeunits(lines, 0, -1),  # closing brace lost
        pc.utf8_slice_codeunits(lines, 0, 40),  # line cut short
        pc.replace_substring(lines, '"', "'"),  # single quotes are not JSON
        choice_text(rng, MALFORMED_SCALARS, count),  # a scalar or an array of scalars
    ]
    return choose(rng.integers(0, len(variants), count), variants)
