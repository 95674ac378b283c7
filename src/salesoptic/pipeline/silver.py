"""Silver and quarantine: bronze records typed, judged by their contract, deduplicated.

Every bronze row ends in exactly one of silver or quarantine, and the run checks it.

Storage (I/O at the edges of this module):
- ``silver/<dataset>/run=<run_id>/[date=<d>/]`` and ``quarantine/<dataset>/run=<run_id>/``:
  what one run added. Facts append one folder per run; dimensions keep only the newest.
- ``_state/silver/<dataset>/<run_id>.json``: the commit record of a run for a dataset,
  written last (atomic rename): the bronze batches or snapshot it judged and its counts.
  Folders without a commit record are leftovers of a killed run, removed before work.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from salesoptic.config import Settings
from salesoptic.contracts.reasons import (
    DIMENSION_DATASETS,
    FACT_DATASETS,
    REASONS_BY_DATASET,
    Reason,
)
from salesoptic.contracts.rules import CONTRACTS, Contract
from salesoptic.contracts.schemas import REASONS_COLUMN, SILVER_SCHEMAS
from salesoptic.contracts.sources import CORRUPT_COLUMN, RESCUED_COLUMN, SOURCE_FIELDS
from salesoptic.pipeline.encoding import writer_options
from salesoptic.runtime.spark import session_settings

TYPED = "_typed"
# Up to this many new rows, the hashes of a batch's keys (8 bytes each) are broadcast to
# narrow silver's earlier keys; beyond, they are joined by a shuffle of the hashes.
BROADCAST_BATCH_ROWS = 4_000_000
# Facts are read from bronze in splits of at most this size (Parquet, compressed; about
# 700,000 events). With Spark's 128 MB a large batch came in 5 M-row partitions: each
# task's cache blocks were large and its sort for the date-partitioned write spilled.
FACT_SPLIT_BYTES = "16m"


class AccountingError(RuntimeError):
    """Bronze rows in differ from silver plus quarantine rows out: a bug, never ignored."""


@dataclass
class SilverCounts:
    """What one run judged for one dataset (the accounting identity's three terms)."""

    dataset: str
    rows_in: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    bronze_batches: list[str] = field(default_factory=list)
    snapshot: str | None = None


# -- pure transformations -----------------------------------------------------------


def reasons_array(conditions: list[tuple[Reason, Column]]) -> Column:
    """The codes whose condition holds, in the given order (an empty array when none)."""
    empty = F.array().cast("array<string>")
    if not conditions:
        return empty
    # concat_ws skips nulls and compiles to plain code; filter() or array_compact() would
    # run a lambda per row, interpreted. Codes hold no comma.
    joined = F.concat_ws(",", *[F.when(cond, F.lit(code.value)) for code, cond in conditions])
    return F.when(joined == "", empty).otherwise(F.split(joined, ","))


def judge(bronze_df: DataFrame, contract: Contract) -> DataFrame:
    """Add ``_typed`` (the silver columns) and ``reasons`` (the contract's own rules).

    Each typed column is computed once, in its own projection, and the rules read it
    (Spark does not merge a projection into the next when that would compute a costly
    expression twice). A malformed record gets its MALFORMED code alone.
    """
    typed_exprs = contract.typed()
    staged = {f"{TYPED}_{name}": expr for name, expr in typed_exprs.items()}
    t = {name: F.col(f"{TYPED}_{name}") for name in typed_exprs}
    if contract.date_of:
        t["date"] = F.to_date(t[contract.date_of])
    reasons = reasons_array(contract.rules(t))
    if contract.malformed is not None:
        malformed = contract.malformed_when(t)
        reasons = F.when(malformed, F.array(F.lit(contract.malformed.value))).otherwise(reasons)
    typed = F.struct(*[column.alias(name) for name, column in t.items()])
    return (
        bronze_df.withColumns(staged)
        .withColumns({TYPED: typed, REASONS_COLUMN: reasons})
        .drop(*staged)
    )


def with_reference_reasons(
    judged_df: DataFrame, customers_df: DataFrame, products_df: DataFrame
) -> DataFrame:
    """UNKNOWN_CUSTOMER / UNKNOWN_PRODUCT for sales whose id is present but not in silver.

    An id that is present but not an integer refers to no customer either. Malformed
    rows keep their one code. Each id is looked up in a broadcast of silver's ids by an
    existence join (``isin`` of a DataFrame), which reads only the hash table. A left
    join also read the matched row: one more memory access per sale, which mostly
    missed the CPU's caches (a tenth of the task threads' time while the large sales
    were judged, in a Flight Recorder profile).
    """

    def known(column: str, dimension_df: DataFrame) -> Column:
        ids_df = F.broadcast(dimension_df.select(column))
        return F.coalesce(F.col(f"{TYPED}.{column}").isin(ids_df), F.lit(False))

    # Columns of their own: each use of an ``isin`` of a DataFrame is a join of its own.
    known_df = judged_df.withColumns(
        {
            "_known_customer": known("customer_id", customers_df),
            "_known_product": known("product_id", products_df),
        }
    )
    present = F.col(CORRUPT_COLUMN).isNull()
    unknown_customer = present & (F.trim("customer_id") != "") & ~F.col("_known_customer")
    unknown_product = present & (F.trim("product_id") != "") & ~F.col("_known_product")
    extra = reasons_array(
        [(Reason.UNKNOWN_CUSTOMER, unknown_customer), (Reason.UNKNOWN_PRODUCT, unknown_product)]
    )
    return known_df.withColumn(REASONS_COLUMN, F.concat(F.col(REASONS_COLUMN), extra)).drop(
        "_known_customer", "_known_product"
    )


def file_name(source: Column) -> Column:
    return F.element_at(F.split(source, "/"), -1)


def key_hash(key: Column) -> Column:
    """The 64-bit hash by which silver counts and matches keys; null for no key (whose
    hash would otherwise be the seed)."""
    return F.when(key.isNotNull(), F.xxhash64(key))


def record_key_hashes(records_df: DataFrame, key: Column) -> DataFrame:
    """Column ``_hash``: the ``key_hash`` of every record that has a key, whether or not
    it passes."""
    keys_df = records_df.select(key.alias("_key")).where(F.col("_key").isNotNull())
    return keys_df.select(key_hash(F.col("_key")).alias("_hash"))


def key_range(records_df: DataFrame, key: Column) -> tuple[object, object] | None:
    """The smallest and largest key among a batch's records (a Spark job reading the key
    column); None when no record has a key."""
    low, high = records_df.select(F.min(key), F.max(key)).first() or (None, None)
    return None if low is None else (low, high)


def keys_in_range(keys_df: DataFrame, key: str, bounds: tuple[object, object] | None) -> DataFrame:
    """Silver's earlier keys that could equal a key of the batch: those within its range.

    Given as literals, the bounds reach the Parquet reader, which skips the row groups
    and pages whose statistics lie outside them. Keys that grow with time (ids holding a
    date, sequences) leave a day's worth of earlier keys to read instead of all of them;
    with keys in no order nothing is skipped and the result is the same.
    """
    if bounds is None:
        return keys_df.where(F.lit(False))
    return keys_df.where(F.col(key).between(*bounds))


def contested_keys(
    hashes_df: DataFrame,
    key: str,
    existing_keys_df: DataFrame | None,
    small_batch: bool = True,
) -> DataFrame:
    """Key hashes to rank: several records have the hash, or a key in silver has it.

    ``hashes_df`` is ``record_key_hashes`` of the batch. Records that fail a rule count
    too, so the keys are found from the key column alone, before the records are judged;
    ranking such a key changes nothing, as a record failing a rule never outranks one
    that passes (``mark_duplicates``). Keys are counted by their 64-bit hash: a long is
    hashed, shuffled and compared for less than a text key, and a collision of two keys
    only ranks them (by the key itself), which keeps each. Columns ``_hash`` and
    ``_silver_keys`` (silver's keys of that hash as text, or null); they are few
    (duplicates, re-sent keys), so callers broadcast them. Silver's earlier keys are
    many: they are first narrowed to those whose hash is a hash of this batch's keys
    (broadcast when the batch is small), so they are never shuffled as text.
    ``existing_keys_df`` None means silver holds no earlier run.
    """
    # Nearly every key is unique: a partial aggregate before the shuffle would only fill
    # (and at scale spill) a hash map of every key, so the hashes are shuffled first.
    copies_df = (
        hashes_df.repartition("_hash").groupBy("_hash").agg(F.count(F.lit(1)).alias("_copies"))
    )
    if existing_keys_df is None:
        return copies_df.where(F.col("_copies") > 1).select(
            "_hash", F.lit(None).cast(T.ArrayType(T.StringType())).alias("_silver_keys")
        )
    batch_hashes_df = F.broadcast(hashes_df) if small_batch else hashes_df
    existing_df = (
        existing_keys_df.select(F.col(key).alias("_silver_key"))
        .withColumn("_hash", key_hash(F.col("_silver_key")))
        .join(batch_hashes_df, "_hash", "left_semi")
        .groupBy("_hash")
        .agg(F.collect_set(F.col("_silver_key").cast("string")).alias("_silver_keys"))
    )
    return (
        copies_df.join(existing_df, "_hash", "left")
        .where((F.col("_copies") > 1) | F.col("_silver_keys").isNotNull())
        .select("_hash", "_silver_keys")
    )


def with_contested_flags(judged_df: DataFrame, key: str, contested_df: DataFrame) -> DataFrame:
    """Columns ``_hash`` (set for the records of a contested key hash, else null) and
    ``_in_silver`` (the record's own key is in silver), from ``contested_keys``.

    The judged rows themselves are never shuffled for the join, and the broadcast side
    is probed by a long.
    """
    typed_key = F.col(f"{TYPED}.{key}")
    flagged_df = judged_df.join(
        F.broadcast(contested_df), key_hash(typed_key) == F.col("_hash"), "left"
    )
    in_silver = F.coalesce(F.array_contains("_silver_keys", typed_key.cast("string")), F.lit(False))
    return flagged_df.withColumn("_in_silver", in_silver).drop("_silver_keys")


def without_unread_raw_fields(judged_df: DataFrame, raw_fields: Iterable[str]) -> DataFrame:
    """Raw fields set to null where nothing reads them: a record that passes every rule
    and whose key is not contested goes to silver, which takes its typed columns only.

    Quarantine rows keep the fields as received, and contested keys' records keep them
    to be ranked by them. For the large events, a cache holding the text fields twice
    (raw and typed) filled in 58-60 s, and in 41-43 s with them once.
    """
    contested = F.col("_hash").isNotNull() if "_hash" in judged_df.columns else F.lit(False)
    read = (F.size(REASONS_COLUMN) > 0) | contested
    extras = [c for c in (RESCUED_COLUMN, CORRUPT_COLUMN) if c in judged_df.columns]
    return judged_df.withColumns(
        {name: F.when(read, F.col(name)) for name in (*raw_fields, *extras)}
    )


def mark_duplicates(
    flagged_df: DataFrame, key: str, raw_fields: tuple[str, ...]
) -> tuple[DataFrame, DataFrame]:
    """DUPLICATE for all but one record per contested key among those passing every other
    rule, and for every such record of a key already in silver.

    ``flagged_df`` is judged and ``with_contested_flags``. The record kept is the one
    from the file whose name sorts first, then the smallest full path, then the smallest
    fields in contract order (nulls first): a total order, so the result does not depend
    on partitioning. Only the contested keys' records are ranked, so the sort touches a
    few rows rather than all of them.

    Returns the records of uncontested keys, unchanged, and the contested keys' records
    with their reasons; together they are all of ``flagged_df``.
    """
    typed_key = F.col(f"{TYPED}.{key}")
    clean_row = F.size(REASONS_COLUMN) == 0
    helpers = ("_hash", "_in_silver")
    plain_df = flagged_df.where(F.col("_hash").isNull()).drop(*helpers)
    order = Window.partitionBy(typed_key).orderBy(
        (~clean_row).asc(),
        file_name(F.col("_source")).asc(),
        F.col("_source").asc(),
        *[F.col(name).asc_nulls_first() for name in raw_fields],
    )
    ranked_df = flagged_df.where(F.col("_hash").isNotNull()).withColumn(
        "_rank", F.row_number().over(order)
    )
    duplicate = clean_row & ((F.col("_rank") > 1) | F.col("_in_silver"))
    judged_contested_df = ranked_df.withColumn(
        REASONS_COLUMN,
        F.when(duplicate, F.array(F.lit(Reason.DUPLICATE.value))).otherwise(F.col(REASONS_COLUMN)),
    ).drop("_rank", *helpers)
    return plain_df, judged_contested_df


def valid_rows(judged_df: DataFrame, dataset: str, run_id: str) -> DataFrame:
    """The silver rows: typed columns and lineage, of records with no reason."""
    schema = SILVER_SCHEMAS[dataset]
    typed_names = [f.name for f in schema.fields if not f.name.startswith("_")]
    return judged_df.where(F.size(REASONS_COLUMN) == 0).select(
        *[F.col(f"{TYPED}.{name}").alias(name) for name in typed_names],
        "_source",
        "_ingested_at",
        F.lit(run_id).alias("_run_id"),
    )


def quarantined_rows(judged_df: DataFrame, dataset: str, run_id: str) -> DataFrame:
    """The quarantine rows: the fields as received, lineage, and the reasons."""
    extras = [c for c in (RESCUED_COLUMN, CORRUPT_COLUMN) if c in judged_df.columns]
    return judged_df.where(F.size(REASONS_COLUMN) > 0).select(
        *SOURCE_FIELDS[dataset],
        *extras,
        "_source",
        "_ingested_at",
        F.lit(run_id).alias("_run_id"),
        REASONS_COLUMN,
    )


def reason_counts(dataset: str) -> list[Column]:
    """Rows per reason code of the dataset, as aggregates named by the codes (a row holds
    each code at most once)."""
    return [
        F.count_if(F.array_contains(REASONS_COLUMN, code.value)).alias(code.value)
        for code in REASONS_BY_DATASET[dataset]
    ]


def latest_version_per_key(versions_df: DataFrame, key: str) -> DataFrame:
    """One row per key: the newest ``updated_at``; on a tie, the newest run's row."""
    order = Window.partitionBy(key).orderBy(
        F.col("updated_at").desc_nulls_last(), F.col("_run_id").desc()
    )
    return (
        versions_df.withColumn("_rank", F.row_number().over(order))
        .where(F.col("_rank") == 1)
        .drop("_rank")
    )


# -- storage ------------------------------------------------------------------------


def parquet_rows(folders: Iterable[str | Path]) -> int:
    """Rows of the Parquet files under ``folders``, from their footers: the driver reads
    no data and runs no Spark job. Hidden files are skipped, as Spark skips them."""
    return sum(
        pq.ParquetFile(part).metadata.num_rows
        for folder in folders
        for part in Path(folder).rglob("*.parquet")
        if not part.name.startswith(("_", "."))
    )


class SilverStore:
    """Committed silver/quarantine folders and their commit records for one dataset."""

    def __init__(self, settings: Settings, dataset: str) -> None:
        self.dataset = dataset
        self.silver = (settings.silver_dir / dataset).absolute()
        self.quarantine = (settings.quarantine_dir / dataset).absolute()
        self.commits = (settings.state_dir / "silver" / dataset).absolute()

    def records(self) -> list[dict]:
        if not self.commits.is_dir():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.commits.glob("*.json"))]

    def committed_runs(self) -> list[str]:
        return [r["run_id"] for r in self.records()]

    def judged_batches(self) -> set[str]:
        return {b for r in self.records() for b in r.get("bronze_batches", [])}

    def recover(self) -> None:
        """Remove what a killed run left: uncommitted run folders and staging."""
        committed = set(self.committed_runs())
        for root in (self.silver, self.quarantine):
            shutil.rmtree(root / "_staging", ignore_errors=True)
            for folder in root.glob("run=*"):
                if folder.name.removeprefix("run=") not in committed:
                    shutil.rmtree(folder)

    def silver_paths(self) -> list[str]:
        return [
            str(self.silver / f"run={run}")
            for run in self.committed_runs()
            if (self.silver / f"run={run}").is_dir()
        ]

    def rows(self) -> int:
        """Rows of the committed silver (see ``parquet_rows``)."""
        return parquet_rows(self.silver_paths())

    def write(
        self,
        df: DataFrame,
        root: Path,
        run_id: str,
        partition_by_date: bool,
        metrics: Iterable[Column] = (),
    ) -> dict[str, int]:
        """Write to staging, then rename to ``run=<run_id>``; returns ``rows`` (the rows
        written) and the named ``metrics``, aggregates counted while writing."""
        staging = root / "_staging" / f"run={run_id}-{uuid.uuid4().hex[:8]}"
        observation = Observation(f"silver-{uuid.uuid4().hex[:8]}")
        observed_df = df.observe(observation, F.count(F.lit(1)).alias("rows"), *metrics)
        writer = observed_df.write.options(**writer_options(self.dataset))
        if partition_by_date:
            writer = writer.partitionBy("date")
        writer.parquet(str(staging))
        observed = {name: int(value or 0) for name, value in observation.get.items()}
        staging.rename(root / f"run={run_id}")
        (root / "_staging").rmdir()
        return observed

    def commit(self, counts: SilverCounts, run_id: str) -> None:
        """Write the commit record last: only now does the run's output count."""
        self.commits.mkdir(parents=True, exist_ok=True)
        record = {"run_id": run_id, **asdict(counts)}
        tmp = self.commits / f".{run_id}.json.tmp"
        tmp.write_text(json.dumps(record, indent=2))
        os.replace(tmp, self.commits / f"{run_id}.json")

    def drop_older_runs(self, keep_run: str) -> None:
        """Dimensions: only the newest silver and quarantine folders stay."""
        for record in self.records():
            run = record["run_id"]
            if run == keep_run:
                continue
            for root in (self.silver, self.quarantine):
                shutil.rmtree(root / f"run={run}", ignore_errors=True)


def read_silver(spark: SparkSession, settings: Settings, dataset: str) -> DataFrame:
    """The committed silver rows of a dataset, with its contract schema."""
    store = SilverStore(settings, dataset)
    schema = SILVER_SCHEMAS[dataset]
    paths = store.silver_paths()
    if not paths:
        return spark.createDataFrame([], schema)
    reader = spark.read.schema(schema).option("basePath", str(store.silver))
    return reader.parquet(*paths).select(*schema.fieldNames())


# -- the stage ------------------------------------------------------------------------


def _bronze_batches(settings: Settings, dataset: str) -> list[Path]:
    return sorted((settings.bronze_dir / dataset).absolute().glob("batch=*"))


def write_quarantine(
    store: SilverStore, judged_df: DataFrame, run_id: str
) -> tuple[int, dict[str, int]]:
    """Write the quarantine rows of ``judged_df``; returns their count and the rows per
    reason code present, both counted while writing."""
    observed = store.write(
        quarantined_rows(judged_df, store.dataset, run_id),
        store.quarantine,
        run_id,
        False,
        reason_counts(store.dataset),
    )
    rows = observed.pop("rows")
    return rows, {code: n for code, n in observed.items() if n}


def _finish(
    store: SilverStore,
    judged_df: DataFrame,
    counts: SilverCounts,
    run_id: str,
    partition_by_date: bool,
) -> SilverCounts:
    """Write silver and quarantine, check the accounting identity, commit."""
    # Empty outputs are written too: every committed run has both folders.
    valid = store.write(
        valid_rows(judged_df, store.dataset, run_id), store.silver, run_id, partition_by_date
    )["rows"]
    quarantined, counts.reasons = write_quarantine(store, judged_df, run_id)
    counts.rows_valid, counts.rows_quarantined = valid, quarantined
    if counts.rows_in != valid + quarantined:
        raise AccountingError(
            f"{store.dataset}: {counts.rows_in} bronze rows but {valid} silver + "
            f"{quarantined} quarantine rows; nothing of this run was committed."
        )
    store.commit(counts, run_id)
    return counts


def judge_dimension(
    spark: SparkSession, settings: Settings, dataset: str, run_id: str
) -> SilverCounts | None:
    """Judge the newest bronze snapshot of a dimension, unless already judged."""
    store = SilverStore(settings, dataset)
    snapshots = sorted((settings.bronze_dir / dataset).absolute().glob("snapshot=*"))
    if not snapshots:
        return None
    latest = snapshots[-1]
    snapshot_id = latest.name.removeprefix("snapshot=")
    if any(r.get("snapshot") == snapshot_id for r in store.records()):
        return None
    counts = SilverCounts(dataset, snapshot=snapshot_id)
    snapshot_df = spark.read.parquet(str(latest))
    counts.rows_in = parquet_rows([latest])
    key = CONTRACTS[dataset].key[0]
    # Judged twice (for silver, then quarantine) rather than cached: judging a snapshot
    # costs less than filling the cache with it.
    judged_df = judge(snapshot_df, CONTRACTS[dataset])
    valid_seen = Observation(f"valid-{dataset}-{run_id}")
    valid_df = valid_rows(judged_df, dataset, run_id).observe(
        valid_seen, F.count(F.lit(1)).alias("rows")
    )
    merged_df = latest_version_per_key(
        valid_df.unionByName(read_silver(spark, settings, dataset)), key
    )
    store.write(merged_df, store.silver, run_id, False)
    quarantined, counts.reasons = write_quarantine(store, judged_df, run_id)
    counts.rows_valid = int(valid_seen.get.get("rows", 0))
    counts.rows_quarantined = quarantined
    if counts.rows_in != counts.rows_valid + quarantined:
        raise AccountingError(
            f"{dataset}: a snapshot of {counts.rows_in} rows but {counts.rows_valid} valid + "
            f"{quarantined} quarantined; nothing of this run was committed."
        )
    store.commit(counts, run_id)
    store.drop_older_runs(run_id)
    return counts


def judge_facts(spark: SparkSession, settings: Settings, dataset: str, run_id: str) -> SilverCounts:
    """Judge the bronze batches of a fact dataset that no earlier run judged."""
    store = SilverStore(settings, dataset)
    judged_before = store.judged_batches()
    new_batches = [b for b in _bronze_batches(settings, dataset) if b.name not in judged_before]
    counts = SilverCounts(dataset, bronze_batches=[b.name for b in new_batches])
    if not new_batches:
        return counts
    bronze_df = spark.read.parquet(*[str(b) for b in new_batches])
    counts.rows_in = parquet_rows(new_batches)  # independent of the writes
    contract = CONTRACTS[dataset]
    judged_df = judge(bronze_df, contract)
    if dataset == "sales":
        judged_df = with_reference_reasons(
            judged_df,
            read_silver(spark, settings, "customers"),
            read_silver(spark, settings, "products"),
        )
    # Contested keys (a few) are found first, from the key column alone. Bronze is then
    # read and judged once into a cache, with the raw fields only where they are read;
    # each write scans the cache. Bronze's run id is not cached: silver and quarantine
    # rows get this run's. A dataset without a key has nothing to rank and is not
    # cached: each write judges bronze again, which costs less than filling the cache.
    cached: list[DataFrame] = []

    def keep(df: DataFrame) -> DataFrame:
        cached.append(df.persist(StorageLevel.MEMORY_AND_DISK))
        return cached[-1]

    try:
        final_df = judged_df
        if contract.key:
            key = contract.key[0]
            typed_key = contract.typed()[key]
            existing_keys_df = None
            if store.silver_paths():
                existing_keys_df = keys_in_range(
                    read_silver(spark, settings, dataset).select(key),
                    key,
                    key_range(bronze_df, typed_key),
                )
            small_batch = counts.rows_in <= BROADCAST_BATCH_ROWS
            hashes_df = record_key_hashes(bronze_df, typed_key)
            contested_df = keep(contested_keys(hashes_df, key, existing_keys_df, small_batch))
            flagged_df = with_contested_flags(judged_df, key, contested_df)
            fields = SOURCE_FIELDS[dataset]
            cached_df = keep(without_unread_raw_fields(flagged_df.drop("_run_id"), fields))
            plain_df, contested_rows_df = mark_duplicates(cached_df, key, fields)
            # Ranked once for both writes (usually few rows: duplicates, re-sent keys);
            # each write would otherwise scan all the judged rows to find and rank them.
            final_df = plain_df.unionByName(keep(contested_rows_df))
        return _finish(store, final_df, counts, run_id, partition_by_date=True)
    finally:
        for df in cached:
            df.unpersist()


def run_silver(
    spark: SparkSession,
    settings: Settings,
    run_id: str,
    on_dataset: Callable[[SilverCounts], None] = lambda counts: None,
) -> list[SilverCounts]:
    """Judge dimensions first (sales refer to them), then the facts."""
    results = []
    for dataset in (*DIMENSION_DATASETS, *FACT_DATASETS):
        SilverStore(settings, dataset).recover()
    for dataset in DIMENSION_DATASETS:
        started = time.monotonic()
        counts = judge_dimension(spark, settings, dataset, run_id) or SilverCounts(dataset)
        counts.seconds = time.monotonic() - started
        results.append(counts)
        on_dataset(counts)
    for dataset in FACT_DATASETS:
        started = time.monotonic()
        with session_settings(spark, {"spark.sql.files.maxPartitionBytes": FACT_SPLIT_BYTES}):
            counts = judge_facts(spark, settings, dataset, run_id)
        counts.seconds = time.monotonic() - started
        results.append(counts)
        on_dataset(counts)
    return results
