"""Ground truth: every defective record of a batch and the codes the pipeline must give it.

Layout under ``<source>/_truth/``:

- ``defects_batch_NNNN.parquet``: one row per defective record of batch NNNN, columns
  ``dataset``, ``source`` (file path relative to the source folder, or
  ``postgres:<table>``), ``record_index`` (0-based record ordinal within the file, the
  header excluded; null for tables), ``key`` (business key text; the id for tables;
  null for logs, malformed records and missing keys), ``raw`` (the record's text for
  files, null for tables) and ``reasons`` (codes in contract order).
- ``manifest_batch_NNNN.json``: the batch's options, days and per-dataset counts.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from salesoptic.contracts.reasons import REASONS_BY_DATASET
from salesoptic.generate.common import FileResult
from salesoptic.generate.defects import DefectPlan

TRUTH_DIR = "_truth"

SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("source", pa.string()),
        ("record_index", pa.int64()),
        ("key", pa.string()),
        ("raw", pa.string()),
        ("reasons", pa.list_(pa.string())),
    ]
)


def defects_path(source_dir: Path, batch: int) -> Path:
    return source_dir / TRUTH_DIR / f"defects_batch_{batch:04d}.parquet"


def manifest_path(source_dir: Path, batch: int) -> Path:
    return source_dir / TRUTH_DIR / f"manifest_batch_{batch:04d}.json"


def file_truth(result: FileResult) -> pa.Table:
    """Truth rows of one generated file."""
    plan = result.plan
    n = len(plan)
    return pa.table(
        {
            "dataset": pa.array([result.dataset] * n, pa.string()),
            "source": pa.array([result.source] * n, pa.string()),
            "record_index": pa.array(plan.positions, pa.int64()),
            "key": result.keys.cast(pa.string()),
            "raw": pc.take(result.lines, plan.positions),
            "reasons": plan.reasons(),
        },
        schema=SCHEMA,
    )


def table_truth(table: str, ids: np.ndarray, plan: DefectPlan) -> pa.Table:
    """Truth rows of one PostgreSQL table load (``ids`` are the loaded rows' ids)."""
    n = len(plan)
    return pa.table(
        {
            "dataset": pa.array([table] * n, pa.string()),
            "source": pa.array([f"postgres:{table}"] * n, pa.string()),
            "record_index": pa.nulls(n, pa.int64()),
            "key": pa.array(ids[plan.positions].astype(str), pa.string()),
            "raw": pa.nulls(n, pa.string()),
            "reasons": plan.reasons(),
        },
        schema=SCHEMA,
    )


class TruthWriter:
    """Streams truth rows to the batch's Parquet file, one row group per generated file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._tmp = path.with_name(f".{path.name}.part")
        self._writer = pq.ParquetWriter(self._tmp, SCHEMA, compression="zstd")

    def write(self, table: pa.Table) -> None:
        if len(table):
            self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()
        self._tmp.replace(self.path)

    def abort(self) -> None:
        self._writer.close()
        self._tmp.unlink(missing_ok=True)


class DatasetCounts:
    """Per dataset: records, defective records, records per code, records per file."""

    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        self.records = 0
        self.defective = 0
        self.reasons: Counter[str] = Counter({c.value: 0 for c in REASONS_BY_DATASET[dataset]})
        self.files: dict[str, int] = {}

    def add(self, records: int, plan: DefectPlan, source: str | None = None) -> None:
        self.records += records
        self.defective += len(plan)
        self.reasons.update(plan.counts())
        if source is not None:
            self.files[source] = records

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "records": self.records,
            "defective": self.defective,
            "reasons": dict(self.reasons),
        }
        if self.files:
            out["files"] = self.files
        return out


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_manifest(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))
