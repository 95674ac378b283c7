from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow.parquet as pq
import pytest
from pyspark.errors import ArithmeticException, NumberFormatException
from pyspark.sql import functions as F

from salesoptic.config import load_settings
from salesoptic.runtime.java import find_java
from salesoptic.runtime.jdbc import find_jdbc_driver
from salesoptic.runtime.spark import (
    JIT_THRESHOLDS,
    collector_chosen,
    default_driver_memory,
    java_error_summary,
    session_settings,
    spark_conf,
)


def test_session_runs_a_job(spark) -> None:
    df = spark.range(10_000).withColumn("bucket", F.col("id") % 7)
    counts = {
        r["bucket"]: r["n"] for r in df.groupBy("bucket").agg(F.count("*").alias("n")).collect()
    }
    assert counts == {b: len(range(b, 10_000, 7)) for b in range(7)}


def test_session_settings(spark) -> None:
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    assert spark.conf.get("spark.sql.adaptive.enabled") == "true"
    assert spark.conf.get("spark.ui.enabled") == "false"
    assert spark.conf.get("spark.sql.execution.arrow.pyspark.enabled") == "true"


def test_session_settings_are_put_back_after_the_block(spark, tmp_path) -> None:
    split = "spark.sql.files.maxPartitionBytes"
    folder = str(tmp_path / "uuids")
    spark.range(400_000).selectExpr("uuid() AS u").repartition(1).write.parquet(folder)
    default_splits = spark.read.parquet(folder).rdd.getNumPartitions()
    with session_settings(spark, {split: "1m", "spark.sql.shuffle.partitions": "3"}):
        assert spark.read.parquet(folder).rdd.getNumPartitions() > default_splits
        assert spark.conf.get("spark.sql.shuffle.partitions") == "3"
    assert spark.conf.get(split, None) is None  # not set before: unset again
    assert spark.conf.get("spark.sql.shuffle.partitions") != "3"
    assert spark.read.parquet(folder).rdd.getNumPartitions() == default_splits
    with (
        pytest.raises(RuntimeError),
        session_settings(spark, {"spark.sql.shuffle.partitions": "3"}),
    ):
        raise RuntimeError("a failed stage")
    assert spark.conf.get("spark.sql.shuffle.partitions") != "3"


def test_ansi_mode_is_on_and_try_cast_is_the_safe_way(spark) -> None:
    df = spark.createDataFrame([("2025-02-30T10:00:00", "2.5"), (None, "7")], "ts string, q string")
    judged = df.select(
        F.try_to_timestamp("ts", F.lit("yyyy-MM-dd'T'HH:mm:ss")).alias("ts"),
        F.col("q").try_cast("int").alias("q"),
    ).collect()
    assert [tuple(r) for r in judged] == [(None, None), (None, 7)]
    with pytest.raises((NumberFormatException, ArithmeticException, Exception)):
        df.select(F.col("q").cast("int")).collect()


def test_timestamps_are_utc(spark) -> None:
    row = spark.sql("SELECT unix_timestamp(to_timestamp('1970-01-01 01:00:00')) AS seconds").first()
    assert row["seconds"] == 3600


def test_folders_written_with_int96_timestamps_read_alongside_new_ones(spark, tmp_path) -> None:
    """Data written before timestamps were INT64 holds INT96: both read as the same instants."""
    instants = [
        datetime(2025, 3, 1, 23, 59, 59, 123456, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
    ]
    df = spark.createDataFrame(
        [(i, t) for i, t in enumerate(instants)], "id int, seen_at timestamp"
    )
    with session_settings(spark, {"spark.sql.parquet.outputTimestampType": "INT96"}):
        df.filter("id = 0").coalesce(1).write.parquet(str(tmp_path / "t" / "run=old"))
    df.filter("id = 1").coalesce(1).write.parquet(str(tmp_path / "t" / "run=new"))
    [old] = (tmp_path / "t" / "run=old").glob("*.parquet")
    [new] = (tmp_path / "t" / "run=new").glob("*.parquet")
    assert pq.ParquetFile(old).schema.column(1).physical_type == "INT96"
    assert pq.ParquetFile(new).schema.column(1).physical_type == "INT64"

    read = spark.read.parquet(str(tmp_path / "t")).orderBy("id")
    micros = [r[0] for r in read.select(F.unix_micros("seen_at")).collect()]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert micros == [(t - epoch) // timedelta(microseconds=1) for t in instants]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(
        "SELECT id, seen_at FROM read_parquet(?, union_by_name = true) ORDER BY id",
        [[str(old), str(new)]],
    ).fetchall()
    assert rows == list(enumerate(instants))


def test_conf_for_cluster_and_local(tmp_path) -> None:
    java, driver = find_java(), find_jdbc_driver(None)
    local = spark_conf(load_settings(data_dir=tmp_path, spark_master="local[*]"), java, driver)
    assert local["spark.driver.bindAddress"] == "127.0.0.1"
    assert int(local["spark.sql.shuffle.partitions"]) >= 4
    assert local["spark.jars"].endswith(".jar")
    assert "-XX:+UseParallelGC" in local["spark.driver.extraJavaOptions"]
    assert JIT_THRESHOLDS in local["spark.driver.extraJavaOptions"]
    remote = spark_conf(
        load_settings(data_dir=tmp_path, spark_master="spark://spark-master:7077"), java, driver
    )
    assert "spark.driver.bindAddress" not in remote
    assert remote["spark.sql.shuffle.partitions"] == "200"
    assert "UseParallelGC" not in remote["spark.driver.extraJavaOptions"]
    assert "Tier4" not in remote["spark.driver.extraJavaOptions"]
    assert "CompileThresholdScaling" not in remote["spark.driver.extraJavaOptions"]


def test_the_class_archive_options_go_to_the_driver_only(tmp_path) -> None:
    settings = load_settings(data_dir=tmp_path, spark_master="local[*]")
    option = "-XX:SharedArchiveFile=/cache/spark-driver-k.jsa -Xlog:cds*=off"
    conf = spark_conf(settings, find_java(), find_jdbc_driver(None), option)
    assert conf["spark.driver.extraJavaOptions"].endswith(f" {option}")
    assert "SharedArchiveFile" not in conf["spark.executor.extraJavaOptions"]
    plain = spark_conf(settings, find_java(), find_jdbc_driver(None))
    assert "SharedArchiveFile" not in plain["spark.driver.extraJavaOptions"]


def test_a_collector_chosen_in_the_environment_is_left_alone() -> None:
    assert collector_chosen({"JAVA_TOOL_OPTIONS": "-Xss4m -XX:+UseG1GC"})
    assert collector_chosen({"_JAVA_OPTIONS": "-XX:+UseZGC"})
    assert not collector_chosen({"JAVA_TOOL_OPTIONS": "-Xss4m -XX:-UsePerfData"})
    assert not collector_chosen({})


def test_local_conf_adds_no_second_collector(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("JAVA_TOOL_OPTIONS", "-XX:+UseG1GC")
    settings = load_settings(data_dir=tmp_path, spark_master="local[*]")
    conf = spark_conf(settings, find_java(), find_jdbc_driver(None))
    assert "GC" not in conf["spark.driver.extraJavaOptions"]


def test_driver_memory_is_sized_from_the_machine() -> None:
    value = default_driver_memory()
    assert value.endswith("g") and 1 <= int(value[:-1]) <= 16


@pytest.mark.parametrize(
    ("ram_gib", "expected"),
    [(1, "1g"), (8, "3g"), (16, "6g"), (23.5, "9g"), (32, "12g"), (64, "16g")],
)
def test_driver_memory_is_two_fifths_of_the_ram_in_whole_gib(ram_gib, expected) -> None:
    assert default_driver_memory(int(ram_gib * 1024**3)) == expected


def test_an_error_that_cannot_be_printed_is_summarised_by_its_type() -> None:
    class GoneJvmError(Exception):
        def __str__(self) -> str:  # as a Py4J error does once its JVM has stopped
            raise ConnectionRefusedError(111, "Connection refused")

    assert java_error_summary(GoneJvmError()) == "GoneJvmError"
    assert java_error_summary(ValueError("first line\nsecond")) == "first line"
