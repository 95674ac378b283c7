"""Bronze's pure transformations on tiny inline rows (each with a None and a bad value)."""

import re

from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from salesoptic.contracts.sources import LOG_LINE_PATTERN, SOURCE_FIELDS
from salesoptic.pipeline.bronze import (
    drop_blank_lines,
    fields_from_csv_header,
    fields_from_json_lines,
    fields_from_log_lines,
    table_as_strings,
)


def raw_csv(spark, rows, width):
    schema = T.StructType(
        [T.StructField(f"c{i}", T.StringType()) for i in range(width)]
        + [
            T.StructField("_corrupt_record", T.StringType()),
            T.StructField("_source", T.StringType()),
        ]
    )
    return spark.createDataFrame(rows, schema)


def test_csv_columns_follow_the_files_header(spark) -> None:
    header = ["channel", "transaction_id", "unit_price", "promo", "quantity"]
    df = raw_csv(
        spark,
        [("web", "T1", "4.50", "X", None, None, "f"), ("a", "b", None, None, None, "a,b", "f")],
        5,
    )
    out = fields_from_csv_header(df, header, "sales")
    assert out.columns[:7] == list(SOURCE_FIELDS["sales"])
    rows = out.orderBy(F.col("_corrupt_record").asc_nulls_first()).collect()
    good, bad = rows
    assert (good.transaction_id, good.channel, good.unit_price, good.quantity) == (
        "T1", "web", "4.50", None,
    )  # fmt: skip
    assert good.timestamp is None and good.customer_id is None  # absent from the header
    assert good._rescued_data == '{"promo":"X"}'
    assert bad._corrupt_record == "a,b"
    assert all(bad[name] is None for name in SOURCE_FIELDS["sales"])
    assert bad._rescued_data is None


def test_csv_duplicate_header_name_is_rescued(spark) -> None:
    df = raw_csv(spark, [("T1", "T2", None, "f")], 2)
    out = fields_from_csv_header(df, ["transaction_id", "transaction_id"], "sales").first()
    assert out.transaction_id == "T1"
    assert out._rescued_data == '{"transaction_id":"T2"}'


def test_json_lines(spark) -> None:
    lines = [
        '{"event_id": "e-1", "user_id": 17, "product_id": null, "extra": {"a": 1}}',
        '[{"event_id": "e-2"}]',
        "42",
        '{"event_id": "e-3"',
        '{"event_id": "e-4"} trailing',
        "{}",
        '{"event_id": "e-5", "user_id": "abc", "device": true}',
        '{"event_id": "e-6", "event_id": "e-7"}',
        '{"event_id": "e-8", "x": 1, "x": 2}',
        '{"x": 1, "y": 2}',
    ]
    df = spark.createDataFrame(
        [(line, f"line-{i}") for i, line in enumerate(lines)], "value string, _source string"
    )
    rows = fields_from_json_lines(df, "events").collect()
    out = sorted(rows, key=lambda r: int(r._source.removeprefix("line-")))
    assert out[0].user_id == "17" and out[0].product_id is None
    assert out[0]._rescued_data == '{"extra":"{\\"a\\":1}"}'
    for i in range(1, 5):
        assert out[i]._corrupt_record == lines[i] and out[i].event_id is None
    assert out[5]._corrupt_record is None and out[5].event_id is None
    assert out[6].user_id == "abc" and out[6].device == "true"
    # A name given twice, whether a contract name or another.
    assert out[7]._corrupt_record == lines[7] and out[8]._corrupt_record == lines[8]
    assert out[9]._corrupt_record is None and out[9]._rescued_data == '{"x":"1","y":"2"}'
    for i in (5, 6):
        assert out[i]._rescued_data is None


def test_json_lines_in_and_out_of_contract_order_give_the_same_fields(spark) -> None:
    names = SOURCE_FIELDS["events"]
    values = ['"e-1"', '"2025-01-03T10:00:00"', "17", "null", '"view"', '{"a": 1}', '"mobile"']
    pairs = [f'"{name}": {value}' for name, value in zip(names, values, strict=True)]
    lines = [
        "{" + ", ".join(pairs) + "}",  # the contract order
        "{" + ", ".join(reversed(pairs)) + "}",
        "{" + ", ".join(pairs) + ', "extra": 1}',
        "{" + ", ".join([*pairs[:-1], pairs[0]]) + "}",  # seven names, one of them twice
    ]
    df = spark.createDataFrame(
        [(line, f"line-{i}") for i, line in enumerate(lines)], "value string, _source string"
    )
    rows = fields_from_json_lines(df, "events").collect()
    out = sorted(rows, key=lambda r: int(r._source.removeprefix("line-")))
    expected = ("e-1", "2025-01-03T10:00:00", "17", None, "view", '{"a":1}', "mobile")
    for row in out[:3]:
        assert tuple(row[name] for name in names) == expected
        assert row._corrupt_record is None
    assert out[0]._rescued_data is None and out[1]._rescued_data is None
    assert out[2]._rescued_data == '{"extra":"1"}'
    assert out[3]._corrupt_record == lines[3]


def test_log_lines(spark) -> None:
    good = (
        "2025-01-03T10:00:00.123Z ERROR PaymentGateway status=502 latency_ms=532 "
        'msg="Card, \\"x\\""'
    )
    lines = [
        good,
        '2025-01-03T10:00:00.123Z ERROR PaymentGateway status=-1 latency_ms=5 msg="x"',
        "garbage",
        '2025-02-30T10:00:00.123Z LOUD Api status=200 latency_ms=5 msg=""',
    ]
    df = spark.createDataFrame([(line, "f") for line in lines], "value string, _source string")
    rows = {
        r.value: r
        for r in fields_from_log_lines(df)
        .withColumn("value", F.coalesce("_corrupt_record", "msg"))
        .collect()
    }
    parsed = rows['Card, \\"x\\"']
    assert (parsed.timestamp, parsed.level, parsed.service, parsed.status, parsed.latency_ms) == (
        "2025-01-03T10:00:00.123Z", "ERROR", "PaymentGateway", "502", "532",
    )  # fmt: skip
    assert rows[lines[1]]._corrupt_record == lines[1]
    assert rows["garbage"]._corrupt_record == "garbage"
    odd = rows[""]
    assert (odd.timestamp, odd.level, odd._corrupt_record) == (
        "2025-02-30T10:00:00.123Z", "LOUD", None,
    )  # fmt: skip


def test_log_fields_equal_pythons_regex_groups(spark) -> None:
    head = "2025-01-03T10:00:00.123Z WARN Api status=200 latency_ms=7 "
    messages = [
        "two  spaces and\ta tab",
        "dollars $1 $2 and \\ backslashes \\1",
        'quotes " inside " and msg="nested"',
        "a NUL \u0000 and non-ASCII é ✓",
        " leading and trailing ",
        "",
    ]
    lines = [f'{head}msg="{m}"' for m in messages]
    lines += [head.replace("WARN", "WA\u0000RN") + 'msg="x"', head + "msg=x"]
    # Text after the closing quote, even a Unicode line break, makes the line corrupt.
    lines += [f'{head}msg="x"\u2028', f'{head}msg="x"\u0085', f'{head}msg="x" ']
    # Each line's position as its source, to find its row again.
    df = spark.createDataFrame(
        [(line, str(i)) for i, line in enumerate(lines)], "value string, _source string"
    )
    got = {lines[int(r._source)]: r for r in fields_from_log_lines(df).collect()}
    fields = SOURCE_FIELDS["logs"]
    for line in lines:
        # Python's \Z is the end of the string, as Java's \z.
        match = re.match(LOG_LINE_PATTERN.replace("\\z", "\\Z"), line)
        expected = match.groups() if match else (None,) * len(fields)
        assert tuple(got[line][name] for name in fields) == expected, line
        assert got[line]._corrupt_record == (None if match else line)


def test_blank_lines_are_not_records(spark) -> None:
    df = spark.createDataFrame(
        [("a", "f"), ("", "f"), ("   ", "f"), (None, "f")], "value string, _source string"
    )
    assert [r.value for r in drop_blank_lines(df).collect()] == ["a"]


def test_table_as_strings(spark) -> None:
    df = spark.sql(
        "SELECT 7 AS product_id, 'Lamp' AS name, CAST(12.5 AS DECIMAL(10,2)) AS list_price, "
        "TIMESTAMP'2025-01-03 10:00:00' AS updated_at, 1 AS shelf"
    )
    out = table_as_strings(df, "products", "postgres:products")
    expected = spark.createDataFrame(
        [("7", "Lamp", None, "12.50", "2025-01-03 10:00:00", "1", "postgres:products")],
        "product_id string, name string, category string, list_price string, "
        "updated_at string, shelf string, _source string",
    )
    assertDataFrameEqual(out, expected)
