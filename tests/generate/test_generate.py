"""The data generator: formats, ground truth, determinism, rates, batches, PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import psycopg
import pyarrow.parquet as pq
import pytest

from salesoptic.contracts.reasons import REASONS_BY_DATASET
from salesoptic.errors import UserError
from salesoptic.generate import GenerateSpec, generate

TRUTH_COLUMNS = ["dataset", "source", "record_index", "key", "raw", "reasons"]


def spec(**options) -> GenerateSpec:
    return GenerateSpec.from_options(options.pop("scale", "tiny"), **options)


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def truth(source: Path, batch: int = 1) -> list[dict]:
    return pq.read_table(source / "_truth" / f"defects_batch_{batch:04d}.parquet").to_pylist()


def manifest(source: Path, batch: int = 1) -> dict:
    return json.loads((source / "_truth" / f"manifest_batch_{batch:04d}.json").read_text())


def table_rows(pg_url: str, table: str) -> list[tuple]:
    with psycopg.connect(pg_url) as conn:
        order = "customer_id" if table == "customers" else "product_id"
        return conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()


def valid_ids(verdicts: dict[str, list[str]]) -> set[int]:
    return {int(k) for k, codes in verdicts.items() if not codes}


def test_same_options_give_byte_identical_output(tmp_path: Path) -> None:
    options = {"sales": 3000, "events": 4000, "logs": 2000, "days": 5, "seed": 7}
    first = generate(spec(**options), tmp_path / "a", None)
    generate(spec(**options), tmp_path / "b", None)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert first.dataset("sales").records == 3000
    other_seed = tmp_path / "c"
    generate(spec(**{**options, "seed": 8}), other_seed, None)
    assert digests(other_seed) != digests(tmp_path / "a")


def test_clean_data_set_parses_with_duckdb_and_has_no_truth(tmp_path: Path) -> None:
    source = tmp_path / "source"
    generate(spec(defect_rate=0.0), source, None)
    counts = manifest(source)["datasets"]
    con = duckdb.connect()
    sales = con.execute(
        f"""SELECT count(*), count(DISTINCT transaction_id), min(quantity), min(unit_price),
                   count(*) FILTER (WHERE channel NOT IN ('web', 'store', 'mobile'))
            FROM read_csv('{source}/sales/*.csv', header = true, delim = ',', quote = '',
                          columns = {{'transaction_id': 'VARCHAR', 'timestamp': 'TIMESTAMP',
                                      'customer_id': 'INTEGER', 'product_id': 'INTEGER',
                                      'quantity': 'INTEGER', 'unit_price': 'DECIMAL(10,2)',
                                      'channel': 'VARCHAR'}},
                          timestampformat = '%Y-%m-%dT%H:%M:%S')"""
    ).fetchone()
    assert sales[0] == sales[1] == counts["sales"]["records"] == 2000
    assert sales[2] >= 1 and sales[3] > 0 and sales[4] == 0
    events = con.execute(
        f"""SELECT count(*), count(DISTINCT event_id),
                   count(*) FILTER (WHERE event_type NOT IN
                       ('view', 'click', 'add_to_cart', 'remove_from_cart', 'purchase')),
                   count(*) FILTER (WHERE device NOT IN ('desktop', 'mobile', 'tablet')),
                   count(*) FILTER (WHERE user_id IS NULL)
            FROM read_json('{source}/events/*.json', format = 'newline_delimited',
                           columns = {{'event_id': 'VARCHAR', 'timestamp': 'TIMESTAMP',
                                       'user_id': 'INTEGER', 'session_id': 'VARCHAR',
                                       'event_type': 'VARCHAR', 'product_id': 'INTEGER',
                                       'device': 'VARCHAR'}})"""
    ).fetchone()
    assert events == (counts["events"]["records"], 3000, 0, 0, 0)
    pattern = (
        r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (DEBUG|INFO|WARN|ERROR) "
        r'[A-Za-z][A-Za-z0-9]* status=\d+ latency_ms=\d+ msg="[^"]*"$'
    )
    logs = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE regexp_full_match(line, '{pattern}')),
                   count(*) FILTER (WHERE line LIKE '% ERROR %'
                                    AND NOT regexp_full_match(line, '.* status=5\\d\\d .*'))
            FROM read_csv('{source}/logs/*.log', header = false, delim = '\\x01', quote = '',
                          escape = '', columns = {{'line': 'VARCHAR'}})"""
    ).fetchone()
    assert logs == (counts["logs"]["records"], 4000, 0)
    assert truth(source) == []
    assert all(n == 0 for d in counts.values() for n in d["reasons"].values())


def test_truth_matches_an_independent_judgement(tmp_path: Path, pg_url: str, judge) -> None:
    source = tmp_path / "source"
    generate(spec(sales=6000, events=6000, logs=3000, days=6, seed=3), source, pg_url)
    customers = judge.customers(table_rows(pg_url, "customers"))
    products = judge.products(table_rows(pg_url, "products"))
    verdicts = judge.files(source, valid_ids(customers), valid_ids(products))
    rows = truth(source)
    assert set(rows[0]) == set(TRUTH_COLUMNS)

    expected = {k: v for k, v in verdicts.items() if v}
    got = {
        (r["source"], r["record_index"]): r["reasons"]
        for r in rows
        if r["record_index"] is not None
    }
    assert got == expected  # every defect found, nothing clean listed, exact codes

    lines = {}
    for r in rows:
        if r["record_index"] is None:
            continue
        if r["source"] not in lines:
            lines[r["source"]] = judge.records(source / r["source"], r["dataset"])
        assert lines[r["source"]][r["record_index"]] == r["raw"]
        assert r["source"].startswith(r["dataset"] + "/")
        if r["dataset"] == "logs" or r["reasons"][0].startswith("MALFORMED"):
            assert r["key"] is None
        elif r["key"] is not None:
            assert r["key"] in r["raw"]

    for name, judged in (("customers", customers), ("products", products)):
        listed = {r["key"]: r["reasons"] for r in rows if r["dataset"] == name}
        assert all(r["source"] == f"postgres:{name}" for r in rows if r["dataset"] == name)
        assert listed == {k: v for k, v in judged.items() if v}

    # Every reason code of every dataset occurs, and some records carry several.
    for dataset, codes in REASONS_BY_DATASET.items():
        if dataset in ("customers", "products"):
            continue
        seen = {c for r in rows if r["dataset"] == dataset for c in r["reasons"]}
        assert seen == {c.value for c in codes}, dataset
    assert any(len(r["reasons"]) > 1 for r in rows)
    duplicates = [r for r in rows if "DUPLICATE" in r["reasons"]]
    assert {r["dataset"] for r in duplicates} == {"sales", "events"}
    assert all(r["reasons"] == ["DUPLICATE"] for r in duplicates)


@pytest.mark.parametrize(("rate", "seed"), [(0.02, 1), (0.1, 11), (0.3, 5)])
def test_defect_rates_within_tolerance(tmp_path: Path, rate: float, seed: int) -> None:
    source = tmp_path / "source"
    counts = {
        "sales": 20_000,
        "events": 30_000,
        "logs": 20_000,
        "customers": 2_000,
        "products": 400,
    }
    generate(spec(defect_rate=rate, seed=seed, days=7, **counts), source, None)
    rows = truth(source)
    for dataset, total in counts.items():
        defective = sum(1 for r in rows if r["dataset"] == dataset)
        assert abs(defective / total - rate) <= 0.1 * rate + 1 / total, dataset
        per_code = {}
        for r in rows:
            if r["dataset"] == dataset:
                for code in r["reasons"]:
                    per_code[code] = per_code.get(code, 0) + 1
        # Spread over every code: no code far below an even share of the first codes.
        codes = REASONS_BY_DATASET[dataset]
        assert set(per_code) == {c.value for c in codes}, dataset
        assert min(per_code.values()) >= 0.5 * defective / len(codes), dataset
        assert manifest(source)["datasets"][dataset]["defective"] == defective


def test_batch_two_appends_and_duplicates_earlier_keys(tmp_path: Path, pg_url: str, judge) -> None:
    source = tmp_path / "source"
    options = {"sales": 3000, "events": 3000, "logs": 1000, "days": 4, "defect_rate": 0.2}
    generate(spec(**options), source, pg_url)
    before = digests(source)
    customers_before = {r[0]: r for r in table_rows(pg_url, "customers")}
    second = generate(spec(batch=2, **options), source, pg_url)

    after = digests(source)
    assert {k: after[k] for k in before} == before  # nothing earlier rewritten
    new_files = sorted(set(after) - set(before))
    first_days = {p.name for p in (source / "sales").iterdir()}
    assert second.first_day == dt.date(2025, 1, 5)
    assert "sales/sales_2025-01-05.csv" in new_files
    assert len(first_days) == 8
    for folder in ("sales", "events", "logs"):
        old = [k for k in before if k.startswith(folder + "/")]
        new = [k for k in new_files if k.startswith(folder + "/")]
        assert len(new) == 4 and min(new) > max(old)  # later names: later arrival

    batch_one_keys = set()
    for folder, column in (("sales", 0), ("events", None)):
        for path in (source / folder).glob("*_2025-01-0[1-4].*"):
            for raw in judge.records(path, folder):
                if column == 0:
                    batch_one_keys.add(raw.split(",")[0])
                else:
                    with contextlib.suppress(ValueError, AttributeError):
                        batch_one_keys.add(str(json.loads(raw).get("event_id")))
    rows = truth(source, 2)
    repeated = [r for r in rows if r["reasons"] == ["DUPLICATE"] and r["key"] in batch_one_keys]
    assert {r["dataset"] for r in repeated} == {"sales", "events"}

    customers = judge.customers(table_rows(pg_url, "customers"))
    products = judge.products(table_rows(pg_url, "products"))
    verdicts = judge.files(source, valid_ids(customers), valid_ids(products))
    both = truth(source, 1) + rows
    got = {(r["source"], r["record_index"]): r["reasons"] for r in both if r["source"][0] != "p"}
    assert got == {k: v for k, v in verdicts.items() if v}
    listed = {r["key"]: r["reasons"] for r in both if r["dataset"] == "customers"}
    assert listed == {k: v for k, v in customers.items() if v}

    counts = manifest(source, 2)["datasets"]
    customers_after = {r[0]: r for r in table_rows(pg_url, "customers")}
    assert len(customers_after) == counts["customers"]["table_rows"] == 20 + 2  # tiny + 10 %
    updated = [
        c for c, r in customers_after.items() if c in customers_before and r != customers_before[c]
    ]
    assert len(updated) == counts["customers"]["updated"] >= 1
    first_day = dt.datetime(2025, 1, 5, tzinfo=dt.timezone.utc)
    assert all(customers_after[c][6] >= first_day for c in updated)
    assert len(table_rows(pg_url, "products")) == counts["products"]["table_rows"] == 8


def test_postgres_tables_follow_the_contract(tmp_path: Path, pg_url: str) -> None:
    generate(spec(customers=500, products=40), tmp_path / "source", pg_url)
    with psycopg.connect(pg_url) as conn:
        columns = conn.execute(
            """SELECT table_name, column_name, data_type, numeric_precision, numeric_scale
               FROM information_schema.columns WHERE table_name IN ('customers', 'products')
               ORDER BY table_name, ordinal_position"""
        ).fetchall()
        keys = conn.execute(
            """SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc
               JOIN information_schema.key_column_usage kcu USING (constraint_name, table_name)
               WHERE tc.constraint_type = 'PRIMARY KEY'
                 AND tc.table_name IN ('customers', 'products') ORDER BY 1"""
        ).fetchall()
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM products)"
        ).fetchone()
    assert [c[:3] for c in columns] == [
        ("customers", "customer_id", "integer"),
        ("customers", "name", "text"),
        ("customers", "email", "text"),
        ("customers", "country", "text"),
        ("customers", "segment", "text"),
        ("customers", "signup_date", "date"),
        ("customers", "updated_at", "timestamp with time zone"),
        ("products", "product_id", "integer"),
        ("products", "name", "text"),
        ("products", "category", "text"),
        ("products", "list_price", "numeric"),
        ("products", "updated_at", "timestamp with time zone"),
    ]
    assert columns[10][3:] == (10, 2)
    assert keys == [("customers", "customer_id"), ("products", "product_id")]
    assert counts == (500, 40)


def test_unreachable_postgres_is_one_sentence_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        generate(spec(), tmp_path / "source", "postgresql://app:s3cret@127.0.0.1:9/shop")
    message = str(caught.value)
    assert "127.0.0.1:9" in message and "s3cret" not in message
    assert message.count(".") >= 1 and "\n" not in message
    assert not (tmp_path / "source").exists()


def test_existing_landing_zone_needs_force(tmp_path: Path) -> None:
    source = tmp_path / "source"
    generate(spec(days=3), source, None)
    with pytest.raises(UserError, match="--force"):
        generate(spec(days=3), source, None)
    generate(spec(days=2, sales=100, force=True), source, None)
    assert len(list((source / "sales").iterdir())) == 2
    assert manifest(source)["options"]["sales"] == 100


def test_later_batch_needs_the_previous_one(tmp_path: Path) -> None:
    source = tmp_path / "source"
    generate(spec(days=2), source, None)
    with pytest.raises(UserError, match="batch 2 first"):
        generate(spec(days=2, batch=3), source, None)
    generate(spec(days=2, batch=2), source, None)
    with pytest.raises(UserError, match="--force"):
        generate(spec(days=2, batch=2), source, None)


def test_batches_must_end_in_the_past(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="future"):
        generate(spec(start_date=dt.date.today()), tmp_path / "source", None)


def test_command_prints_a_summary(tmp_path: Path, pg_url: str) -> None:
    from typer.testing import CliRunner

    from salesoptic.cli import app

    result = CliRunner().invoke(
        app,
        ["generate", "--data-dir", str(tmp_path), "--pg-url", pg_url, "--scale", "tiny",
         "--sales", "500", "--days", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for word in ("sales", "events", "logs", "customers", "products", "rows/s"):
        assert word in result.output
    assert len(list((tmp_path / "source" / "sales").iterdir())) == 3
