"""PostgreSQL JDBC driver discovery (DESIGN section 8)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from salesoptic.errors import UserError
from salesoptic.runtime.pgurl import PgUrl

DEBIAN_JAR = Path("/usr/share/java/postgresql.jar")
MAVEN_COORDINATE = "org.postgresql:postgresql:42.7.4"


@dataclass(frozen=True)
class JdbcDriver:
    """Either a local jar (``spark.jars``) or a Maven coordinate (``spark.jars.packages``)."""

    jar: Path | None = None
    package: str | None = None

    @property
    def description(self) -> str:
        return str(self.jar) if self.jar else f"{self.package} (downloaded by Spark)"


def find_jdbc_driver(configured: Path | None) -> JdbcDriver:
    """``SALESOPTIC_JDBC_JAR`` (or --jdbc-jar), else the Debian jar, else Spark's download."""
    if configured is not None:
        if not configured.is_file():
            raise UserError(f"The JDBC driver jar {configured} does not exist.")
        return JdbcDriver(jar=configured.absolute())
    if DEBIAN_JAR.is_file():
        return JdbcDriver(jar=DEBIAN_JAR.resolve())
    return JdbcDriver(package=MAVEN_COORDINATE)


def read_table(
    spark,  # SparkSession
    pg: PgUrl,
    table: str,
    key: str | None = None,
    rows_per_partition: int = 250_000,
    max_partitions: int = 16,
):  # -> DataFrame
    """Read a PostgreSQL table over JDBC; large tables in parallel, split on ``key``.

    Bounds and row count come from one small query; a table of more than
    ``rows_per_partition`` rows is read in ``ceil(rows / rows_per_partition)`` (at most
    ``max_partitions``) ranges of ``key``. Credentials travel in the JDBC properties,
    never in the URL.
    """
    properties = {**pg.jdbc_properties, "fetchsize": "10000"}
    if key is None:
        return spark.read.jdbc(pg.jdbc_url, table, properties=properties)
    bounds = spark.read.jdbc(
        pg.jdbc_url,
        f"(SELECT min({key}) AS lo, max({key}) AS hi, count(*) AS n FROM {table}) AS bounds",
        properties=properties,
    ).first()
    rows = int(bounds["n"]) if bounds is not None else 0
    partitions = min(max_partitions, -(-rows // rows_per_partition))
    if partitions <= 1:
        return spark.read.jdbc(pg.jdbc_url, table, properties=properties)
    return spark.read.jdbc(
        pg.jdbc_url,
        table,
        column=key,
        lowerBound=int(bounds["lo"]),
        upperBound=int(bounds["hi"]) + 1,
        numPartitions=partitions,
        properties=properties,
    )
