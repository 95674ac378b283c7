from pathlib import Path

import pytest
from pyspark.sql import functions as F

from salesoptic.errors import UserError
from salesoptic.runtime.jdbc import DEBIAN_JAR, MAVEN_COORDINATE, find_jdbc_driver, read_table


def test_configured_jar_wins(tmp_path: Path) -> None:
    jar = tmp_path / "driver.jar"
    jar.write_bytes(b"PK")
    assert find_jdbc_driver(jar).jar == jar


def test_configured_jar_must_exist(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        find_jdbc_driver(tmp_path / "missing.jar")


def test_default_is_debian_jar_then_maven(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    assert find_jdbc_driver(None).jar == DEBIAN_JAR.resolve()
    monkeypatch.setattr("salesoptic.runtime.jdbc.DEBIAN_JAR", tmp_path / "absent.jar")
    driver = find_jdbc_driver(None)
    assert driver.jar is None and driver.package == MAVEN_COORDINATE


def test_spark_reads_postgres_with_a_partitioned_read(spark, pg, pg_url) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS jdbc_probe")
        conn.execute("CREATE TABLE jdbc_probe (id integer primary key, amount numeric(10,2))")
        with conn.cursor().copy("COPY jdbc_probe (id, amount) FROM STDIN") as copy:
            for i in range(1, 5001):
                copy.write_row((i, f"{i % 97}.{i % 100:02d}"))
        expected = conn.execute("SELECT count(*), sum(amount) FROM jdbc_probe").fetchone()

    df = read_table(spark, pg, "jdbc_probe", key="id", rows_per_partition=1000)
    partitions = df.select(F.spark_partition_id().alias("p")).distinct().count()
    row = df.agg(F.count("*").alias("n"), F.sum("amount").alias("total")).first()
    assert partitions == 5
    assert (row["n"], row["total"]) == expected

    small = read_table(spark, pg, "jdbc_probe", key="id")
    assert small.select(F.spark_partition_id()).distinct().count() == 1
    assert small.count() == expected[0]
