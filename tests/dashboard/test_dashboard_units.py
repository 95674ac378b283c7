"""The dashboard's parts: formatting, filter applicability, escaping, charts, server start."""

from __future__ import annotations

import datetime as dt
import json
import socket
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from synthetic import SQL_COUNTRY, Truth

from salesoptic.contracts.reasons import Reason
from salesoptic.dashboard import charts, data, diagram, i18n, server
from salesoptic.dashboard.components import csv_bytes, md_escape
from salesoptic.dashboard.filters import Filters, kpi_table
from salesoptic.errors import UserError

D1, D2, D3 = dt.date(2025, 1, 1), dt.date(2025, 1, 2), dt.date(2025, 1, 3)


@pytest.mark.parametrize(
    ("lang", "value", "expected"),
    [
        ("en", Decimal("1234567.89"), "€1,234,567.89"),
        ("fr", Decimal("1234567.89"), "1\u202f234\u202f567,89\u00a0€"),
        ("en", Decimal("-5.5"), "-€5.50"),
        ("fr", Decimal("0.005"), "0,01\u00a0€"),
        ("en", None, "—"),
    ],
)
def test_money(lang, value, expected) -> None:
    assert i18n.fmt_money(lang, value) == expected


def test_numbers_percentages_dates() -> None:
    assert i18n.fmt_int("en", 999) == "999"
    assert i18n.fmt_int("fr", 1000) == "1\u202f000"
    assert i18n.fmt_int("en", 2.5) == "3"  # half-up, not banker's rounding
    assert i18n.fmt_pct("en", 0.1234) == "12.3%"
    assert i18n.fmt_pct("fr", 0.1234) == "12,3\u00a0%"
    assert i18n.fmt_date("fr", dt.date(2025, 3, 9)) == "09/03/2025"
    assert i18n.fmt_date("en", dt.date(2025, 3, 9)) == "2025-03-09"


def test_every_text_and_reason_exists_in_both_languages() -> None:
    for key, texts in i18n.STRINGS.items():
        assert set(texts) == {"en", "fr"} and all(texts.values()), key
    assert set(i18n.FRENCH_EXPLANATIONS) == set(Reason)
    assert i18n.explain("fr", "DUPLICATE").startswith("Un autre enregistrement")
    assert i18n.explain("en", "NOT_A_CODE") == "NOT_A_CODE"


def test_filters_know_what_each_table_can_honour() -> None:
    whole = Filters(start=D1, end=D3, sales_first=D1, sales_last=D3)
    assert not whole.date_active and kpi_table(whole) == "daily_sales"
    part = Filters(start=D2, end=D3, sales_first=D1, sales_last=D3)
    assert part.active == {"date"} and kpi_table(part) == "daily_sales"
    assert part.unapplied("sales_by_product") == ["date"]
    assert part.unapplied("funnel_daily") == []
    country = Filters(countries=("France",), segments=("Premium",))
    assert kpi_table(country) == "customer_value"
    assert country.unapplied("sales_by_country") == ["segment"]
    assert kpi_table(Filters(channels=("web",))) == "sales_by_channel"
    assert kpi_table(Filters(channels=("web",), countries=("France",))) is None
    assert (
        kpi_table(Filters(start=D2, end=D2, sales_first=D1, sales_last=D3, segments=("x",))) is None
    )


def test_csv_guards_formulas_but_keeps_numbers() -> None:
    frame = pd.DataFrame({"name": ["=1+1", "@SUM(A1)", "-2", "plain"], "n": [-1, 2, 3, 4]})
    lines = csv_bytes(frame).decode().splitlines()
    assert lines == ["name,n", "'=1+1,-1", "'@SUM(A1),2", "'-2,3", "plain,4"]


def test_markdown_escape_leaves_no_markup() -> None:
    assert md_escape("[x](javascript:alert(1)) *b* <i>") == (
        "\\[x\\]\\(javascript\\:alert\\(1\\)\\) \\*b\\* \\<i\\>"
    )


def test_diagram_labels_are_quoted() -> None:
    counts = diagram.FlowCounts({"sales": 3}, {"sales": 1234}, {}, {}, {"daily_sales": 2})
    zones = {z: f'zone "{z}"' for z in ("sources", "bronze", "silver", "quarantine", "gold")}
    dot = diagram.flow_dot(counts, zones | {"dashboard": "UI"}, lambda n: f"{n:,}", "rows")
    assert 'bronze_sales [label="sales\\n1,234 rows"' in dot
    assert 'label="zone \\"bronze\\""' in dot
    assert dot.count("{") == dot.count("}")


def test_queries_take_values_as_parameters(truth: Truth) -> None:
    gold = data.resolve_gold(truth.data_dir)
    assert gold is not None and gold.version == truth.version
    hostile = data.countries(gold, Filters(countries=(SQL_COUNTRY,)))
    assert list(hostile["country"]) == [SQL_COUNTRY]
    with pytest.raises(ValueError, match="not a gold table"):
        gold.files("daily_sales; DROP TABLE x")
    with pytest.raises(ValueError, match="not a dataset"):
        data.quarantine_sample(truth.data_dir, "../gold", None, 10)


def test_no_gold_before_publication(tmp_path: Path) -> None:
    assert data.resolve_gold(tmp_path) is None
    (tmp_path / "gold" / "current" / "daily_sales").mkdir(parents=True)
    assert data.resolve_gold(tmp_path) is None  # a folder without Parquet is not a table


def test_server_flags_bind_loopback_without_telemetry() -> None:
    args = server.streamlit_args("127.0.0.1", 8600)
    flags = dict(zip(args[5::2], args[6::2], strict=True))
    assert args[1:4] == ["-m", "streamlit", "run"] and args[4] == str(server.APP)
    assert flags["--server.address"] == "127.0.0.1"
    assert flags["--server.port"] == "8600"
    assert flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert server.url_of("::1", 80) == "http://[::1]:80"
    assert server.is_loopback("127.0.0.1") and not server.is_loopback("0.0.0.0")


def test_server_refuses_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(UserError, match="choose another --port"):
            server.start(Path("."), "127.0.0.1", port)


def test_ranked_chart_labels_stay_strings() -> None:
    names = ['say "hi"', "back\\slash", "'] + alert(1) + ['", "Crème brûlée", "Twin", "Twin"]
    frame = pd.DataFrame({"product_name": names, "revenue": [Decimal(9 - i) for i in range(6)]})
    spec = charts.ranked_bars(frame, "product_name", "revenue", "fr", "CA")
    expr = spec["encoding"]["y"]["axis"]["labelExpr"]
    assert expr.endswith("[datum.value]")
    # One JSON array of the names, in rank order: no name can end its string literal.
    assert json.loads(expr.removesuffix("[datum.value]")) == names
    # Two products with one name keep a bar each.
    rows = spec["datasets"][spec["data"]["name"]]
    assert list(rows["rank"]) == list(range(6))
    assert spec["config"]["locale"]["number"]["thousands"] == "\u202f"


def test_a_page_that_fails_stops_the_start_with_one_sentence(tmp_path: Path) -> None:
    broken = tmp_path / "app.py"
    broken.write_text("raise RuntimeError('broken page')\n", encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = server.start(tmp_path, "127.0.0.1", port, broken)
    try:
        with pytest.raises(UserError, match="failed on its first run"):
            server.wait_ready(process, server.url_of("127.0.0.1", port))
    finally:
        server.stop(process)


def _valid_vega_lite(spec: dict) -> list[str]:
    """Errors of ``spec`` against Vega-Lite's JSON schema (the one Altair ships)."""
    import jsonschema
    from altair.vegalite.v6.schema import load_schema

    plain = {
        **spec,
        "datasets": {
            name: json.loads(rows.to_json(orient="records"))
            for name, rows in spec["datasets"].items()
        },
    }
    validator = jsonschema.Draft7Validator(load_schema())
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(plain)]


def test_every_chart_is_valid_vega_lite() -> None:
    days = pd.DataFrame(
        {
            "date": [dt.date(2025, 1, 1), dt.date(2025, 1, 2)],
            "revenue": [Decimal("10.50"), Decimal("7.25")],
            "orders": [3, 2],
            "service": ["Api", "Db"],
            "stage": ["bronze", "silver"],
        }
    )
    specs = [
        charts.trend(days, "en", "Revenue", "Orders"),
        charts.ranked_bars(days, "service", "revenue", "fr", "CA"),
        charts.funnel(["view", "cart", "purchase"], [10, 4, 1], "en"),
        charts.lines(days, "date", "revenue", "service", "fr", "Rate", percent=True),
        charts.stacked_bars(days, "date", "orders", "stage", "en", "Seconds", {"bronze": "#000"}),
    ]
    for spec in specs:
        assert _valid_vega_lite(spec) == []
    # The check can fail: a misspelt property is refused.
    assert _valid_vega_lite({**specs[0], "heigth": 10})
