"""Bronze: every source record kept raw (all fields strings), with lineage.

Grain: one row per source record (a CSV line, a JSON line, a log line, a table row).
Files are ingested exactly once: a Structured Streaming file listing with
``trigger(availableNow=True)`` and a checkpoint under ``data/_state/checkpoints/`` says
which files are new; each micro-batch's files are read with the dataset's reader and
written to ``bronze/<dataset>/batch=<n>/`` by an atomic rename, so a batch that is
replayed after a crash replaces its own earlier attempt. PostgreSQL tables are read over
JDBC as one snapshot per run into ``bronze/<dataset>/snapshot=<run_id>/``.
"""

from __future__ import annotations

import csv
import fnmatch
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from salesoptic.config import Settings
from salesoptic.contracts.sources import (
    CORRUPT_COLUMN,
    FILE_SOURCES,
    LOG_LINE_PATTERN,
    RESCUED_COLUMN,
    SOURCE_FIELDS,
    TABLE_SOURCES,
)
from salesoptic.errors import UserError
from salesoptic.pipeline.encoding import writer_options
from salesoptic.runtime.jdbc import read_table
from salesoptic.runtime.pgcheck import require_tables
from salesoptic.runtime.pgurl import PgUrl

_BINARY_FILE_SCHEMA = T.StructType(
    [
        T.StructField("path", T.StringType()),
        T.StructField("modificationTime", T.TimestampType()),
        T.StructField("length", T.LongType()),
        T.StructField("content", T.BinaryType()),
    ]
)
# The file listing must never skip a file for its age (the default is 7 days).
_NEVER_TOO_OLD = "36500d"


@dataclass(frozen=True)
class BronzeCounts:
    """What one run added to one bronze dataset."""

    dataset: str
    files: int
    rows: int
    corrupt: int
    seconds: float
    # Files listed for a batch but deleted before they were read (nothing left to read).
    missing: tuple[str, ...] = ()


# -- pure transformations -----------------------------------------------------------


def fields_from_csv_header(raw_df: DataFrame, header: Sequence[str], dataset: str) -> DataFrame:
    """Name a CSV file's positional columns ``c0..cN`` by the file's own header.

    Contract fields absent from the header are null; header columns outside the contract
    go to ``_rescued_data`` (a JSON object); a line whose field count differs from the
    header (``_corrupt_record`` set by Spark) keeps only its raw text.
    """
    fields = SOURCE_FIELDS[dataset]
    position: dict[str, int] = {}
    extras: list[tuple[str, int]] = []
    for index, name in enumerate(header):
        if name in fields and name not in position:
            position[name] = index
        else:
            extras.append((name, index))
    corrupt = F.col(CORRUPT_COLUMN).isNotNull()

    def field(name: str) -> Column:
        if name not in position:
            return F.lit(None).cast("string").alias(name)
        return F.when(~corrupt, F.col(f"c{position[name]}")).alias(name)

    if extras:
        pairs = [part for name, index in extras for part in (F.lit(name), F.col(f"c{index}"))]
        rescued = F.when(~corrupt, F.to_json(F.create_map(*pairs)))
    else:
        rescued = F.lit(None).cast("string")
    return raw_df.select(
        *[field(name) for name in fields],
        rescued.alias(RESCUED_COLUMN),
        F.col(CORRUPT_COLUMN),
        F.col("_source"),
    )


def fields_from_json_lines(lines_df: DataFrame, dataset: str) -> DataFrame:
    """Split JSON lines into string fields; a line that is not one JSON object is corrupt.

    Wrapping the line in ``[...]`` and parsing it as an array of objects rejects what a
    lenient parser would accept: trailing text, two objects, arrays, scalars.
    """
    fields = SOURCE_FIELDS[dataset]
    parsed = F.from_json(
        F.concat(F.lit("["), F.col("value"), F.lit("]")),
        T.ArrayType(T.MapType(T.StringType(), T.StringType())),
        # Strict JSON: Spark would otherwise accept 'single quotes' and NaN.
        {"allowSingleQuotes": "false", "allowNonNumericNumbers": "false"},
    )
    # Parsed into a column of its own: used twice in one expression, it is parsed twice.
    arrays = lines_df.select("value", "_source", parsed.alias("_arr"))
    obj = F.when(F.size("_arr") == 1, F.col("_arr").getItem(0))
    with_obj = arrays.select("value", "_source", obj.alias("_obj"))
    known = F.array(*[F.lit(name) for name in fields])
    # Most lines hold the contract names in contract order: their values are read by
    # position, and the checks below are skipped. Map lookups (a scan of the names per
    # field) are left to the other lines.
    in_order = F.coalesce(F.map_keys("_obj") == known, F.lit(False))
    # As many names as contract names found: every name is a contract name, none twice.
    # For the rest, the set operations below (a hash set per line) run.
    found = sum(F.map_contains_key("_obj", F.lit(name)).cast("int") for name in fields)
    ordered = with_obj.withColumn("_in_order", in_order)
    checked = ordered.withColumn("_plain", F.col("_in_order") | (F.size("_obj") == found))
    # A name repeated in one object would keep one of its values and lose the other.
    unique_names = F.col("_plain") | (
        F.size(F.array_distinct(F.map_keys("_obj"))) == F.size("_obj")
    )
    ok = F.col("_obj").isNotNull() & unique_names
    # map_filter runs its lambda interpreted: only for the rare lines with extra names.
    has_extra = ~F.col("_plain") & (F.size(F.array_except(F.map_keys("_obj"), known)) > 0)
    extra = F.map_filter("_obj", lambda k, _v: ~F.array_contains(known, k))
    values = F.map_values("_obj")
    return checked.select(
        *[
            F.when(F.col("_in_order"), values.getItem(i))
            .otherwise(F.try_element_at("_obj", F.lit(name)))
            .alias(name)
            for i, name in enumerate(fields)
        ],
        F.when(has_extra, F.to_json(extra)).alias(RESCUED_COLUMN),
        F.when(~ok, F.col("value")).alias(CORRUPT_COLUMN),
        "_source",
    )


def fields_from_log_lines(lines_df: DataFrame) -> DataFrame:
    """Split log lines by the log format; a line not in the format is corrupt.

    One regex pass rewrites a matching line as its groups joined by spaces, then a split
    takes them apart: only the last group (the message) can hold a space, and the split
    leaves it whole. One ``regexp_extract`` per field would run the regex once per field.
    """
    fields = SOURCE_FIELDS["logs"]
    matches = F.col("value").rlike(LOG_LINE_PATTERN)
    groups = " ".join(f"${i + 1}" for i in range(len(fields)))
    parts = F.split(F.regexp_replace("value", LOG_LINE_PATTERN, groups), " ", len(fields))
    split = lines_df.select("value", "_source", F.when(matches, parts).alias("_parts"))
    return split.select(
        *[F.col("_parts").getItem(i).alias(name) for i, name in enumerate(fields)],
        F.when(F.col("_parts").isNull(), F.col("value")).alias(CORRUPT_COLUMN),
        "_source",
    )


def drop_blank_lines(lines_df: DataFrame) -> DataFrame:
    """A blank line holds no record (as Spark's own CSV and JSON readers treat it)."""
    return lines_df.where(F.trim(F.col("value")) != "")


def with_lineage(df: DataFrame, run_id: str) -> DataFrame:
    return df.withColumns({"_ingested_at": F.current_timestamp(), "_run_id": F.lit(run_id)})


def table_as_strings(df: DataFrame, dataset: str, source: str) -> DataFrame:
    """Every column of a table snapshot as a string; contract fields it lacks as null."""
    present = set(df.columns)
    fields = SOURCE_FIELDS[dataset]
    columns = [
        F.col(name).cast("string").alias(name)
        if name in present
        else F.lit(None).cast("string").alias(name)
        for name in fields
    ]
    others = [F.col(c).cast("string").alias(c) for c in df.columns if c not in fields]
    return df.select(*columns, *others, F.lit(source).alias("_source"))


# -- reading --------------------------------------------------------------------------


def local_path(uri: str) -> Path:
    """The local path of a ``file:`` URI as Spark lists it."""
    return Path(unquote(urlsplit(uri).path))


def read_csv_header(path: Path) -> list[str] | None:
    """A CSV file's header names (BOM and surrounding spaces removed); None when empty."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        try:
            return [name.strip() for name in next(csv.reader(handle))]
        except StopIteration:
            return None


def read_csv_files(spark: SparkSession, paths: Sequence[str], dataset: str) -> DataFrame | None:
    """Read CSV files, each mapped by its own header; files sharing a header read together."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for path in paths:
        header = read_csv_header(local_path(path))
        if header:
            groups.setdefault(tuple(header), []).append(path)
    frames = []
    for header, group in groups.items():
        schema = T.StructType(
            [T.StructField(f"c{i}", T.StringType()) for i in range(len(header))]
            + [T.StructField(CORRUPT_COLUMN, T.StringType())]
        )
        raw_df = (
            spark.read.schema(schema)
            .options(
                header=True,
                multiLine=True,  # quoted fields may hold line breaks
                escape='"',  # RFC 4180: a quote inside quotes is doubled
                mode="PERMISSIVE",
                columnNameOfCorruptRecord=CORRUPT_COLUMN,
                encoding="UTF-8",
            )
            .csv(group)
            .withColumn("_source", F.col("_metadata.file_path"))
            # A line of spaces is blank, not a record (Spark skips only empty lines).
            .where(F.coalesce(F.trim(CORRUPT_COLUMN) != "", F.lit(True)))
        )
        frames.append(fields_from_csv_header(raw_df, header, dataset))
    return _union(frames)


def read_line_files(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    return drop_blank_lines(
        spark.read.text(list(paths)).select("value", F.col("_metadata.file_path").alias("_source"))
    )


def read_source_files(spark: SparkSession, dataset: str, paths: Sequence[str]) -> DataFrame | None:
    if dataset == "sales":
        return read_csv_files(spark, paths, dataset)
    lines_df = read_line_files(spark, paths)
    if dataset == "events":
        return fields_from_json_lines(lines_df, dataset)
    return fields_from_log_lines(lines_df)


def _union(frames: Iterable[DataFrame]) -> DataFrame | None:
    result = None
    for frame in frames:
        result = frame if result is None else result.unionByName(frame)
    return result


# -- writing --------------------------------------------------------------------------


def write_atomically(df: DataFrame, final: Path, dataset: str) -> tuple[int, int]:
    """Write Parquet to a hidden staging folder, then rename it to ``final``.

    Returns (rows, corrupt rows), counted while writing. A folder already at ``final``
    is an earlier attempt of the same batch, replaced whole.
    """
    staging = final.parent / "_staging" / f"{final.name}-{uuid.uuid4().hex[:8]}"
    observation = Observation(f"bronze-{uuid.uuid4().hex[:8]}")
    observed = df.observe(
        observation,
        F.count(F.lit(1)).alias("rows"),
        F.count(F.col(CORRUPT_COLUMN)).alias("corrupt")
        if CORRUPT_COLUMN in df.columns
        else F.lit(0).alias("corrupt"),
    )
    observed.write.options(**writer_options(dataset)).mode("errorifexists").parquet(str(staging))
    metrics = observation.get
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
    staging.parent.rmdir()  # empty again: one run writes one batch at a time
    return int(metrics.get("rows", 0)), int(metrics.get("corrupt", 0))


def refuse_undecodable_names(folder: Path, pattern: str) -> None:
    """A file name that is not UTF-8 cannot be opened by Spark, which would skip the file."""
    for raw in sorted(os.listdir(os.fsencode(folder))):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            name = raw.decode("utf-8", "backslashreplace")
            if fnmatch.fnmatchcase(name, pattern):
                raise UserError(
                    f"The file name {name} in {folder} is not valid UTF-8, so Spark cannot "
                    "read it; rename it so that its records are not skipped."
                ) from None


def clear_staging(target: Path) -> None:
    """Remove staging folders left by a killed run (only one run works at a time)."""
    shutil.rmtree(target / "_staging", ignore_errors=True)


# -- the stage ------------------------------------------------------------------------


def ingest_files(
    spark: SparkSession, settings: Settings, dataset: str, run_id: str
) -> BronzeCounts:
    """Ingest the files of ``dataset`` that no earlier run ingested."""
    started = time.monotonic()
    source = (settings.source_dir / dataset).absolute()
    source.mkdir(parents=True, exist_ok=True)
    target = (settings.bronze_dir / dataset).absolute()
    clear_staging(target)
    checkpoint = (settings.state_dir / "checkpoints" / "bronze" / dataset).absolute()
    refuse_undecodable_names(source, FILE_SOURCES[dataset])
    totals = {"files": 0, "rows": 0, "corrupt": 0}
    missing: list[str] = []
    failure: list[BaseException] = []

    def ingest_batch(listing_df: DataFrame, batch_id: int) -> None:
        try:
            listed = sorted(row.path for row in listing_df.collect())
            # A file deleted after the listing has nothing left to read: it is named in
            # the run's record instead of failing this batch (and every replay of it).
            paths = [p for p in listed if local_path(p).exists()]
            missing.extend(str(local_path(p)) for p in listed if p not in paths)
            records_df = read_source_files(spark, dataset, paths) if paths else None
            if records_df is None:
                return
            rows, corrupt = write_atomically(
                with_lineage(records_df, run_id), target / f"batch={batch_id:08d}", dataset
            )
            totals["files"] += len(paths)
            totals["rows"] += rows
            totals["corrupt"] += corrupt
        except BaseException as exc:  # re-raised below, outside the streaming callback
            failure.append(exc)
            raise

    query = (
        spark.readStream.format("binaryFile")
        .schema(_BINARY_FILE_SCHEMA)
        .option("pathGlobFilter", FILE_SOURCES[dataset])
        .option("maxFileAge", _NEVER_TOO_OLD)
        .load(str(source))
        .select("path")
        .writeStream.queryName(f"bronze_{dataset}")
        .foreachBatch(ingest_batch)
        .option("checkpointLocation", str(checkpoint))
        .trigger(availableNow=True)
        .start()
    )
    try:
        query.awaitTermination()
    except Exception:
        if failure:
            raise failure[0] from None
        raise
    return BronzeCounts(
        dataset,
        totals["files"],
        totals["rows"],
        totals["corrupt"],
        time.monotonic() - started,
        tuple(missing),
    )


def snapshot_table(
    spark: SparkSession, settings: Settings, pg: PgUrl, dataset: str, run_id: str
) -> BronzeCounts:
    """Read one PostgreSQL table over JDBC into a new bronze snapshot."""
    started = time.monotonic()
    target = (settings.bronze_dir / dataset).absolute()
    clear_staging(target)
    table_df = read_table(spark, pg, dataset, key=TABLE_SOURCES[dataset])
    snapshot_df = with_lineage(table_as_strings(table_df, dataset, f"postgres:{dataset}"), run_id)
    rows, _ = write_atomically(snapshot_df, target / f"snapshot={run_id}", dataset)
    return BronzeCounts(dataset, 1, rows, 0, time.monotonic() - started)


def latest_snapshot(bronze_dir: Path, dataset: str) -> Path | None:
    """The newest complete snapshot folder of a dimension (run ids sort by time)."""
    snapshots = sorted((bronze_dir / dataset).glob("snapshot=*"))
    return snapshots[-1] if snapshots else None


def run_bronze(
    spark: SparkSession,
    settings: Settings,
    pg: PgUrl,
    run_id: str,
    on_dataset: Callable[[BronzeCounts], None] = lambda counts: None,
) -> list[BronzeCounts]:
    """Land all five datasets; tables first, so an unreachable database stops the run
    before any file is taken."""
    if not settings.source_dir.is_dir():
        raise UserError(
            f"There is no landing zone at {settings.source_dir}; run `salesoptic generate` "
            "or put source files there."
        )
    require_tables(pg, list(TABLE_SOURCES))
    results = []
    for dataset in TABLE_SOURCES:
        results.append(snapshot_table(spark, settings, pg, dataset, run_id))
        on_dataset(results[-1])
    for dataset in FILE_SOURCES:
        results.append(ingest_files(spark, settings, dataset, run_id))
        on_dataset(results[-1])
    return results
