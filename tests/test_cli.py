"""The command line as a user runs it: real processes, real PostgreSQL and Spark."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from salesoptic.runtime.postgres import free_port

CLI = [sys.executable, "-m", "salesoptic"]


def run_cli(*args: str, env: dict | None = None, timeout: int = 300):
    full_env = {**os.environ, "COLUMNS": "250", **(env or {})}
    full_env.pop("SALESOPTIC_PG_URL", None)
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=full_env, timeout=timeout
    )


def processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(proc.name))
    return found


def test_doctor_all_ok_and_leaves_no_jvm(tmp_path: Path, pg_url: str) -> None:
    data_dir = tmp_path / "data"
    result = run_cli("doctor", "--data-dir", str(data_dir), "--pg-url", pg_url)
    assert result.returncode == 0, result.stdout + result.stderr
    for check in (
        "Python",
        "Java",
        "JDBC driver",
        "Disk",
        "PostgreSQL",
        "Spark",
        "Spark over JDBC",
    ):
        assert check in result.stdout
    assert "FAIL" not in result.stdout
    assert pg_url.split(":")[2].split("@")[0] not in result.stdout + result.stderr  # password
    assert processes_mentioning(str(data_dir)) == []


def test_doctor_fails_clearly_when_postgres_is_unreachable(tmp_path: Path) -> None:
    url = f"postgresql://u:hunter22@127.0.0.1:{free_port()}/db"
    result = run_cli("doctor", "--data-dir", str(tmp_path), "--pg-url", url)
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "FAIL" in out and "cannot connect to postgresql://u:***@127.0.0.1" in out
    assert "hunter22" not in out
    assert "Traceback" not in out


def test_doctor_fails_clearly_on_a_malformed_url(tmp_path: Path) -> None:
    result = run_cli("doctor", "--data-dir", str(tmp_path), "--pg-url", "postgres:/oops:pw")
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "malformed" in out and "Traceback" not in out


def test_a_user_error_is_one_sentence_and_exit_1(tmp_path: Path) -> None:
    result = run_cli("db", "url", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Error:")
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") <= 1


def test_db_start_url_psql_stop(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    started = run_cli("db", "start", *data)
    assert started.returncode == 0, started.stderr
    try:
        masked = run_cli("db", "url", *data).stdout.strip()
        full = run_cli("db", "url", *data, "--show-password").stdout.strip()
        assert ":***@127.0.0.1:" in masked and "***" not in full
        assert full.split("@")[0].split(":")[-1] not in started.stdout + masked
        psql = shutil.which("psql")
        assert psql, "psql (postgresql-client) is needed for this test"
        answer = subprocess.run(
            [psql, full, "-tAc", "select 40 + 2"], capture_output=True, text=True, timeout=60
        )
        assert answer.stdout.strip() == "42", answer.stderr
        assert run_cli("db", "status", *data).returncode == 0
    finally:
        stopped = run_cli("db", "stop", *data)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert run_cli("db", "status", *data).returncode == 3
    assert processes_mentioning(str(tmp_path / "data")) == []


@pytest.mark.parametrize("command", ["--help", "doctor --help", "db --help"])
def test_help(command: str) -> None:
    result = run_cli(*command.split())
    assert result.returncode == 0 and "Usage" in result.stdout
