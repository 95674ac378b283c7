import os
import signal
import time
from pathlib import Path

import psycopg
import pytest

from salesoptic.runtime.postgres import EmbeddedPostgres, _pid_is_postgres


@pytest.fixture
def server(tmp_path: Path):
    server = EmbeddedPostgres(tmp_path / "_state" / "postgres")
    yield server
    server.stop()


def _owner_uid(pid: int) -> int:
    return Path(f"/proc/{pid}").stat().st_uid


def test_start_query_stop(server: EmbeddedPostgres) -> None:
    url = server.start()
    status = server.status()
    assert status.running and status.port == url.port
    assert url.host == "127.0.0.1"
    if os.geteuid() == 0:
        assert _owner_uid(status.pid) != 0, "the server must not run as root"
    with psycopg.connect(url.url) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1), (2)")
        assert conn.execute("SELECT sum(x) FROM t").fetchone() == (3,)
    assert server.start() == url  # idempotent
    assert server.stop() is True
    assert not _pid_is_postgres(status.pid)
    assert server.status().running is False
    assert server.stop() is False


def test_data_survives_a_restart(server: EmbeddedPostgres) -> None:
    url = server.start()
    with psycopg.connect(url.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    server.stop()
    url = server.start()
    with psycopg.connect(url.url) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone() == (42,)


def test_stale_pid_file_after_a_crash_is_recovered(server: EmbeddedPostgres) -> None:
    server.start()
    pid = server.status().pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _pid_is_postgres(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    # The crashed server left its pid file; point it at a live process that is not
    # PostgreSQL (our own), the case PostgreSQL itself cannot tell apart when run as root.
    pid_file = server.pgdata / "postmaster.pid"
    assert pid_file.exists()
    lines = pid_file.read_text().splitlines()
    pid_file.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")
    url = server.start()
    with psycopg.connect(url.url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_password_is_not_the_default(server: EmbeddedPostgres) -> None:
    url = server.start()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url.url.replace(url.password, "wrong"), connect_timeout=5)
    config = server.config_file
    assert oct(config.stat().st_mode & 0o777) == "0o600"


def test_restart_keeps_the_port_when_free(server: EmbeddedPostgres) -> None:
    first = server.start()
    server.stop()
    assert server.start().port == first.port
