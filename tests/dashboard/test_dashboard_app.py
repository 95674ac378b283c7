"""The dashboard in Streamlit's AppTest: every section's figures against the written data.

Expected values are computed here from the order-grain facts and the quarantine plan of
``synthetic.py``, never read back from the dashboard's own modules.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
from streamlit.testing.v1 import AppTest
from synthetic import (
    IMG_NAME,
    QUARANTINE_PLAN,
    ROWS_IN,
    SCRIPT_NAME,
    SQL_COUNTRY,
    Truth,
    gold_tables,
    publish_gold,
    write_data_dir,
    write_runs,
)

from salesoptic.dashboard.components import TABLE_KEY
from salesoptic.dashboard.sections.business import BREAKDOWNS

NNBSP, NBSP = "\u202f", "\u00a0"


def eur_en(value: Decimal) -> str:
    return f"€{value:,.2f}"


def eur_fr(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", NNBSP).replace(".", ",") + NBSP + "€"


def int_en(value: int) -> str:
    return f"{value:,}"


def revenue_of(orders: pd.DataFrame) -> Decimal:
    return Decimal(int(orders["revenue_cents"].sum())).scaleb(-2)


def aov_of(orders: pd.DataFrame) -> Decimal:
    return (revenue_of(orders) / len(orders)).quantize(Decimal("0.01"), "ROUND_HALF_UP")


TABS = ("Business", "Data quality", "Operations", "Architecture")


def metrics(at: AppTest) -> dict[str, str]:
    """The figures of the open tab (the others are not rendered)."""
    return {m.label: m.value for m in at.main.metric}


def open_tab(at: AppTest, label: str) -> AppTest:
    """Click an English tab: its key holds the open tab's label."""
    at.session_state["tab_en"] = label
    return at.run()


def show_breakdown(at: AppTest, dimension: str) -> AppTest:
    return at.segmented_control(key="breakdown").set_value(dimension).run()


TABLES = ("daily_sales", "funnel_daily", "customer_value", *(f"sales_by_{d}" for d in BREAKDOWNS))


def show_tables(at: AppTest) -> AppTest:
    """Open the Business tab's "Table" expanders: their tables are built only when open."""
    for name in TABLES:
        at.session_state[f"{TABLE_KEY}{name}"] = True
    return at.run()


def chart_rows(at: AppTest, index: int) -> tuple[dict, pd.DataFrame]:
    """The Vega-Lite spec of the open tab's ``index``-th chart and the rows it draws."""
    chart = at.get("vega_lite_chart")[index]
    rows = pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pandas()
    return json.loads(chart.proto.spec), rows


def frame(at: AppTest, *columns: str) -> pd.DataFrame:
    """The one table shown whose headings start with ``columns``."""
    found = [
        d.value for d in at.dataframe if list(d.value.columns[: len(columns)]) == list(columns)
    ]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def expect_kpis(at: AppTest, orders: pd.DataFrame, *, units: bool = True, customers: bool = True):
    shown = metrics(at)
    assert shown["Revenue"] == eur_en(revenue_of(orders))
    assert shown["Orders"] == int_en(len(orders))
    assert shown["Units"] == (int_en(int(orders["quantity"].sum())) if units else "—")
    assert shown["Average order value"] == eur_en(aov_of(orders))
    assert shown["Customers"] == (int_en(orders["customer_id"].nunique()) if customers else "—")


# --- business --------------------------------------------------------------------------


def test_kpis_of_the_whole_period_equal_the_orders(app: AppTest, truth: Truth) -> None:
    expect_kpis(app, truth.orders)
    assert "Computed from `daily_sales`." in captions(app)


def test_date_range_restricts_the_sales_figures(app: AppTest, truth: Truth) -> None:
    first, third = truth.dates[0], truth.dates[2]
    app.sidebar.date_input[0].set_value((first, third)).run()
    in_range = truth.orders[truth.orders["date"].between(first, third)]
    # Distinct customers over several days are not in gold: shown as missing, not summed.
    expect_kpis(app, in_range, customers=False)
    daily = frame(show_tables(app), "Date", "Orders")
    assert list(daily["Date"]) == [first, truth.dates[1], third]
    assert any(
        "Not filtered by date range: the gold table `sales_by_product`" in c for c in captions(app)
    )


def test_one_day_gives_that_days_distinct_customers(app: AppTest, truth: Truth) -> None:
    day = truth.dates[4]
    app.sidebar.date_input[0].set_value((day, day)).run()
    expect_kpis(app, truth.orders[truth.orders["date"] == day])


def test_country_filter_with_a_hostile_value_is_a_parameter(app: AppTest, truth: Truth) -> None:
    app.sidebar.multiselect(key="filter_country").set_value([SQL_COUNTRY, "France"]).run()
    chosen = truth.orders[truth.orders["country"].isin([SQL_COUNTRY, "France"])]
    expect_kpis(app, chosen)
    countries = frame(show_tables(show_breakdown(app, "country")), "Country", "Orders")
    assert sorted(countries["Country"]) == sorted([SQL_COUNTRY, "France"])
    customers = frame(show_tables(app), "Customer", "Name")
    assert set(customers["Country"]) <= {SQL_COUNTRY, "France"}
    # Tables without a country column say so instead of showing other countries' figures.
    notes = captions(app)
    assert any("Not filtered by country: the gold table `daily_sales`" in c for c in notes)
    assert not any("`sales_by_country`" in c and "Not filtered" in c for c in notes)
    notes = captions(show_breakdown(app, "segment"))
    assert any("Not filtered by country: the gold table `sales_by_segment`" in c for c in notes)


def test_segment_filter_has_no_units_in_gold(app: AppTest, truth: Truth) -> None:
    app.sidebar.multiselect(key="filter_segment").set_value(["Premium"]).run()
    expect_kpis(app, truth.orders[truth.orders["segment"] == "Premium"], units=False)
    segments = frame(show_tables(show_breakdown(app, "segment")), "Segment", "Orders")
    assert list(segments["Segment"]) == ["Premium"]


def test_channel_filter(app: AppTest, truth: Truth) -> None:
    app.sidebar.multiselect(key="filter_channel").set_value(["store"]).run()
    expect_kpis(app, truth.orders[truth.orders["channel"] == "store"], customers=False)
    channels = frame(show_tables(show_breakdown(app, "channel")), "Channel", "Orders")
    assert list(channels["Channel"]) == ["store"]
    store = truth.orders[truth.orders["channel"] == "store"]
    assert channels["Revenue"].iloc[0] == revenue_of(store)


def test_combined_filters_without_a_table_show_no_key_figures(app: AppTest, truth: Truth) -> None:
    app.sidebar.date_input[0].set_value((truth.dates[0], truth.dates[1]))
    app.sidebar.multiselect(key="filter_country").set_value(["France"]).run()
    kpis = ("Revenue", "Orders", "Units", "Average order value", "Customers")
    assert {metrics(app)[k] for k in kpis} == {"—"}
    assert "No gold table holds sales split by date range, country" in app.warning[0].value


def test_top_products_and_customers_rank_by_revenue(app: AppTest, truth: Truth) -> None:
    by_product = truth.orders.groupby("product_name")["revenue_cents"].sum()
    products = frame(show_tables(app), "Product", "Product name")
    assert len(products) == 10
    assert products["Product name"].iloc[0] == IMG_NAME
    assert list(products["Product name"]) == list(
        by_product.sort_values(ascending=False).index[:10]
    )
    customers = frame(show_tables(app), "Customer", "Name")
    assert customers["Name"].iloc[0] == SCRIPT_NAME
    top = truth.orders[truth.orders["customer_id"] == 1]
    assert customers["Revenue"].iloc[0] == revenue_of(top)
    # The customers' bars: the table's names in its order, and their revenue.
    spec, bars = chart_rows(app, 3)
    labels = spec["encoding"]["y"]["axis"]["labelExpr"].removesuffix("[datum.value]")
    assert json.loads(labels) == list(customers["Name"])
    assert list(bars["v"]) == [float(v) for v in customers["Revenue"]]
    app.number_input(key="top_n").set_value(5).run()
    assert len(frame(show_tables(app), "Product", "Product name")) == 5


def test_funnel_rates_are_ratios_of_summed_sessions(app: AppTest, truth: Truth) -> None:
    funnel = truth.gold["funnel_daily"]
    view, cart = funnel["sessions_view"].sum(), funnel["sessions_cart"].sum()
    purchase = funnel["sessions_purchase"].sum()
    shown = metrics(app)
    assert shown["View → cart"] == f"{100 * cart / view:.1f}%"
    assert shown["Conversion (view → purchase)"] == f"{100 * purchase / view:.1f}%"
    assert shown["Cart → purchase"] == f"{100 * purchase / cart:.1f}%"


def test_only_the_open_tab_and_breakdown_are_rendered(app: AppTest) -> None:
    assert [t.label for t in app.tabs] == list(TABS)
    assert "Revenue" in metrics(app) and not app.get("graphviz_chart")
    # Charts first: a table is built and sent only once its expander is opened.
    assert len(app.get("vega_lite_chart")) == 4 and not app.dataframe
    show_tables(app)
    assert [d.value.columns[1] for d in app.dataframe].count("Product name") == 1
    assert not any(list(d.value.columns[:2]) == ["Category", "Orders"] for d in app.dataframe)
    show_breakdown(app, "category")
    assert any(list(d.value.columns[:2]) == ["Category", "Orders"] for d in app.dataframe)
    assert not any("Product name" in list(d.value.columns) for d in app.dataframe)
    open_tab(app, "Architecture")
    assert app.get("graphviz_chart") and not metrics(app)


def test_a_language_switch_keeps_the_open_tab(app: AppTest) -> None:
    open_tab(app, "Data quality")
    assert "sales" in metrics(app)
    app.sidebar.radio(key="lang").set_value("fr").run()
    assert "sales" in metrics(app) and "Chiffre d'affaires" not in metrics(app)
    app.session_state["tab_fr"] = "Architecture"
    app.run()
    app.sidebar.radio(key="lang").set_value("en").run()
    assert app.get("graphviz_chart") and not metrics(app)


def test_choices_in_a_tab_outlive_a_visit_to_another(app: AppTest, truth: Truth) -> None:
    app.number_input(key="top_n").set_value(5).run()
    show_breakdown(app, "country")
    app.session_state[f"{TABLE_KEY}daily_sales"] = True
    assert len(frame(app.run(), "Date", "Orders")) == len(truth.dates)
    open_tab(app, "Data quality")
    app.selectbox(key="q_dataset").set_value("customers").run()
    open_tab(app, "Business")
    assert app.segmented_control(key="breakdown").value == "country"
    # The opened table is still open, the others still closed.
    assert [list(d.value.columns[:2]) for d in app.dataframe] == [["Date", "Orders"]]
    assert len(frame(show_tables(show_breakdown(app, "product")), "Product", "Product name")) == 5
    open_tab(app, "Data quality")
    assert len(frame(app, "Reasons")) == 3  # the customers' quarantined rows


def test_charts_draw_the_figures_of_the_day_and_product(app: AppTest, truth: Truth) -> None:
    first, third = truth.dates[0], truth.dates[2]
    app.sidebar.date_input[0].set_value((first, third)).run()
    app.sidebar.radio(key="lang").set_value("fr").run()
    spec, daily = chart_rows(app, 0)
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert list(daily["x"]) == [d.strftime("%d/%m/%Y") for d in truth.dates[:3]]
    per_day = truth.orders.groupby("date")["revenue_cents"].sum()
    assert list(daily["revenue"]) == [per_day[d] / 100 for d in truth.dates[:3]]
    # The ranked bars: the table's products, in its order, named by the axis labels.
    spec, bars = chart_rows(app, 1)
    names = frame(show_tables(app), "Produit", "Nom du produit")["Nom du produit"]
    labels = spec["encoding"]["y"]["axis"]["labelExpr"].removesuffix("[datum.value]")
    assert json.loads(labels) == list(names)
    top = truth.orders.groupby("product_name")["revenue_cents"].sum().nlargest(len(bars))
    assert list(bars["v"]) == [c / 100 for c in top]


def test_french_labels_numbers_and_dates(app: AppTest, truth: Truth) -> None:
    first, third = truth.dates[0], truth.dates[2]
    app.sidebar.date_input[0].set_value((first, third)).run()
    app.sidebar.radio(key="lang").set_value("fr").run()
    in_range = truth.orders[truth.orders["date"].between(first, third)]
    shown = metrics(app)
    assert shown["Chiffre d'affaires"] == eur_fr(revenue_of(in_range))
    assert shown["Unités"] == f"{int(in_range['quantity'].sum()):,}".replace(",", NNBSP)
    assert shown["Panier moyen"] == eur_fr(aov_of(in_range))
    # The date range survives the switch, and the widget writes dates the French way.
    assert app.sidebar.date_input[0].value == (first, third)
    assert app.sidebar.date_input[0].proto.format == "DD/MM/YYYY"
    assert [t.label for t in app.tabs] == [
        "Activité",
        "Qualité des données",
        "Exploitation",
        "Architecture",
    ]


# --- data quality ----------------------------------------------------------------------


def expected_health() -> dict[str, tuple[int, int]]:
    """(valid, judged) per dataset: facts over both runs, dimensions the latest run."""
    out = {}
    for dataset in ("sales", "events", "logs", "customers", "products"):
        runs = (1,) if dataset in ("customers", "products") else (0, 1)
        judged = sum(ROWS_IN[(r, dataset)] for r in runs)
        bad = sum(n for r in runs for _, n in QUARANTINE_PLAN.get((r, dataset), []))
        out[dataset] = (judged - bad, judged)
    return out


def test_health_rate_per_dataset(app: AppTest) -> None:
    shown = metrics(open_tab(app, "Data quality"))
    for dataset, (valid, judged) in expected_health().items():
        assert shown[dataset] == f"{100 * valid / judged:.1f}%", dataset
    health = frame(app, "Dataset", "Rows in", "Valid")
    assert dict(zip(health["Dataset"], health["Rows in"], strict=True)) == {
        d: judged for d, (_, judged) in expected_health().items()
    }


def test_quarantine_by_reason_with_explanations(app: AppTest) -> None:
    open_tab(app, "Data quality")
    reasons = frame(app, "Dataset", "Reason", "Rows")
    got = {(r.Dataset, r.Reason): r.Rows for r in reasons.itertuples()}
    assert got[("sales", "INVALID_PRICE")] == 15
    assert got[("sales", "UNKNOWN_CUSTOMER")] == 3
    assert got[("sales", "DUPLICATE")] == 5
    # Dimensions: the latest snapshot only (2 + 1 rows of run 2, not run 1's 4).
    assert got[("customers", "INVALID_EMAIL")] == 2
    assert got[("customers", "MISSING_COUNTRY")] == 1
    explained = dict(zip(reasons["Reason"], reasons["Explanation"], strict=True))
    assert explained["DUPLICATE"] == "Another record with the same business key was kept instead."


def test_quarantine_sample_shows_reasons_and_raw_text(app: AppTest, truth: Truth) -> None:
    open_tab(app, "Data quality")
    sample = frame(app, "Reasons")
    assert len(sample) == len(truth.quarantine["sales"])
    assert SCRIPT_NAME in set(sample["field"])
    assert "INVALID_PRICE, UNKNOWN_CUSTOMER" in set(sample["Reasons"])
    app.selectbox(key="q_reason_en").set_value("DUPLICATE").run()
    sample = frame(app, "Reasons")
    assert set(sample["Reasons"]) == {"DUPLICATE"} and len(sample) == 5
    app.selectbox(key="q_dataset").set_value("customers").run()
    assert len(frame(app, "Reasons")) == 3


def test_quality_trend_has_one_row_per_run_and_dataset(app: AppTest) -> None:
    open_tab(app, "Data quality")
    runs = frame(app, "Run", "Dataset")
    assert len(runs) == 10
    first_sales = runs[(runs["Run"] == "20250201T100000000000Z") & (runs["Dataset"] == "sales")]
    assert first_sales["Rows quarantined"].iloc[0] == 15


# --- operations ------------------------------------------------------------------------


def test_runs_and_stages(app: AppTest, truth: Truth) -> None:
    open_tab(app, "Operations")
    runs = frame(app, "Run", "Status")
    assert list(runs["Run"]) == [r["run_id"] for r in reversed(truth.runs)]
    assert list(runs["Status"]) == ["failed", "succeeded", "succeeded"]
    assert runs["Error"].iloc[0] == "PostgreSQL is unreachable at 127.0.0.1:5432."
    # No error: the page's missing mark, not the grid's "None".
    assert list(runs["Error"].iloc[1:]) == ["—", "—"]
    assert runs["Seconds"].iloc[1] == 12.5 + 20.25 + 8.0
    stages = frame(app, "Run", "Stage")
    assert len(stages) == 7
    silver = stages[(stages["Stage"] == "silver") & (stages["Run"] == truth.runs[0]["run_id"])]
    quarantined = sum(n for (run, _), plan in QUARANTINE_PLAN.items() if run == 0 for _, n in plan)
    judged = sum(n for (run, _), n in ROWS_IN.items() if run == 0)
    assert silver["Rows out"].iloc[0] == judged - quarantined


def test_service_health_and_log_levels_follow_the_date_range(app: AppTest, truth: Truth) -> None:
    open_tab(app, "Operations")
    health = frame(app, "Date", "Service", "Lines", "Errors")
    assert len(health) == len(truth.gold["service_health_daily"])
    day = truth.dates[3]
    app.sidebar.date_input[0].set_value((day, day)).run()
    health = frame(app, "Date", "Service", "Lines", "Errors")
    expected = truth.gold["service_health_daily"]
    expected = expected[expected["date"] == day]
    assert dict(zip(health["Service"], health["Errors"], strict=True)) == dict(
        zip(expected["service"], expected["errors"], strict=True)
    )
    levels = frame(app, "Date", "Service", "Level")
    assert set(levels["Date"]) == {day} and len(levels) == 12


# --- architecture ----------------------------------------------------------------------


def test_architecture_uses_the_latest_succeeded_run(app: AppTest, truth: Truth) -> None:
    open_tab(app, "Architecture")
    dot = app.get("graphviz_chart")[0].proto.spec
    assert 'bronze_sales [label="sales\\n200 rows"' in dot
    assert 'q_sales [label="sales\\n7 rows"' in dot
    customers = len(truth.gold["customer_value"])
    assert f'gold_customer_value [label="customer_value\\n{customers} rows"' in dot
    assert any("run 20250202T100000000000Z (succeeded)" in c for c in captions(app))


# --- empty states and refresh ----------------------------------------------------------


def test_missing_data_directory_says_what_to_do(tmp_path: Path, make_app) -> None:
    at = make_app(tmp_path / "nothing-here")
    assert "does not exist yet" in at.info[0].value
    assert "salesoptic run" in at.info[0].value
    assert not at.metric


def test_before_any_run_every_tab_explains(tmp_path: Path, make_app) -> None:
    at = make_app(tmp_path)
    texts = [i.value for label in TABS for i in open_tab(at, label).info]
    assert any("No gold tables yet" in t and "make demo" in t for t in texts)
    assert any("No pipeline run recorded yet" in t for t in texts)
    assert any("No data-quality accounting yet" in t for t in texts)
    assert not at.metric


def test_empty_quarantine_and_no_gold_yet(tmp_path: Path, truth: Truth, make_app) -> None:
    clean = [
        r
        | {
            "quality": [
                q
                | {
                    "rows_valid": q["rows_in"],
                    "rows_quarantined": 0,
                    "reason": None,
                    "reason_rows": 0,
                }
                for q in r["quality"]
            ]
        }
        for r in truth.runs
    ]
    write_runs(tmp_path, clean)
    at = open_tab(make_app(tmp_path), "Data quality")
    assert any("The quarantine is empty" in i.value for i in at.info)
    # Without gold, quality comes from the run records themselves.
    assert metrics(at)["sales"] == "100.0%"


def test_a_new_gold_version_is_read_on_the_next_run(tmp_path: Path, make_app) -> None:
    data_dir = tmp_path / "data"
    first = write_data_dir(data_dir, seed=1, version="v1")
    at = make_app(data_dir)
    expect_kpis(at, first.orders)
    import numpy as np
    from synthetic import draw_orders

    rng = np.random.default_rng(2)
    _, _, orders = draw_orders(rng, 10, 60, 25, 500)
    tables = gold_tables(rng, orders, 10)
    tables |= {k: v for k, v in first.gold.items() if k in ("data_quality", "pipeline_runs")}
    publish_gold(data_dir, tables, "v2")
    shutil.rmtree(data_dir / "gold" / "versions" / "v1")
    at.run()
    assert not at.exception
    expect_kpis(at, orders)
    assert any("Gold version: v2" in c for c in captions(at))


def test_gold_without_symlink_is_read_too(tmp_path: Path, truth: Truth, make_app) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(truth.data_dir / "gold" / "current", data_dir / "gold" / "current")
    at = make_app(data_dir)
    expect_kpis(at, truth.orders)
    assert dt.date(2025, 1, 1) in truth.dates
