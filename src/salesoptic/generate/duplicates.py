"""The pool of clean records that later files re-send as duplicates.

Only clean, non-duplicate records enter the pool, and a copy is always written to a
later file than its original, so the original is the copy the pipeline keeps.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# Per file, at most this many clean records join the pool (bounds memory at large scale).
POOL_PER_FILE = 20_000


class DuplicatePool:
    """Clean records of earlier files (every field as source text), one table per file."""

    def __init__(self) -> None:
        self._tables: list[pa.Table] = []
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    def add(self, table: pa.Table | None) -> None:
        if table is not None and len(table):
            self._tables.append(table)
            self._rows += len(table)

    def sample(self, rng: np.random.Generator, count: int) -> pa.Table:
        """``count`` records drawn from the pool (with replacement only if it is too small)."""
        table = pa.concat_tables(self._tables)
        index = rng.choice(len(table), size=count, replace=count > len(table))
        return table.take(pa.array(index)).combine_chunks()
