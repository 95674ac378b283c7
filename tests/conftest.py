"""Shared fixtures: one real embedded PostgreSQL server and one real Spark session."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from salesoptic.config import Settings, load_settings
from salesoptic.runtime.pgurl import PgUrl
from salesoptic.runtime.postgres import EmbeddedPostgres, _pid_is_postgres


@pytest.fixture(scope="session")
def state_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    """A real PostgreSQL server for the whole test session, stopped at its end.

    Its folder is outside pytest's private temporary root, which pytest makes
    untraversable for the server's user when it runs as root.
    """
    root = Path(tempfile.mkdtemp(prefix="salesoptic-test-pg-"))
    server = EmbeddedPostgres(root / "postgres")
    server.start()
    pid = server.status().pid
    yield server
    server.stop()
    assert pid is not None and not _pid_is_postgres(pid), "PostgreSQL still running"
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg(pg_server: EmbeddedPostgres) -> PgUrl:
    return pg_server.url()


@pytest.fixture(scope="session")
def pg_url(pg: PgUrl) -> str:
    """URL (with password) of the session's PostgreSQL server."""
    return pg.url


@pytest.fixture(scope="session")
def spark_settings(state_root: Path) -> Settings:
    # The suite's long-lived session writes no class archive (its own test does); its JVM,
    # with every test's classes loaded, would take long to write one as it exits.
    return load_settings(
        data_dir=state_root / "spark-data", spark_master="local[2]", class_archive=False
    )


@pytest.fixture(scope="session")
def spark(spark_settings: Settings):
    """One local Spark session for the whole test session."""
    from salesoptic.runtime.spark import start_spark, stop_spark

    session = start_spark(spark_settings, "salesoptic-tests")
    yield session
    stop_spark(session)
