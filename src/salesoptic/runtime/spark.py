"""The Spark session factory: one tuned session per command, stopped cleanly.

Decisions (see docs/runtime.md): ANSI SQL mode stays on, so an unexpected bad cast fails
loudly; raw values are judged with ``try_*`` functions instead. Session time zone UTC,
adaptive execution on, shuffle partitions sized from the cores for local runs, Arrow on,
the Spark UI off unless asked, Spark's log at the configured level.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from salesoptic.config import Settings
from salesoptic.errors import UserError
from salesoptic.runtime.class_archive import (
    archive_key,
    archive_possible,
    jvm_options,
    keep_archive,
    pending_archive,
)
from salesoptic.runtime.java import Java, cache_dir, find_java
from salesoptic.runtime.jdbc import JdbcDriver, find_jdbc_driver

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_GIB = 1024**3
# Seconds to wait for a TCP answer from a standalone master before giving up.
MASTER_CONNECT_TIMEOUT = 5.0
# Local runs: the optimizing compiler's thresholds three times the JDK's, then every
# compile threshold doubled (docs/performance.md, tuning log).
JIT_THRESHOLDS = (
    "-XX:Tier4InvocationThreshold=15000 -XX:Tier4CompileThreshold=45000 "
    "-XX:Tier4BackEdgeThreshold=120000 -XX:CompileThresholdScaling=2"
)
# Seconds a driver JVM may take to write its class archive as it exits.
ARCHIVE_WRITE_TIMEOUT = 120.0

_LOG4J2 = """\
rootLogger.level = {level}
rootLogger.appenderRef.file.ref = file
# Spark's log goes to a file: the console is for SalesOptic's own one-sentence messages,
# and a failure's details stay one look away in data/_state/spark/spark.log.
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{{yyyy-MM-dd HH:mm:ss}} %p %c{{1}}: %m%n%ex
# Known start-up chatter that says nothing actionable on a laptop.
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = ERROR
logger.shutdown.name = org.apache.spark.util.ShutdownHookManager
logger.shutdown.level = ERROR
logger.snappy.name = org.apache.spark.util.Utils
logger.snappy.level = ERROR
# Bronze names CSV columns by each file's own header, so Spark's check is moot.
logger.csvheader.name = org.apache.spark.sql.catalyst.csv.CSVHeaderChecker
logger.csvheader.level = ERROR
# The streaming file listing needs no adaptive execution; the batches it feeds use it.
logger.aqestream.name = org.apache.spark.sql.execution.streaming.runtime.ResolveWriteToStream
logger.aqestream.level = ERROR
"""


def is_local_master(master: str) -> bool:
    return master.startswith("local")


def _master_is_loopback(master: str) -> bool:
    if is_local_master(master):
        return True
    return (urlsplit(master).hostname or "") in _LOOPBACK


def standalone_masters(master: str) -> list[tuple[str, int]]:
    """Host and port of each master of a ``spark://`` URL (comma-separated for HA)."""
    if not master.startswith("spark://"):
        return []
    addresses = []
    for part in master[len("spark://") :].split(","):
        try:
            parts = urlsplit(f"spark://{part.strip()}")
            host, port = parts.hostname, parts.port or 7077
        except ValueError:
            host = None
        if not host:
            raise UserError(
                f"The Spark master URL {master} is malformed; expected spark://host:port."
            )
        addresses.append((host, port))
    return addresses


def check_master_reachable(master: str, timeout: float = MASTER_CONNECT_TIMEOUT) -> None:
    """Fail fast when no master of a ``spark://`` URL accepts a TCP connection.

    Spark itself retries an unreachable standalone master for about a minute, printing
    a stack trace per attempt, and then fails with a stopped context. One live master of
    an HA list is enough (the others may be standbys that are down).
    """
    addresses = standalone_masters(master)
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except OSError:
            continue
    if addresses:
        raise UserError(
            f"The Spark master {master} does not answer; start it or check --spark-master."
        )


def machine_memory() -> int:
    """The machine's memory in bytes (4 GiB when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4 * _GIB


def default_driver_memory(total: int | None = None) -> str:
    """40 % of the machine's memory (``total`` bytes), in whole GiB between 1 and 16.

    A local run's driver runs every task and holds silver's caches: with a quarter of
    24 GiB (5 GiB), the large events' cache (2.3 GB) shared the heap with the writes'
    sorts and the collector ran twice as often (docs/performance.md).
    """
    total = machine_memory() if total is None else total
    return f"{min(max(total * 2 // 5 // _GIB, 1), 16)}g"


def shuffle_partitions(master: str) -> int:
    """Local: a few partitions per core (adaptive execution coalesces small ones)."""
    if is_local_master(master):
        return max(4, 2 * (os.cpu_count() or 2))
    return 200


# Where the JVM reads options besides its command line; a second collector there would
# stop it from starting ("Multiple garbage collectors selected").
_JVM_OPTION_VARIABLES = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS")


def collector_chosen(env: Mapping[str, str]) -> bool:
    """Whether the environment already selects a garbage collector (``-XX:+Use...GC``)."""
    return any(re.search(r"-XX:\+Use\w+GC\b", env.get(name, "")) for name in _JVM_OPTION_VARIABLES)


def spark_conf(
    settings: Settings, java: Java, driver: JdbcDriver, archive_options: str = ""
) -> dict[str, str]:
    """Every Spark setting of a SalesOptic session (pure: easy to read and to test).

    ``archive_options`` are the driver's class archive options (``driver_archive_options``).
    """
    state = settings.state_dir.absolute()
    jvm_opts = (
        "-XX:-UsePerfData -Duser.timezone=UTC "
        f"-Dlog4j2.configurationFile=file:{state / 'spark' / 'log4j2.properties'}"
    )
    if is_local_master(settings.spark_master):
        if not collector_chosen(os.environ):
            # The driver runs every task of a local run. The throughput collector judged
            # the medium events 15 % faster than the default G1 (docs/performance.md).
            jvm_opts += " -XX:+UseParallelGC"
        # Each run is a fresh JVM whose two cores also compile: the JIT took 64-70 s of
        # CPU in an 81-86 s incremental run. Higher thresholds leave it the hot methods.
        jvm_opts += f" {JIT_THRESHOLDS}"
    if archive_options:
        jvm_opts += f" {archive_options}"
    conf = {
        "spark.master": settings.spark_master,
        "spark.driver.memory": settings.driver_memory or default_driver_memory(),
        "spark.driver.extraJavaOptions": jvm_opts,
        "spark.executor.extraJavaOptions": "-XX:-UsePerfData -Duser.timezone=UTC",
        "spark.executorEnv.JAVA_HOME": str(java.home)
        if is_local_master(settings.spark_master)
        else os.environ.get("JAVA_HOME", str(java.home)),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "true",
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.sql.shuffle.partitions": str(shuffle_partitions(settings.spark_master)),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        # Silver caches its judged rows once per dataset and run. Uncompressed, the cache
        # of the large events (30 M rows) filled in 66-67 s instead of 92-96 s, for 10 %
        # more memory and 2 s more per full scan (docs/performance.md).
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
        # Timestamps as Parquet's INT64 microseconds marked UTC, instead of Spark's default
        # INT96 (deprecated, no statistics, read as naive nanoseconds by Arrow): readers see
        # UTC instants, and silver's writes took 11-14 % less time (docs/performance.md).
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.ui.enabled": "true" if settings.spark_ui else "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(state / "spark" / "warehouse"),
    }
    if not is_local_master(settings.spark_master):
        # With 200 shuffle partitions, let adaptive execution coalesce the output of
        # persisted DataFrames too (silver and gold persist theirs); otherwise every
        # stage reading them runs 200 tasks however small the data.
        conf["spark.sql.optimizer.canChangeCachedPlanOutputPartitioning"] = "true"
    if _master_is_loopback(settings.spark_master):
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
    if driver.jar is not None:
        conf["spark.jars"] = str(driver.jar)
    else:
        conf["spark.jars.packages"] = str(driver.package)
    return conf


def _prepare_environment(settings: Settings, java: Java) -> None:
    """Environment the JVM launcher reads: it must be set before the session starts."""
    os.environ["JAVA_HOME"] = str(java.home)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    if _master_is_loopback(settings.spark_master):
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    if is_local_master(settings.spark_master):
        # Scratch space (shuffle, spill) under data/_state rather than /tmp; on a cluster
        # each worker's own SPARK_LOCAL_DIRS rule.
        os.environ["SPARK_LOCAL_DIRS"] = str(settings.state_dir.absolute() / "spark" / "local")
    log_conf = settings.state_dir.absolute() / "spark" / "log4j2.properties"
    log_conf.parent.mkdir(parents=True, exist_ok=True)
    log_conf.write_text(
        _LOG4J2.format(level=settings.log_level, log_file=log_conf.parent / "spark.log")
    )


def driver_archive_options(settings: Settings, java: Java) -> str:
    """The driver's class archive options, or none: switched off, not possible here, or
    a cache folder that cannot be written (the archive only ever saves time)."""
    if not settings.class_archive:
        return ""
    # The launcher runs the Spark of SPARK_HOME when it is set, else pyspark's own.
    home = Path(os.environ["SPARK_HOME"]) if os.environ.get("SPARK_HOME") else spark_home()
    try:
        if not archive_possible(os.environ, java, home):
            return ""
        memory = settings.driver_memory or default_driver_memory()
        folder = cache_dir() / "class-archives"
        folder.mkdir(parents=True, exist_ok=True)
        archive = folder / f"spark-driver-{archive_key(java, home / 'jars', memory)}.jsa"
        return jvm_options(archive, os.getpid())
    except OSError:
        return ""


def start_spark(settings: Settings, app_name: str = "salesoptic"):  # -> SparkSession
    """Start (or return the running) Spark session configured for SalesOptic."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession

    check_master_reachable(settings.spark_master)
    java = find_java()
    driver = find_jdbc_driver(settings.jdbc_jar)
    _prepare_environment(settings, java)
    builder = SparkSession.builder.appName(app_name)
    conf = spark_conf(settings, java, driver, driver_archive_options(settings, java))
    for key, value in conf.items():
        builder = builder.config(key, value)
    # Something listens at a standalone master's address but never registers the
    # application: Spark gives up after 3 x 20 s and stops the context.
    not_registered = UserError(
        f"The Spark master {settings.spark_master} did not register the application; "
        "check that a Spark 4 master listens there and that --spark-master names it."
    )
    try:
        spark = builder.getOrCreate()
    except (PySparkException, RuntimeError, OSError) as exc:
        raise UserError(
            f"Spark could not start with master {settings.spark_master} "
            f"({type(exc).__name__}); run `salesoptic doctor` to see what is missing."
        ) from None
    except Py4JJavaError as exc:
        if standalone_masters(settings.spark_master) and "stopped SparkContext" in str(exc):
            raise not_registered from None
        raise
    if spark.sparkContext._jsc.sc().isStopped():
        spark.stop()
        raise not_registered
    spark.sparkContext.setLogLevel(settings.log_level)
    return spark


def stop_spark(spark, on_progress: Callable[[str], None] = lambda message: None) -> None:
    """Stop a session. When its JVM is to write the class archive (the first session with
    this Java and Spark), end that JVM now and keep the archive once it has exited."""
    from py4j.protocol import Py4JError
    from pyspark import SparkContext

    part = None
    with contextlib.suppress(Py4JError):  # a JVM that died has no archive to keep
        options = spark.sparkContext.getConf().get("spark.driver.extraJavaOptions", "")
        part = pending_archive(options)
    spark.stop()
    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None)
    if part is None or proc is None:
        return
    on_progress("Saving Spark's classes for faster starts (once per Java and Spark)")
    # The gateway JVM exits when its standard input closes; a later session in this
    # process then launches a new one, which maps the archive.
    gateway.shutdown()
    SparkContext._gateway = None
    SparkContext._jvm = None
    proc.stdin.close()
    try:
        exit_code = proc.wait(timeout=ARCHIVE_WRITE_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        exit_code = None
    with contextlib.suppress(OSError):  # a cache that cannot be written: no archive
        keep_archive(part, exit_code)


@contextlib.contextmanager
def spark_session(
    settings: Settings,
    app_name: str = "salesoptic",
    on_progress: Callable[[str], None] = lambda message: None,
) -> Iterator:
    """A Spark session for the duration of a ``with`` block, stopped after it.

    A session the caller already runs (a notebook, a test suite) is used as it is and
    left running.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    spark = start_spark(settings, app_name)
    try:
        yield spark
    finally:
        stop_spark(spark, on_progress)


@contextlib.contextmanager
def session_settings(spark, settings: Mapping[str, str]) -> Iterator[None]:
    """SQL settings of the session changed for the duration of a ``with`` block, then put
    back (a setting that was not set is unset again)."""
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def java_error_summary(exc: BaseException) -> str:
    """The first line of the root Java cause of a Py4J/Spark error, without a stack trace."""
    java_exc = getattr(exc, "java_exception", None)
    if java_exc is not None:
        cause = java_exc
        with contextlib.suppress(Exception):
            while cause.getCause() is not None and cause.getCause() != cause:
                cause = cause.getCause()
        with contextlib.suppress(Exception):
            message = cause.getMessage() or cause.toString()
            return str(message).strip().splitlines()[0]
    try:
        text = str(exc).strip().splitlines()
    except Exception:  # a Py4J error whose JVM is gone cannot be printed
        text = []
    return text[0] if text else type(exc).__name__


def spark_home() -> Path:
    """The installed pyspark package folder, which holds a whole Spark (bin/, jars/)."""
    import pyspark

    return Path(pyspark.__file__).parent
