"""Bronze on real files and a real PostgreSQL: completeness, header mapping, exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from salesoptic.config import load_settings
from salesoptic.contracts.sources import DISTINCT_FIELDS
from salesoptic.errors import UserError
from salesoptic.generate import GenerateSpec, generate
from salesoptic.pipeline.bronze import ingest_files, run_bronze
from salesoptic.runtime.pgurl import parse_pg_url
from salesoptic.runtime.postgres import free_port

HEADER = "transaction_id,timestamp,customer_id,product_id,quantity,unit_price,channel"


def bronze_table(data_dir: Path, dataset: str) -> pa.Table:
    """Bronze as stored, read by pyarrow (not Spark), strings kept as raw bytes."""
    files = sorted((data_dir / "bronze" / dataset).glob("*=*/*.parquet"))
    tables = [pq.read_table(f) for f in files]
    table = pa.concat_tables(tables) if tables else pa.table({})
    return table.cast(
        pa.schema(
            [
                pa.field(f.name, pa.binary() if f.type == pa.string() else f.type)
                for f in table.schema
            ]
        )
    )


def column(table: pa.Table, name: str) -> list:
    return [v.decode() if isinstance(v, bytes) else v for v in table.column(name).to_pylist()]


def test_hostile_csv_files(spark, tmp_path: Path) -> None:
    sales = tmp_path / "source" / "sales"
    sales.mkdir(parents=True)
    (sales / "a_bom_crlf.csv").write_bytes(
        b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n"
        b"T1,2025-01-03T10:00:00,1,2,3,4.50,web\r\n"
        b'"T2","2025-01-03T10:00:00",1,2,3,"4,50","a ""quoted"" web"\r\n'
        b'"T3\nwith newline",2025-01-03T10:00:00,1,2,3,4.50,store\r\n'
        b"T4,too,few\r\n"
        b"T5,a,b,c,d,e,f,g\r\n"
    )
    (sales / "b_reordered.csv").write_text(
        "channel,unit_price,transaction_id,promo\nmobile,9.99,T6,SPRING\n"
    )
    (sales / "c_empty.csv").write_bytes(b"")
    (sales / "d_header_only.csv").write_text(HEADER + "\n")
    settings = load_settings(data_dir=tmp_path)

    counts = ingest_files(spark, settings, "sales", "run-1")

    table = bronze_table(tmp_path, "sales")
    rows = {r["transaction_id"] or r["_corrupt_record"]: r for r in table.to_pylist()}
    assert counts.rows == table.num_rows == 6
    assert rows[b"T1"]["unit_price"] == b"4.50" and rows[b"T1"]["channel"] == b"web"
    assert rows[b"T2"]["unit_price"] == b"4,50"
    assert rows[b"T2"]["channel"] == b'a "quoted" web'
    assert rows[b"T3\nwith newline"]["channel"] == b"store"
    assert rows[b"T4,too,few"]["transaction_id"] is None
    assert rows[b"T5,a,b,c,d,e,f,g"]["channel"] is None
    assert counts.corrupt == 2
    t6 = rows[b"T6"]
    assert (t6["channel"], t6["unit_price"], t6["timestamp"]) == (b"mobile", b"9.99", None)
    assert json.loads(t6["_rescued_data"]) == {"promo": "SPRING"}
    assert set(column(table, "_run_id")) == {"run-1"}
    assert {Path(s).name for s in column(table, "_source")} == {"a_bom_crlf.csv", "b_reordered.csv"}


def test_malformed_records_are_kept_byte_for_byte(spark, tmp_path: Path) -> None:
    logs = tmp_path / "source" / "logs"
    events = tmp_path / "source" / "events"
    logs.mkdir(parents=True)
    events.mkdir(parents=True)
    bad_log = b"caf\xe9 \xff\xfe not a log line"
    good_log = b'2025-01-03T10:00:00.123Z INFO Api status=200 latency_ms=12 msg="ok"'
    (logs / "app.log").write_bytes(good_log + b"\n" + bad_log + b"\n\n")
    bad_json = [b'{"event_id": "e-1"', b"[1, 2]", b'"just a string"', b"\x00\x01binary"]
    (events / "e.json").write_bytes(b"\n".join(bad_json) + b"\n")
    settings = load_settings(data_dir=tmp_path)

    assert ingest_files(spark, settings, "logs", "r").rows == 2
    assert ingest_files(spark, settings, "events", "r").rows == 4

    log_rows = bronze_table(tmp_path, "logs").column("_corrupt_record").to_pylist()
    assert sorted(v for v in log_rows if v is not None) == [bad_log]
    event_rows = bronze_table(tmp_path, "events").column("_corrupt_record").to_pylist()
    assert sorted(event_rows) == sorted(bad_json)


def test_each_file_is_ingested_once(spark, tmp_path: Path) -> None:
    logs = tmp_path / "source" / "logs"
    logs.mkdir(parents=True)
    line = '2025-01-03T10:00:00.123Z INFO Api status=200 latency_ms=12 msg="{}"\n'
    (logs / "a.log").write_text(line.format(1) * 3)
    settings = load_settings(data_dir=tmp_path)
    first = ingest_files(spark, settings, "logs", "r1")
    again = ingest_files(spark, settings, "logs", "r2")
    (logs / "b.log").write_text(line.format(2) * 5)
    old = time.time() - 30 * 86400  # an old modification time must not hide the file
    os.utime(logs / "b.log", (old, old))
    third = ingest_files(spark, settings, "logs", "r3")
    assert (first.files, first.rows) == (1, 3)
    assert (again.files, again.rows) == (0, 0)
    assert (third.files, third.rows) == (1, 5)
    assert Counter(column(bronze_table(tmp_path, "logs"), "_run_id")) == {"r1": 3, "r3": 5}


def test_fields_with_one_value_per_record_are_written_without_a_dictionary(
    spark, tmp_path: Path
) -> None:
    events = tmp_path / "source" / "events"
    events.mkdir(parents=True)
    # The same values on every line: a writer left to choose would take a dictionary.
    line = '{"event_id": "e-1", "timestamp": "2025-01-03T10:00:00", "user_id": 7, '
    line += '"session_id": "s-1", "event_type": "view", "device": "mobile"}\n'
    (events / "e.json").write_text(line * 20)
    assert ingest_files(spark, load_settings(data_dir=tmp_path), "events", "r").rows == 20
    (part,) = (tmp_path / "bronze" / "events").glob("batch=*/*.parquet")
    row_group = pq.ParquetFile(part).metadata.row_group(0)
    encodings = {
        row_group.column(i).path_in_schema: row_group.column(i).encodings
        for i in range(row_group.num_columns)
    }
    dictionary = {name for name, used in encodings.items() if "PLAIN_DICTIONARY" in used}
    assert dictionary.isdisjoint(DISTINCT_FIELDS["events"])
    assert {"event_type", "device", "_source"} <= dictionary


@pytest.fixture
def generated(tmp_path: Path, pg_url: str):
    """A small generated landing zone with defects, and its tables in PostgreSQL."""
    spec = GenerateSpec.from_options("tiny", sales=3000, events=4000, logs=3000, seed=7)
    generate(spec, tmp_path / "source", pg_url)
    return tmp_path


def manifest(data_dir: Path, batch: int = 1) -> dict:
    path = data_dir / "source" / "_truth" / f"manifest_batch_{batch:04d}.json"
    return json.loads(path.read_text())["datasets"]


def bronze_counts_by_file(data_dir: Path, dataset: str) -> Counter:
    sources = column(bronze_table(data_dir, dataset), "_source")
    return Counter(f"{dataset}/{Path(s).name}" for s in sources)


def expected_counts_by_file(data_dir: Path, dataset: str, batches=(1,)) -> Counter:
    total: Counter = Counter()
    for batch in batches:
        files = manifest(data_dir, batch)[dataset]["files"]
        total.update({f"{dataset}/{Path(name).name}": n for name, n in files.items()})
    return total


def test_generated_data_lands_complete_and_incrementally(spark, generated, pg, pg_url) -> None:
    settings = load_settings(data_dir=generated)
    truth = manifest(generated)
    first = {c.dataset: c for c in run_bronze(spark, settings, pg, "run-1")}
    for dataset in ("sales", "events", "logs"):
        assert first[dataset].rows == truth[dataset]["records"]
        assert bronze_counts_by_file(generated, dataset) == expected_counts_by_file(
            generated, dataset
        )
    for dataset in ("customers", "products"):
        assert first[dataset].rows == truth[dataset]["records"]

    again = {c.dataset: c for c in run_bronze(spark, settings, pg, "run-2")}
    assert [again[d].rows for d in ("sales", "events", "logs")] == [0, 0, 0]
    assert again["customers"].rows == truth["customers"]["records"]  # a snapshot per run

    spec2 = GenerateSpec.from_options("tiny", sales=3000, events=4000, logs=3000, seed=7, batch=2)
    generate(spec2, generated / "source", pg_url)
    truth2 = manifest(generated, 2)
    third = {c.dataset: c for c in run_bronze(spark, settings, pg, "run-3")}
    for dataset in ("sales", "events", "logs"):
        assert third[dataset].files == len(truth2[dataset]["files"])
        assert third[dataset].rows == truth2[dataset]["records"]
        assert bronze_counts_by_file(generated, dataset) == expected_counts_by_file(
            generated, dataset, (1, 2)
        )
    with psycopg.connect(pg_url) as conn:
        customers = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
    assert third["customers"].rows == customers


def test_unreachable_postgres_is_one_sentence_and_writes_nothing(spark, generated) -> None:
    settings = load_settings(data_dir=generated)
    down = parse_pg_url(f"postgresql://u:pw-secret@127.0.0.1:{free_port()}/db")
    with pytest.raises(UserError, match="cannot be reached") as info:
        run_bronze(spark, settings, down, "run-x")
    assert "pw-secret" not in str(info.value)
    assert not (generated / "bronze").exists()


def test_missing_table_is_one_sentence(spark, generated, pg, pg_url) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE products RENAME TO products_gone")
    try:
        with pytest.raises(UserError, match="no table products"):
            run_bronze(spark, load_settings(data_dir=generated), pg, "run-x")
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("ALTER TABLE products_gone RENAME TO products")
    assert not (generated / "bronze").exists()


def _start_run(data_dir: Path, pg_url: str) -> subprocess.Popen:
    env = {**os.environ, "SALESOPTIC_PG_URL": pg_url}
    return subprocess.Popen(
        [sys.executable, "-m", "salesoptic", "run", "--stage", "bronze", "--data-dir",
         str(data_dir)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def test_killed_runs_then_a_rerun_ingest_each_file_exactly_once(tmp_path, pg_url) -> None:
    spec = GenerateSpec.from_options("tiny", sales=60_000, events=90_000, logs=60_000, seed=3)
    generate(spec, tmp_path / "source", pg_url)
    rng = random.Random(11)
    checkpoints = tmp_path / "_state" / "checkpoints" / "bronze"
    for trial in range(3):
        dataset = ("sales", "events", "logs")[trial]
        proc = _start_run(tmp_path, pg_url)
        deadline = time.monotonic() + 180
        # Wait until this dataset's batch is planned but not yet committed, then a bit.
        while not (checkpoints / dataset / "offsets" / "0").exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 1.5))
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its JVM, as in a crash
        proc.wait()
    final = _start_run(tmp_path, pg_url)
    _, err = final.communicate(timeout=600)
    assert final.returncode == 0, err.decode()[-2000:]
    for dataset in ("sales", "events", "logs"):
        assert bronze_counts_by_file(tmp_path, dataset) == expected_counts_by_file(
            tmp_path, dataset
        ), dataset
        assert not list((tmp_path / "bronze" / dataset).glob("_staging/*"))
