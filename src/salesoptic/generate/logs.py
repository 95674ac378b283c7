"""Application logs: one text file per day, one line per request (DESIGN section 3).

Grain: one row per log line; logs have no business key. Latencies are lognormal per
service; a few error bursts per day push one service's error rate up for a while.
An ERROR line always has ``status >= 500`` and every ``status >= 500`` line is ERROR.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from salesoptic.contracts.reasons import Reason
from salesoptic.generate.common import DayContext, FileResult, seconds_of_day
from salesoptic.generate.defects import plan_defects
from salesoptic.generate.text import (
    choice_text,
    choose,
    concat,
    int_text,
    log_timestamps,
    pick,
    put,
)

R = Reason

# Service: (share of lines, median latency in ms, lognormal sigma).
SERVICES: dict[str, tuple[float, float, float]] = {
    "Catalog": (0.26, 35.0, 0.5),
    "Search": (0.20, 80.0, 0.6),
    "Checkout": (0.12, 140.0, 0.55),
    "PaymentGateway": (0.08, 320.0, 0.6),
    "Auth": (0.14, 25.0, 0.4),
    "Inventory": (0.09, 60.0, 0.5),
    "Shipping": (0.05, 110.0, 0.6),
    "Recommendations": (0.06, 95.0, 0.7),
}
LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")
BASE_ERROR_RATE = 0.004
BURST_ERROR_RATE = 0.35
OK_STATUSES = np.array([200, 200, 200, 200, 200, 201, 204, 304])
CLIENT_ERRORS = np.array([400, 401, 403, 404, 404, 409, 429])
SERVER_ERRORS = np.array([500, 502, 503, 504])
MESSAGES = {
    "DEBUG": ("Cache hit", "Cache miss", "Query plan reused", "Feature flag evaluated"),
    "INFO": ("Request completed", "Order created", "Session refreshed", "Item listed"),
    "WARN": ("Bad request", "Unauthorized", "Not found", "Rate limit exceeded"),
    "ERROR": ("Upstream timeout", "Card declined", "Connection reset by peer", "Internal error"),
}

BAD_LEVELS = ("info", "Warning", "FATAL", "TRACE", "warn", "Err", "CRITICAL")
STACK_LINES = (
    "    at com.salesoptic.checkout.CheckoutService.submit(CheckoutService.java:142)",
    "    at com.salesoptic.payment.GatewayClient.charge(GatewayClient.java:88)",
    "Caused by: java.net.SocketTimeoutException: Read timed out",
    "--- end of stack trace ---",
)


def logs_day(ctx: DayContext, records: int, defective: int) -> FileResult:
    """The log lines of one day: ``records`` lines of which ``defective`` carry defects."""
    rng = ctx.rng
    names = list(SERVICES)
    shares = np.array([s[0] for s in SERVICES.values()])
    service = rng.choice(len(names), size=records, p=shares / shares.sum())
    seconds = seconds_of_day(rng, records)
    millis = rng.integers(0, 1000, records)

    error_rate = np.full(records, BASE_ERROR_RATE)
    for _ in range(rng.poisson(1.5)):
        burst_service = rng.integers(0, len(names))
        begin = rng.integers(0, 86_400)
        length = rng.integers(300, 1800)
        hit = (service == burst_service) & (seconds >= begin) & (seconds < begin + length)
        error_rate[hit] = BURST_ERROR_RATE
    is_error = rng.random(records) < error_rate
    is_client_error = ~is_error & (rng.random(records) < 0.05)
    status = np.where(
        is_error,
        rng.choice(SERVER_ERRORS, size=records),
        np.where(
            is_client_error,
            rng.choice(CLIENT_ERRORS, size=records),
            rng.choice(OK_STATUSES, size=records),
        ),
    )
    level = np.where(
        is_error, 3, np.where(is_client_error, 2, np.where(rng.random(records) < 0.12, 0, 1))
    )
    median = np.array([s[1] for s in SERVICES.values()])[service]
    sigma = np.array([s[2] for s in SERVICES.values()])[service]
    latency = median * np.exp(sigma * rng.standard_normal(records))
    latency = np.where(is_error, latency * 3.0, latency)  # failures often wait for a timeout
    latency = np.maximum(1, latency.astype(np.int64))
    message_table = [m for lvl in LEVELS for m in MESSAGES[lvl]]
    message = pick(message_table, level * 4 + rng.integers(0, 4, records))

    cols = {
        "timestamp": log_timestamps(ctx.clock(), seconds, millis),
        "level": pick(LEVELS, level),
        "service": pick(names, service),
        "status": int_text(status),
        "latency_ms": int_text(latency),
        "msg": message,
    }
    plan = plan_defects("logs", rng, records, defective)
    pos = plan.positions_with(R.INVALID_TIMESTAMP)
    ts = cols["timestamp"]
    cols["timestamp"] = put(ts, pos, _invalid_log_timestamps(rng, ctx.date, pc.take(ts, pos)))
    pos = plan.positions_with(R.UNKNOWN_LEVEL)
    cols["level"] = put(cols["level"], pos, choice_text(rng, BAD_LEVELS, len(pos)))

    lines = render(cols)
    pos = plan.positions_with(R.MALFORMED_LINE)
    lines = put(lines, pos, _malformed(rng, cols, pos))
    keys = pa.nulls(len(plan), pa.string())
    return FileResult("logs", ctx.source, None, lines, plan, keys, None)


def render(cols: dict[str, pa.Array]) -> pa.Array:
    return concat(
        cols["timestamp"], " ", cols["level"], " ", cols["service"],
        " status=", cols["status"], " latency_ms=", cols["latency_ms"],
        ' msg="', cols["msg"], '"',
    )  # fmt: skip


def _invalid_log_timestamps(rng: np.random.Generator, day: dt.date, ts: pa.Array) -> pa.Array:
    """Versions of ``YYYY-MM-DDTHH:MM:SS.mmmZ`` that are not real or not in the format.

    None holds a space, so the line still splits into its fields.
    """
    s = pc.utf8_slice_codeunits
    count = len(ts)
    epoch_day_ms = (
        int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()) * 1000
    )
    epoch = int_text(epoch_day_ms + rng.integers(0, 86_400_000, count))
    variants = [
        concat(s(ts, 0, 19), "Z"),  # no milliseconds
        s(ts, 0, 23),  # no Z
        concat(s(ts, 0, 5), "02-30", s(ts, 10, 24)),  # no such day
        concat(s(ts, 0, 11), "24", s(ts, 13, 24)),  # no such hour
        concat(pc.replace_substring(s(ts, 0, 10), "-", "/"), s(ts, 10, 24)),  # slashes
        epoch,  # epoch milliseconds
    ]
    return choose(rng.integers(0, len(variants), count), variants)


def _malformed(
    rng: np.random.Generator, cols: dict[str, pa.Array], positions: np.ndarray
) -> pa.Array:
    """Lines that do not follow the log format at all."""
    part = {c: pc.take(cols[c], positions) for c in cols}
    line = render(part)
    count = len(positions)
    variants = [
        choice_text(rng, STACK_LINES, count),  # stack trace continuation lines
        pc.utf8_slice_codeunits(line, 0, 30),  # cut short
        pc.utf8_slice_codeunits(line, 0, -1),  # msg without its closing quote
        concat(  # status field missing
            part["timestamp"],
            " ",
            part["level"],
            " ",
            part["service"],
            " latency_ms=",
            part["latency_ms"],
            ' msg="',
            part["msg"],
            '"',
        ),
        concat(  # service name starting with a digit
            part["timestamp"],
            " ",
            part["level"],
            " 2FA status=",
            part["status"],
            " latency_ms=",
            part["latency_ms"],
            ' msg="',
            part["msg"],
            '"',
        ),
    ]
    return choose(rng.integers(0, len(variants), count), variants)
