"""`salesoptic doctor`: is everything SalesOptic needs here and working?"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from salesoptic.config import Settings
from salesoptic.errors import UserError
from salesoptic.runtime.java import find_java
from salesoptic.runtime.jdbc import find_jdbc_driver, read_table
from salesoptic.runtime.pgurl import PgUrl
from salesoptic.runtime.postgres import resolve_pg
from salesoptic.runtime.spark import java_error_summary, start_spark, stop_spark

MIN_FREE_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks(
    settings: Settings,
    on_check: Callable[[Check], None] = lambda c: None,
    on_progress: Callable[[str], None] = lambda message: None,
) -> list:
    """Run every check in order; a check that depends on a failed one fails with a pointer."""
    checks: list[Check] = []

    def record(check: Check) -> Check:
        checks.append(check)
        on_check(check)
        return check

    record(_check_python())
    java_ok = record(_check_java()).ok
    record(_check_jdbc_driver(settings))
    record(_check_disk(settings.data_dir))
    pg, pg_check = _check_postgres(settings)
    record(pg_check)
    if not java_ok:
        record(Check("Spark", False, "needs Java", "fix the Java check first"))
        record(Check("Spark over JDBC", False, "needs Java", "fix the Java check first"))
        return checks
    spark = None
    try:
        started = time.monotonic()
        spark = start_spark(settings, "salesoptic-doctor")
        total = spark.range(1_000_000).selectExpr("sum(id) AS s").first()["s"]
        seconds = time.monotonic() - started
        if total != 499_999_500_000:
            record(Check("Spark", False, f"a test job returned {total}", "reinstall pyspark"))
        else:
            record(
                Check(
                    "Spark",
                    True,
                    f"{spark.version} on {settings.spark_master}, session and job in "
                    f"{seconds:.1f} s",
                )
            )
        record(_check_spark_jdbc(spark, pg))
    except UserError as exc:
        record(Check("Spark", False, str(exc), "see the Java check; pip install pyspark"))
        record(Check("Spark over JDBC", False, "needs Spark", "fix the Spark check first"))
    finally:
        if spark is not None:
            stop_spark(spark, on_progress)
    return checks


def _check_python() -> Check:
    version = ".".join(str(v) for v in sys.version_info[:3])
    return Check("Python", True, f"{version} ({sys.executable})")


def _check_java() -> Check:
    try:
        java = find_java()
    except UserError as exc:
        return Check("Java", False, str(exc), "apt-get install openjdk-17-jre-headless")
    return Check("Java", True, f"{java.major} from {java.origin} ({java.home})")


def _check_jdbc_driver(settings: Settings) -> Check:
    try:
        driver = find_jdbc_driver(settings.jdbc_jar)
    except UserError as exc:
        return Check("JDBC driver", False, str(exc), "set SALESOPTIC_JDBC_JAR to a real jar")
    return Check("JDBC driver", True, driver.description)


def _check_disk(data_dir: Path) -> Check:
    existing = data_dir.absolute()
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    detail = f"{free / 1024**3:.1f} GiB free at {existing}"
    if free < MIN_FREE_BYTES:
        return Check("Disk", False, detail, "free some space or use another --data-dir")
    return Check("Disk", True, detail)


def _check_postgres(settings: Settings) -> tuple[PgUrl | None, Check]:
    import psycopg

    fix = "start the server or pass a correct --pg-url (postgresql://user:pw@host:port/db)"
    try:
        pg = resolve_pg(settings)
    except UserError as exc:
        return None, Check("PostgreSQL", False, str(exc), fix)
    try:
        with psycopg.connect(pg.url, connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error as exc:
        reason = _first_line(str(exc), pg)
        return None, Check("PostgreSQL", False, f"cannot connect to {pg.masked}: {reason}", fix)
    return pg, Check("PostgreSQL", True, f"{version} at {pg.masked}")


def _check_spark_jdbc(spark, pg: PgUrl | None) -> Check:
    if pg is None:
        return Check("Spark over JDBC", False, "needs PostgreSQL", "fix the PostgreSQL check")
    try:
        value = read_table(spark, pg, "(SELECT 1 AS one) AS probe").first()["one"]
    except Exception as exc:
        reason = _first_line(java_error_summary(exc), pg)
        return Check(
            "Spark over JDBC", False, reason, "check the JDBC driver and the PostgreSQL URL"
        )
    return Check("Spark over JDBC", value == 1, f"read {pg.masked} from Spark")


def _first_line(text: str, pg: PgUrl) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line.replace(pg.password, "***") if pg.password else line
