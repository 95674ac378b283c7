"""Gold publication on real Spark and a real file system: atomic swap, retention, rollback.

The tables published here are synthetic: every row carries the id of the version it
belongs to, and each version has its own row counts, so a reader can tell a mix of
versions or a half-written table from a complete one.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from salesoptic.errors import UserError
from salesoptic.pipeline.publish import (
    current_version,
    list_versions,
    prune_versions,
    publish_gold,
    rollback,
)


def expected_rows(version: str) -> dict[str, int]:
    """Row counts that differ from one version to the next (version ids end in a number)."""
    k = int(version.rsplit("-", 1)[-1])
    return {"alpha": 5 + k, "beta": 100 + 37 * k}


def make_tables(spark, version: str) -> dict:
    return {
        table: spark.range(rows, numPartitions=3).select(
            F.col("id"), F.lit(version).alias("version")
        )
        for table, rows in expected_rows(version).items()
    }


def publish(spark, gold: Path, version: str, keep: int = 5) -> Path:
    return publish_gold(make_tables(spark, version), gold, version, keep=keep)


def read_version_dir(version_dir: Path) -> tuple[str, dict[str, int], dict[str, set[str]]]:
    """Manifest version, manifest row counts, and the versions found in each table."""
    manifest = json.loads((version_dir / "_manifest.json").read_text())
    seen = {}
    for table in manifest["tables"]:
        data = pq.read_table(version_dir / table)
        seen[table] = (data.num_rows, set(data.column("version").to_pylist()))
    rows = {table: t["rows"] for table, t in manifest["tables"].items()}
    return manifest["version_id"], rows, seen


def assert_one_sentence(message: str) -> None:
    assert "\n" not in message and message.endswith(".") and ". " not in message, message


def test_publish_writes_every_table_then_points_current(spark, tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    version_dir = publish(spark, gold, "v-1")

    assert version_dir == gold / "versions" / "v-1"
    assert (gold / "current").is_symlink()
    assert os.readlink(gold / "current") == "versions/v-1"  # relative: the folder can move
    version, rows, seen = read_version_dir(gold / "current")
    assert version == "v-1"
    assert rows == expected_rows("v-1")
    assert seen == {t: (n, {"v-1"}) for t, n in expected_rows("v-1").items()}
    [info] = list_versions(gold)
    assert (info.id, info.complete, info.is_current, info.rows) == (
        "v-1",
        True,
        True,
        expected_rows("v-1"),
    )
    assert info.created_at is not None and info.created_at.tzinfo is not None
    with pytest.raises(ValueError, match="already published"):
        publish(spark, gold, "v-1")


def test_readers_never_see_a_mix_of_versions(spark, tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    publish(spark, gold, "v-1", keep=3)
    stop = threading.Event()
    problems: list[str] = []
    resolved_reads: list[str] = []
    direct_reads: list[str] = []
    direct_errors: list[str] = []

    def read_resolved() -> None:
        """The documented protocol: resolve `current` once, read every table from there."""
        while not stop.is_set():
            try:
                version, rows, seen = read_version_dir(Path(os.path.realpath(gold / "current")))
            except Exception as exc:
                problems.append(f"resolved read failed: {exc!r}")
                time.sleep(0.01)
                continue
            want = expected_rows(version)
            if rows != want or seen != {t: (n, {version}) for t, n in want.items()}:
                problems.append(f"mixed or partial gold: {version} {rows} {seen}")
            resolved_reads.append(version)

    def read_direct() -> None:
        """A naive reader (DuckDB over current/<table>): a table is always one whole version.

        Between listing a table's files and opening them the link may move on; such a read
        fails and is retried, but it never returns rows of two versions or a partial table.
        """
        con = duckdb.connect()
        while not stop.is_set():
            try:
                versions, rows = con.execute(
                    "SELECT list(DISTINCT version), count(*) "
                    f"FROM read_parquet('{gold}/current/beta/*.parquet')"
                ).fetchone()
            except duckdb.Error as exc:
                direct_errors.append(str(exc).splitlines()[0])
                time.sleep(0.001)
                continue
            if len(versions) != 1 or rows != expected_rows(versions[0])["beta"]:
                problems.append(f"direct read saw {versions} with {rows} rows")
            else:
                direct_reads.append(versions[0])
        con.close()

    readers = [threading.Thread(target=read_resolved), threading.Thread(target=read_direct)]
    for reader in readers:
        reader.start()
    try:
        for k in range(2, 8):
            publish(spark, gold, f"v-{k}", keep=3)
            time.sleep(0.05)
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=30)

    assert problems == []
    assert len(set(resolved_reads)) >= 3, sorted(set(resolved_reads))
    assert len(set(direct_reads)) >= 3, sorted(set(direct_reads))
    assert current_version(gold) == "v-7"
    assert [v.id for v in list_versions(gold)] == ["v-5", "v-6", "v-7"]


def test_retention_keeps_newest_complete_versions_and_the_current_one(
    spark, tmp_path: Path
) -> None:
    gold = tmp_path / "gold"
    for k in range(1, 5):
        publish(spark, gold, f"v-{k}", keep=2)
    assert [v.id for v in list_versions(gold)] == ["v-3", "v-4"]
    assert sorted(p.name for p in (gold / "versions").iterdir()) == ["v-3", "v-4"]

    assert rollback(gold) == "v-3"
    publish(spark, gold, "v-5", keep=3)
    assert rollback(gold, to="v-3") == "v-3"
    # The current version survives even when it is not among the newest `keep`.
    assert prune_versions(gold, keep=1) == ["v-4"]
    assert [(v.id, v.is_current) for v in list_versions(gold)] == [
        ("v-3", True),
        ("v-5", False),
    ]
    assert read_version_dir(gold / "current")[0] == "v-3"


def test_rollback_moves_current_back_and_explains_failures(spark, tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    with pytest.raises(UserError) as nothing:
        rollback(gold)
    assert_one_sentence(str(nothing.value))

    for k in (1, 2, 3):
        publish(spark, gold, f"v-{k}")
    assert rollback(gold) == "v-2"
    assert current_version(gold) == "v-2"
    assert read_version_dir(gold / "current")[0] == "v-2"
    assert rollback(gold) == "v-1"
    with pytest.raises(UserError) as oldest:
        rollback(gold)
    assert_one_sentence(str(oldest.value))
    assert "v-1" in str(oldest.value)
    assert current_version(gold) == "v-1"

    with pytest.raises(UserError) as unknown:
        rollback(gold, to="v-9")
    assert_one_sentence(str(unknown.value))
    assert "v-9" in str(unknown.value)
    assert rollback(gold, to="v-3") == "v-3"
    assert read_version_dir(gold / "current")[0] == "v-3"


def test_a_crash_mid_write_is_never_published_and_is_cleaned_up(spark, tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    publish(spark, gold, "v-1")

    # A publication that dies after its first table: the second table fails at run time.
    tables = make_tables(spark, "v-2")
    tables["beta"] = tables["beta"].select(
        F.when(F.col("id") == 50, F.raise_error(F.lit("disk on fire"))).otherwise(F.col("id")),
        "version",
    )
    with pytest.raises(Exception, match="disk on fire"):
        publish_gold(tables, gold, "v-2")
    assert (gold / "versions" / "v-2" / "alpha").is_dir()  # the half-written version
    # A crash that left only stray files in a newer folder (no manifest).
    stray = gold / "versions" / "v-3" / "alpha"
    stray.mkdir(parents=True)
    (stray / "part-00000.parquet").write_bytes(b"PAR1 half a file")

    assert current_version(gold) == "v-1"
    assert read_version_dir(gold / "current")[0] == "v-1"
    assert [(v.id, v.complete) for v in list_versions(gold)] == [
        ("v-1", True),
        ("v-2", False),
        ("v-3", False),
    ]
    with pytest.raises(UserError):
        rollback(gold, to="v-3")
    with pytest.raises(UserError):
        rollback(gold)  # v-1 is the only complete version
    assert current_version(gold) == "v-1"

    publish(spark, gold, "v-4")
    assert [v.id for v in list_versions(gold)] == ["v-1", "v-4"]
    assert sorted(p.name for p in (gold / "versions").iterdir()) == ["v-1", "v-4"]
    assert not list(gold.glob(".current-*"))
    # A retried publication under the id of a crashed one replaces its leftovers.
    (gold / "versions" / "v-5" / "alpha").mkdir(parents=True)
    publish(spark, gold, "v-5")
    assert read_version_dir(gold / "current")[:2] == ("v-5", expected_rows("v-5"))


def test_a_current_that_is_not_a_link_is_refused(spark, tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    (gold / "current").mkdir(parents=True)
    with pytest.raises(UserError) as refused:
        publish(spark, gold, "v-1")
    assert_one_sentence(str(refused.value))
    assert not (gold / "versions" / "v-1").exists()
