"""Failures of the parts around the pipeline: each ends with one clear sentence and a
non-zero exit (or a UserError in process), the previous gold intact, and, where the data
directory can still be written, a failed run in ``_state/runs/``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from salesoptic.config import load_settings
from salesoptic.errors import UserError
from salesoptic.generate import GenerateSpec, generate
from salesoptic.pipeline.runner import run_pipeline
from salesoptic.runtime.pgurl import PgUrl
from salesoptic.runtime.postgres import free_port

from .support import current_version, gold_snapshot, make_database, run_records, silver_rows

COUNTS = {"sales": 600, "events": 800, "logs": 500, "customers": 20, "products": 8}


def generate_batch(data_dir: Path, pg_url: str, batch: int) -> None:
    spec = GenerateSpec.from_options("tiny", seed=5, defect_rate=0.05, batch=batch, **COUNTS)
    generate(spec, data_dir / "source", pg_url)


def assert_one_sentence(message: str, secret: str | None = None) -> None:
    text = message.strip()
    assert text and "\n" not in text and "Traceback" not in text, message
    assert not text.startswith("Error: Error"), message
    if secret:
        assert secret not in text


def cli(data_dir: Path, pg_url: str, *args: str, timeout: float = 300, user=None):
    env = {**os.environ, "SALESOPTIC_PG_URL": pg_url, "COLUMNS": "400"}
    argv = [sys.executable, "-m", "salesoptic", "run", "--data-dir", str(data_dir), *args]
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    return result, time.monotonic() - started


@pytest.fixture(scope="module")
def published(spark, pg, tmp_path_factory):
    """A data directory with one published gold, and its database."""
    data_dir = tmp_path_factory.mktemp("failures")
    db = make_database(pg, "reliability_failures")
    generate_batch(data_dir, db.url, 1)
    run_pipeline(load_settings(data_dir=data_dir, pg_url=db.url))
    return data_dir, db


def check_failed_and_intact(data_dir: Path, before: dict, version: str, n_runs: int) -> dict:
    assert current_version(data_dir) == version
    assert gold_snapshot(data_dir) == before
    records = run_records(data_dir)
    assert len(records) == n_runs + 1
    assert records[-1]["status"] == "failed"
    return records[-1]


@pytest.mark.parametrize("fault", ["postgres down", "wrong password", "missing table"])
def test_postgres_faults(published, fault) -> None:
    data_dir, db = published
    before, version = gold_snapshot(data_dir), current_version(data_dir)
    n_runs = len(run_records(data_dir))
    secret = db.password
    if fault == "postgres down":
        url = PgUrl("127.0.0.1", free_port(), db.database, db.user, db.password).url
        expected = "cannot be reached"
    elif fault == "wrong password":
        url = PgUrl(db.host, db.port, db.database, db.user, "not-the-password").url
        secret, expected = "not-the-password", "cannot be reached"
    else:
        url = db.url
        expected = "has no table products"
    if fault == "missing table":
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute("ALTER TABLE products RENAME TO products_gone")
    try:
        with pytest.raises(UserError, match=expected) as info:
            run_pipeline(load_settings(data_dir=data_dir, pg_url=url))
    finally:
        if fault == "missing table":
            with psycopg.connect(db.url, autocommit=True) as conn:
                conn.execute("ALTER TABLE products_gone RENAME TO products")
    assert_one_sentence(str(info.value), secret)
    record = check_failed_and_intact(data_dir, before, version, n_runs)
    assert expected in record["error"] and (secret or "\0") not in record["error"]


def test_revenue_beyond_money_stops_gold_with_one_sentence(spark, pg, tmp_path) -> None:
    """A sale valid by every rule whose amount exceeds decimal(18,2): gold is not
    published, one sentence names the sale, the previous gold stays current."""
    data_dir = tmp_path / "data"
    db = make_database(pg, "reliability_overflow")
    generate_batch(data_dir, db.url, 1)
    settings = load_settings(data_dir=data_dir, pg_url=db.url)
    run_pipeline(settings)
    before, version = gold_snapshot(data_dir), current_version(data_dir)
    n_runs = len(run_records(data_dir))
    customer = silver_rows(data_dir, "customers")[0]["customer_id"]
    product = silver_rows(data_dir, "products")[0]["product_id"]
    (data_dir / "source" / "sales" / "zz_overflow.csv").write_text(
        "transaction_id,timestamp,customer_id,product_id,quantity,unit_price,channel\n"
        f"OVERFLOW-1,2025-01-05T10:00:00,{customer},{product},2147483647,"
        "9999999999999999.99,web\n"
    )
    with pytest.raises(UserError, match=r"exceeds decimal\(18,2\)") as info:
        run_pipeline(settings)
    assert_one_sentence(str(info.value), db.password)
    assert "OVERFLOW-1 (quantity 2147483647, unit price 9999999999999999.99)" in str(info.value)
    record = check_failed_and_intact(data_dir, before, version, n_runs)
    assert "OVERFLOW-1" in record["error"]
    # The sale passed every rule of the contract: it is in silver, not in quarantine.
    assert any(r["transaction_id"] == "OVERFLOW-1" for r in silver_rows(data_dir, "sales"))


@pytest.mark.slow
def test_spark_master_that_does_not_answer(published) -> None:
    data_dir, db = published
    before, version = gold_snapshot(data_dir), current_version(data_dir)
    n_runs = len(run_records(data_dir))
    master = f"spark://127.0.0.1:{free_port()}"
    result, seconds = cli(data_dir, db.url, "--spark-master", master, timeout=180)
    assert result.returncode != 0
    assert_one_sentence(result.stderr, db.password)
    assert master in result.stderr
    assert seconds < 60
    check_failed_and_intact(data_dir, before, version, n_runs)


@pytest.mark.slow
def test_read_only_data_directory(spark, pg, tmp_path) -> None:
    """As root, permission bits do not stop writes: the folder is bound read-only."""
    data_dir = tmp_path / "data"
    db = make_database(pg, "reliability_readonly")
    generate_batch(data_dir, db.url, 1)
    run_pipeline(load_settings(data_dir=data_dir, pg_url=db.url))
    generate_batch(data_dir, db.url, 2)
    before, version = gold_snapshot(data_dir), current_version(data_dir)
    n_runs = len(run_records(data_dir))
    bind = subprocess.run(["mount", "--bind", str(data_dir), str(data_dir)])
    if bind.returncode != 0:
        pytest.skip("cannot bind-mount here")
    try:
        remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(data_dir)])
        if remount.returncode != 0:
            pytest.skip("cannot remount read-only here")
        result, _ = cli(data_dir, db.url, timeout=300)
    finally:
        subprocess.run(["umount", str(data_dir)])
    assert result.returncode != 0
    assert_one_sentence(result.stderr, db.password)
    assert "read-only" in result.stderr.lower()
    assert current_version(data_dir) == version and gold_snapshot(data_dir) == before
    assert len(run_records(data_dir)) == n_runs  # nothing could be recorded


@pytest.mark.slow
def test_disk_full(spark, pg) -> None:
    """The data directory on a 64 MB tmpfs, filled up before a run with new data."""
    mount = Path(tempfile.mkdtemp(prefix="salesoptic-small-disk-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        db = make_database(pg, "reliability_disk_full")
        data_dir = mount / "data"
        generate_batch(data_dir, db.url, 1)
        run_pipeline(load_settings(data_dir=data_dir, pg_url=db.url))
        generate_batch(data_dir, db.url, 2)
        before, version = gold_snapshot(data_dir), current_version(data_dir)
        n_runs = len(run_records(data_dir))
        free = shutil.disk_usage(mount).free
        with open(mount / "filler", "wb") as handle:  # leave 64 KB
            handle.truncate(0)
            handle.write(b"\0" * max(free - 64 * 1024, 0))
        result, _ = cli(data_dir, db.url, timeout=300)
        assert result.returncode != 0
        # The command's own message is its last line and one sentence. Before it, Spark's
        # JVM logs its own ERROR lines with stack traces to stderr (see reliability.md).
        [message] = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert "No space left on device" in message
        assert_one_sentence(message, db.password)
        assert current_version(data_dir) == version and gold_snapshot(data_dir) == before
        (mount / "filler").unlink()
        records = run_records(data_dir)
        assert len(records) in (n_runs, n_runs + 1)
        if len(records) == n_runs + 1:
            assert records[-1]["status"] in ("failed", "running")
        # With space again, the next run completes.
        run_pipeline(load_settings(data_dir=data_dir, pg_url=db.url))
        assert run_records(data_dir)[-1]["status"] == "succeeded"
    finally:
        subprocess.run(["umount", "-l", str(mount)])
        shutil.rmtree(mount, ignore_errors=True)


@pytest.mark.slow
def test_postgres_restarted_in_the_middle_of_a_read(spark, tmp_path) -> None:
    """The server stops while bronze reads the tables over JDBC, then comes back."""
    from salesoptic.runtime.postgres import EmbeddedPostgres

    root = Path(tempfile.mkdtemp(prefix="salesoptic-restart-pg-"))
    server = EmbeddedPostgres(root / "postgres")
    try:
        url = server.start().url
        data_dir = tmp_path / "data"
        spec = GenerateSpec.from_options(
            "tiny", sales=600, events=800, logs=500, customers=400_000, products=8, seed=3
        )
        generate(spec, data_dir / "source", url)
        run_pipeline(load_settings(data_dir=data_dir, pg_url=url))
        before, version = gold_snapshot(data_dir), current_version(data_dir)

        env = {**os.environ, "SALESOPTIC_PG_URL": url, "COLUMNS": "400"}
        argv = [sys.executable, "-m", "salesoptic", "run", "--data-dir", str(data_dir)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)  # fmt: skip
        staging = data_dir / "bronze" / "customers" / "_staging"
        deadline = time.monotonic() + 300
        while not staging.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert staging.exists(), "the customers snapshot never started"
        server.stop()  # fast shutdown: the JDBC connections are cut mid-read
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 1
        assert_one_sentence(err.replace("WARNING: Using incubator modules: "
                                        "jdk.incubator.vector\n", ""))  # fmt: skip
        assert current_version(data_dir) == version and gold_snapshot(data_dir) == before
        assert run_records(data_dir)[-1]["status"] == "failed"

        server.start()  # back again: the next run completes the work
        again = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
        assert again.returncode == 0, again.stderr[-2000:]
        assert run_records(data_dir)[-1]["status"] == "succeeded"
        assert not list((data_dir / "bronze" / "customers").glob("_staging/*"))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
