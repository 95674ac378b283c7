"""Parquet writer options of bronze and silver, per dataset.

Parquet writers start every column chunk with a dictionary and fall back to plain
encoding once it stops paying off. For a field with about one value per record the
dictionary never pays off, and building it first cost a fifth of the write of the large
bronze events (docs/performance.md): those fields are written plain from the start.
"""

from __future__ import annotations

from salesoptic.contracts.sources import DISTINCT_FIELDS


def writer_options(dataset: str) -> dict[str, str]:
    """Options for ``DataFrameWriter.options``: no dictionary for ``DISTINCT_FIELDS``."""
    return {
        f"parquet.enable.dictionary#{name}": "false" for name in DISTINCT_FIELDS.get(dataset, ())
    }
