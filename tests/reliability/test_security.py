"""No secret in output, logs or the repository; the dashboard listens on loopback."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

from salesoptic.dashboard import command as dashboard_command
from salesoptic.dashboard import server
from salesoptic.generate import GenerateSpec, generate
from salesoptic.runtime.pgurl import parse_pg_url

ROOT = Path(__file__).resolve().parents[2]


def test_the_password_appears_nowhere_after_a_run_and_a_failure(tmp_path, pg_url) -> None:
    password = parse_pg_url(pg_url).password
    assert password and len(password) >= 16
    spec = GenerateSpec.from_options("tiny", sales=800, events=900, logs=700, seed=9)
    generate(spec, tmp_path / "source", pg_url)
    env = {**os.environ, "SALESOPTIC_PG_URL": pg_url, "COLUMNS": "200"}
    cli = [sys.executable, "-m", "salesoptic"]
    ok = subprocess.run([*cli, "run", "--data-dir", str(tmp_path)],
                        capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert ok.returncode == 0, ok.stderr[-2000:]
    # A failing run with a wrong password in the URL: the message must not echo it.
    wrong = pg_url.replace(password, "Wr0ng-" + password[::-1])
    bad = subprocess.run([*cli, "run", "--data-dir", str(tmp_path), "--pg-url", wrong],
                         capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.strip().startswith("Error:")
    status = subprocess.run([*cli, "status", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    for output in (ok.stdout, ok.stderr, bad.stdout, bad.stderr, status.stdout):
        assert password not in output
        assert password[::-1] not in output
    secret = password.encode()
    leaks = [
        path
        for path in tmp_path.rglob("*")
        if path.is_file() and (secret in path.read_bytes() or secret[::-1] in path.read_bytes())
    ]
    assert leaks == []


def test_no_password_is_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert ".env" not in tracked
    env_example = (ROOT / ".env.example").read_text()
    for line in env_example.splitlines():
        if line.startswith("POSTGRES_PASSWORD="):
            assert line.strip() == "POSTGRES_PASSWORD=", "the example must not hold a password"


def test_dashboard_binds_to_loopback_by_default() -> None:
    assert inspect.signature(server.serve).parameters["host"].default == "127.0.0.1"
    host = inspect.signature(dashboard_command.dashboard_command).parameters["host"].default
    assert host == "127.0.0.1"
