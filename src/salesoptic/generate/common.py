"""Pieces shared by the fact generators: the day's context, results, bad values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from salesoptic.generate.defects import DefectPlan
from salesoptic.generate.text import choose, concat, day_clock

# Share of traffic per hour of day (UTC): quiet nights, a lunch peak, an evening peak.
HOURLY_TRAFFIC = np.array(
    [1.2, 0.8, 0.5, 0.4, 0.4, 0.6, 1.2, 2.4, 3.6, 4.4, 5.0, 5.6,
     6.4, 6.2, 5.4, 5.0, 5.0, 5.4, 6.2, 7.2, 7.6, 6.6, 4.6, 2.4]
)  # fmt: skip
HOURLY_TRAFFIC = HOURLY_TRAFFIC / HOURLY_TRAFFIC.sum()

# Leap years far ahead: any real month-day of a past year stays a real date there.
FUTURE_YEARS = ("2088", "2096")
BLANKS = ("", " ", "  ")


@dataclass(frozen=True)
class DayContext:
    """One day of one dataset: its date, its random stream, its file's relative path."""

    date: dt.date
    rng: np.random.Generator
    source: str

    @property
    def compact(self) -> str:
        return self.date.strftime("%Y%m%d")

    def clock(self) -> pa.Array:
        return day_clock(self.date)


@dataclass(frozen=True)
class FileResult:
    """One generated file: its records (lines without line ends) and its defects.

    ``keys`` holds the business key text of each defective record (null when the
    dataset has no key, the key is missing, or the record is malformed).
    """

    dataset: str
    source: str
    header: str | None
    lines: pa.Array
    plan: DefectPlan
    keys: pa.Array
    pool: pa.Table | None = None


def seconds_of_day(rng: np.random.Generator, count: int) -> np.ndarray:
    """Sorted seconds of day following the hourly traffic profile."""
    hours = rng.choice(24, size=count, p=HOURLY_TRAFFIC)
    return np.sort(hours * 3600 + rng.integers(0, 3600, count))


def skewed_index(rng: np.random.Generator, size: int, count: int, power: float = 1.8) -> np.ndarray:
    """Indexes into ``size`` items favouring the first ones (older, more loyal customers)."""
    return np.minimum((size * rng.random(count) ** power).astype(np.int64), size - 1)


def invalid_timestamps(rng: np.random.Generator, ts: pa.Array) -> pa.Array:
    """Wrong-format or impossible versions of ``YYYY-MM-DDTHH:MM:SS`` timestamps."""
    s = pc.utf8_slice_codeunits
    variants = [
        s(ts, 0, 10),  # date only
        pc.replace_substring(ts, "T", " "),  # space instead of T
        concat(s(ts, 5, 7), "/", s(ts, 8, 10), "/", s(ts, 0, 4), " ", s(ts, 11, 16)),  # US style
        concat(s(ts, 0, 5), "02-30", s(ts, 10, 19)),  # no such day
        concat(s(ts, 0, 11), "24", s(ts, 13, 19)),  # no such hour
        concat(ts, "+0100"),  # an offset the format does not allow
    ]
    return choose(rng.integers(0, len(variants), len(ts)), variants)


def future_timestamps(rng: np.random.Generator, ts: pa.Array) -> pa.Array:
    """The same timestamps moved to a year far in the future."""
    years = choose(
        rng.integers(0, len(FUTURE_YEARS), len(ts)),
        [pa.array([y] * len(ts), pa.string()) for y in FUTURE_YEARS],
    )
    return concat(years, pc.utf8_slice_codeunits(ts, 4, 64))


def unknown_ids(
    rng: np.random.Generator, count: int, defective_ids: np.ndarray, base: int
) -> np.ndarray:
    """Valid integers that are no valid row: a defective row's id, or one far beyond the range."""
    far = base + rng.integers(0, base // 10, count)
    if len(defective_ids) == 0:
        return far
    use_defective = rng.random(count) < 0.5
    return np.where(use_defective, rng.choice(defective_ids, size=count), far)


def sample_clean(
    rng: np.random.Generator, records: int, plan: DefectPlan, wanted: int
) -> np.ndarray:
    """Ascending ordinals of up to ``wanted`` records that carry no defect."""
    clean = np.ones(records, dtype=bool)
    clean[plan.positions] = False
    candidates = np.nonzero(clean)[0]
    if len(candidates) <= wanted:
        return candidates
    return np.sort(rng.choice(candidates, size=wanted, replace=False))


def second_of(ts: pa.Array) -> np.ndarray:
    return pc.cast(pc.utf8_slice_codeunits(ts, 17, 19), pa.int64()).to_numpy()
