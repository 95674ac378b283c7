"""Vectorised text building with Arrow: numbers and timestamps to text, lines to bytes.

Everything here works on whole columns (one Arrow kernel per step), never row by row.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SECONDS_PER_DAY = 86_400


@lru_cache(maxsize=1)
def _clock_lut() -> pa.Array:
    """``HH:MM:SS`` for every second of a day, indexed by second of day."""
    seconds = np.arange(SECONDS_PER_DAY)
    hours = pa.array(seconds // 3600)
    minutes = pa.array(seconds // 60 % 60)
    secs = pa.array(seconds % 60)
    parts = [two_digits(col) for col in (hours, minutes, secs)]
    return pc.binary_join_element_wise(*parts, ":")


@lru_cache(maxsize=1)
def _two_digit_lut() -> pa.Array:
    return pa.array([f"{i:02d}" for i in range(100)])


@lru_cache(maxsize=1)
def _millis_lut() -> pa.Array:
    return pa.array([f"{i:03d}Z" for i in range(1000)])


def two_digits(values: pa.Array | np.ndarray) -> pa.Array:
    """Integers 0..99 as zero-padded two-character text."""
    return pc.take(_two_digit_lut(), values)


def day_clock(day: dt.date, separator: str = "T") -> pa.Array:
    """``YYYY-MM-DD<sep>HH:MM:SS`` for every second of ``day``, indexed by second of day."""
    return pc.binary_join_element_wise(pa.scalar(day.isoformat()), _clock_lut(), separator)


def timestamps(clock: pa.Array, seconds: np.ndarray) -> pa.Array:
    """Source timestamps ``YYYY-MM-DDTHH:MM:SS`` from a day's clock and seconds of day."""
    return pc.take(clock, seconds)


def log_timestamps(clock: pa.Array, seconds: np.ndarray, millis: np.ndarray) -> pa.Array:
    """Log timestamps ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return pc.binary_join_element_wise(pc.take(clock, seconds), pc.take(_millis_lut(), millis), ".")


def int_text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def money_text(cents: np.ndarray) -> pa.Array:
    """Amounts in integer cents as decimal text with exactly two decimals (no float step)."""
    cents = np.asarray(cents, dtype=np.int64)
    sign = np.where(cents < 0, "-", "")
    whole = int_text(np.abs(cents) // 100)
    text = pc.binary_join_element_wise(whole, two_digits(np.abs(cents) % 100), ".")
    if (cents < 0).any():
        text = pc.binary_join_element_wise(pa.array(sign), text, "")
    return text


def sequence_ids(prefix: str, start: int, count: int, width: int = 8) -> pa.Array:
    """``<prefix><zero-padded number>`` for numbers ``start .. start+count-1``."""
    numbers = pc.utf8_lpad(int_text(np.arange(start, start + count)), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), numbers, "")


def pick(values: Sequence[str], index: np.ndarray) -> pa.Array:
    """``values[index]`` as an Arrow string array."""
    return pc.take(pa.array(list(values), pa.string()), index)


def choice_text(rng: np.random.Generator, values: Sequence[str], count: int) -> pa.Array:
    return pick(values, rng.integers(0, len(values), count))


def put(column: pa.Array, positions: np.ndarray, values: pa.Array) -> pa.Array:
    """``column`` with ``values`` at the ascending ``positions``."""
    if len(positions) == 0:
        return column
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    mask = np.zeros(len(column), dtype=bool)
    mask[positions] = True
    return pc.replace_with_mask(column, pa.array(mask), values.cast(column.type))


def choose(selector: np.ndarray, variants: Sequence[pa.Array]) -> pa.Array:
    """Per row, the text of the variant that ``selector`` names."""
    if len(selector) == 0:
        return pa.array([], pa.string())
    return pc.choose(pa.array(selector.astype(np.int8)), *variants)


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of text columns and literal strings."""
    args = [pa.scalar(p) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, "")


def lines_buffer(lines: pa.Array) -> pa.Buffer:
    """The bytes of ``lines`` each followed by ``\\n``, as one contiguous buffer."""
    with_newline = pc.binary_join_element_wise(lines, pa.scalar("\n"), "")
    if isinstance(with_newline, pa.ChunkedArray):
        with_newline = with_newline.combine_chunks()
    offsets_buf, data_buf = with_newline.buffers()[1], with_newline.buffers()[2]
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[
        with_newline.offset : with_newline.offset + len(with_newline) + 1
    ]
    if len(offsets) == 0 or data_buf is None:
        return pa.py_buffer(b"")
    return data_buf.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def write_atomically(path: Path, chunks: Iterable[bytes | pa.Buffer]) -> int:
    """Write ``chunks`` to ``path`` through a hidden temporary name; returns bytes written.

    The hidden name (leading dot) is ignored by Spark's file source, so a reader
    watching the folder never sees a half-written file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    size = 0
    with open(tmp, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
            size += len(chunk) if isinstance(chunk, bytes) else chunk.size
    os.replace(tmp, path)
    return size
