"""Silver and quarantine against the generator's ground truth, record by record.

Identities are computed here from the raw files with plain Python (csv, json, re), not
with the pipeline's code.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from salesoptic.config import load_settings
from salesoptic.contracts.reasons import REASONS_BY_DATASET
from salesoptic.generate import GenerateSpec, generate
from salesoptic.pipeline.bronze import run_bronze
from salesoptic.pipeline.runner import new_run_id
from salesoptic.pipeline.silver import SilverStore, run_silver

FIELDS = {
    "sales": ["transaction_id", "timestamp", "customer_id", "product_id", "quantity",
              "unit_price", "channel"],
    "events": ["event_id", "timestamp", "user_id", "session_id", "event_type", "product_id",
               "device"],
    "logs": ["timestamp", "level", "service", "status", "latency_ms", "msg"],
}  # fmt: skip
LOG_LINE = re.compile(
    r'^(\S+) (\S+) ([A-Za-z][A-Za-z0-9]*) status=(\d+) latency_ms=(\d+) msg="(.*)"$'
)
COUNTS = {"sales": 4000, "events": 5000, "logs": 3000, "customers": 60, "products": 15}


def as_text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def fields_of(dataset: str, raw: str) -> tuple | None:
    """The record's fields as text, or None when it cannot be split (malformed)."""
    if dataset == "sales":
        row = next(csv.reader(io.StringIO(raw)))
        # An empty CSV field is absent: Spark's CSV reader gives null.
        return tuple(v if v != "" else None for v in row) if len(row) == 7 else None
    if dataset == "events":
        try:
            obj = json.loads(raw)
        except ValueError:
            return None
        return (
            tuple(as_text(obj.get(f)) for f in FIELDS["events"]) if isinstance(obj, dict) else None
        )
    match = LOG_LINE.match(raw)
    return match.groups() if match else None


def records(source_dir: Path, dataset: str):
    """(file name, record index, raw text) of every record of the landing zone."""
    for path in sorted((source_dir / dataset).glob("*.*")):
        text = path.read_text(encoding="utf-8")
        if dataset == "sales":
            lines = text.splitlines()[1:]
        else:
            lines = [line for line in text.splitlines() if line.strip()]
        for index, raw in enumerate(lines):
            yield path.name, index, raw


def identity(dataset: str, file: str, raw_or_fields, reasons) -> tuple:
    return (dataset, file, raw_or_fields, tuple(reasons))


def truth_identities(data_dir: Path) -> tuple[Counter, set]:
    truth = duckdb.sql(
        f"SELECT dataset, source, record_index, key, raw, reasons "
        f"FROM read_parquet('{data_dir}/source/_truth/defects_batch_*.parquet')"
    ).fetchall()
    ids: Counter = Counter()
    defective: set = set()
    for dataset, source, index, key, raw, reasons in truth:
        if source.startswith("postgres:"):
            ids[identity(dataset, source, key, reasons)] += 1
            defective.add((dataset, key))
            continue
        file = Path(source).name
        fields = fields_of(dataset, raw)
        ids[identity(dataset, file, fields if fields is not None else raw, reasons)] += 1
        defective.add((dataset, file, index))
    return ids, defective


def quarantine_identities(data_dir: Path) -> Counter:
    ids: Counter = Counter()
    for dataset in FIELDS:
        for row in _read(data_dir / "quarantine" / dataset):
            file = row["_source"].rsplit("/", 1)[-1]
            if row["_corrupt_record"] is not None:
                key = row["_corrupt_record"]
            else:
                key = tuple(row[f] for f in FIELDS[dataset])
            ids[identity(dataset, file, key, row["reasons"])] += 1
    for dataset, key in (("customers", "customer_id"), ("products", "product_id")):
        for row in _read(data_dir / "quarantine" / dataset):
            ids[identity(dataset, f"postgres:{dataset}", row[key], row["reasons"])] += 1
    return ids


def _read(folder: Path) -> list[dict]:
    files = list(folder.glob("run=*/*.parquet"))
    if not files:
        return []
    return (
        duckdb.sql(f"SELECT * FROM read_parquet('{folder}/run=*/*.parquet')")
        .df()
        .to_dict("records")
    )


def silver_values(data_dir: Path, dataset: str, column: str) -> Counter:
    rows = duckdb.sql(
        f"SELECT CAST({column} AS VARCHAR) AS v FROM read_parquet("
        f"'{data_dir}/silver/{dataset}/run=*/**/*.parquet', hive_partitioning=false)"
    ).fetchall()
    return Counter(v for (v,) in rows)


def clean_keys(data_dir: Path, defective: set) -> dict[str, Counter]:
    """Keys (or per-file counts for logs) of the records the truth does not list."""
    out: dict[str, Counter] = {"sales": Counter(), "events": Counter(), "logs": Counter()}
    for dataset in out:
        for file, index, raw in records(data_dir / "source", dataset):
            if (dataset, file, index) in defective:
                continue
            fields = fields_of(dataset, raw)
            out[dataset][fields[0] if dataset != "logs" else file] += 1
    return out


def per_code_scores(expected: Counter, actual: Counter) -> dict[str, tuple[float, float]]:
    scores = {}
    codes = {c.value for codes in REASONS_BY_DATASET.values() for c in codes}
    for code in codes:
        want = Counter({k: n for k, n in expected.items() if code in k[3]})
        got = Counter({k: n for k, n in actual.items() if code in k[3]})
        hit = sum((want & got).values())
        precision = hit / sum(got.values()) if got else 1.0
        recall = hit / sum(want.values()) if want else 1.0
        scores[code] = (precision, recall)
    return scores


def run_bronze_silver(spark, data_dir: Path, pg) -> list:
    settings = load_settings(data_dir=data_dir)
    run_id = new_run_id()
    run_bronze(spark, settings, pg, run_id)
    return run_silver(spark, settings, run_id)


def assert_matches_truth(data_dir: Path) -> None:
    expected, defective = truth_identities(data_dir)
    actual = quarantine_identities(data_dir)
    scores = per_code_scores(expected, actual)
    assert all(score == (1.0, 1.0) for score in scores.values()), {
        code: s for code, s in scores.items() if s != (1.0, 1.0)
    }
    assert actual == expected
    clean = clean_keys(data_dir, defective)
    assert silver_values(data_dir, "sales", "transaction_id") == clean["sales"]
    assert silver_values(data_dir, "events", "event_id") == clean["events"]
    log_files = Counter(
        {Path(s).name: n for s, n in silver_values(data_dir, "logs", "_source").items()}
    )
    assert log_files == clean["logs"]


@pytest.mark.parametrize(("rate", "seed"), [(0.05, 42), (0.2, 7), (0.0, 3)])
def test_quarantine_matches_the_ground_truth(spark, tmp_path, pg, pg_url, rate, seed) -> None:
    spec = GenerateSpec.from_options("tiny", seed=seed, defect_rate=rate, **COUNTS)
    generate(spec, tmp_path / "source", pg_url)
    counts = run_bronze_silver(spark, tmp_path, pg)
    for c in counts:
        assert c.rows_in == c.rows_valid + c.rows_quarantined, c
    assert_matches_truth(tmp_path)
    assert all(c.rows_quarantined == 0 for c in counts) == (rate == 0)


def test_incremental_batches_and_reruns(spark, tmp_path, pg, pg_url) -> None:
    spec = GenerateSpec.from_options("tiny", seed=5, defect_rate=0.1, **COUNTS)
    generate(spec, tmp_path / "source", pg_url)
    run_bronze_silver(spark, tmp_path, pg)
    first_commits = {
        d: len(SilverStore(load_settings(data_dir=tmp_path), d).records())
        for d in ("sales", "events", "logs")
    }

    settings = load_settings(data_dir=tmp_path)
    again = run_silver(spark, settings, new_run_id())  # no new bronze: nothing changes
    assert [c.rows_in for c in again] == [0, 0, 0, 0, 0]
    assert {d: len(SilverStore(settings, d).records()) for d in first_commits} == first_commits

    spec2 = GenerateSpec.from_options("tiny", seed=5, defect_rate=0.1, batch=2, **COUNTS)
    generate(spec2, tmp_path / "source", pg_url)
    counts = {c.dataset: c for c in run_bronze_silver(spark, tmp_path, pg)}
    assert counts["sales"].reasons.get("DUPLICATE", 0) > 0
    assert_matches_truth(tmp_path)
