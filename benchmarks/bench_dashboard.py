"""How fast the dashboard's first full render is, at medium scale.

By default it writes a synthetic data directory shaped like ``--scale medium`` gold (30
days, 1,000,000 orders, 100,000 customers in ``customer_value``, 2,000 products) with the
tests' generator; ``--data-dir`` measures a real one (after ``salesoptic run``) instead.

Measured:
- server side, in a fresh process so nothing is imported or cached beforehand: Streamlit
  ``AppTest``'s first run of the page (the open tab, Business), the first run of each
  other tab, and a rerun;
- browser (``--browser``, needs Debian's ``chromium``): from navigation to the first key
  figure, and to the full render (every element of the open tab drawn, the script run
  finished), for the first visitor of a server ``salesoptic dashboard`` has just started
  and for later visitors, each in a new browser context (no cached scripts). The same is
  measured for a bare Streamlit page holding only the dashboard's sidebar widgets and five
  key figures: the floor any Streamlit page with these filters has on the machine. Visits
  alternate between the two pages, and the median of the paired differences is the
  dashboard's own cost above the floor.

    python benchmarks/bench_dashboard.py [--data-dir DIR] [--browser] [--visits N]

Prints a table and writes ``build/bench/dashboard.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "dashboard"))
FLOOR_PAGE = Path(__file__).with_name("dashboard_floor.py")
OUT = ROOT / "build" / "bench" / "dashboard.json"

APPTEST_PROBE = """
import json, sys, time
start = time.perf_counter()
from streamlit.testing.v1 import AppTest
from salesoptic.dashboard.server import APP
imported = time.perf_counter()
at = AppTest.from_file(str(APP), default_timeout=120)
at.run()
times = {"import_s": imported - start, "first_run_s": time.perf_counter() - imported}
assert not at.exception, at.exception
for label in ("Data quality", "Operations", "Architecture"):
    began = time.perf_counter()
    at.session_state["tab_en"] = label
    at.run()
    assert not at.exception, at.exception
    times[label] = time.perf_counter() - began
at.session_state["tab_en"] = "Business"
at.run()
began = time.perf_counter()
at.run()
times["rerun_s"] = time.perf_counter() - began
print(json.dumps(times))
"""

# The open tab is fully drawn: key figures shown, no placeholder left, script finished.
FULLY_DRAWN = """() =>
  document.querySelectorAll('[data-testid="stMetricValue"]').length > 0
  && !document.querySelector('[data-testid="stSkeleton"]')
  && !document.querySelector('[data-testid="stStatusWidget"]')"""


def synthesize(target: Path) -> Path:
    from synthetic import write_data_dir

    start = time.perf_counter()
    write_data_dir(target, days=30, customers=100_000, products=2_000, orders=1_000_000)
    print(f"wrote medium-scale data in {time.perf_counter() - start:.1f} s: {target}")
    return target


def apptest(data_dir: Path) -> dict:
    env = os.environ | {"SALESOPTIC_DATA_DIR": str(data_dir)}
    out = subprocess.run(
        [sys.executable, "-c", APPTEST_PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def browser(data_dir: Path, pages: dict[str, Path], visits: int) -> dict[str, list[dict]]:
    """Timings of ``visits`` page loads of each page, on servers started (and warmed) as
    users get them. Visits alternate between the pages, so that each pair of visits
    sees the machine in the same state: its speed varies from minute to minute."""
    from playwright.sync_api import sync_playwright
    from test_dashboard_browser import CHROMIUM_ARGS

    from salesoptic.dashboard import server

    timings: dict[str, list[dict]] = {name: [] for name in pages}
    with contextlib.ExitStack() as servers:
        urls = {}
        for name, page in pages.items():
            port = free_port()
            process = server.start(data_dir, "127.0.0.1", port, page)
            servers.callback(server.stop, process)
            urls[name] = server.url_of("127.0.0.1", port)
            server.wait_ready(process, urls[name])
        with sync_playwright() as pw:
            chrome = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for _ in range(visits):
                for name, url in urls.items():
                    context = chrome.new_context(viewport={"width": 1440, "height": 900})
                    tab = context.new_page()
                    start = time.perf_counter()
                    tab.goto(url)
                    tab.get_by_test_id("stMetricValue").first.wait_for(timeout=60_000)
                    first_kpi = time.perf_counter() - start
                    tab.wait_for_function(FULLY_DRAWN, polling=50, timeout=60_000)
                    full = time.perf_counter() - start
                    timings[name].append({"first_kpi_s": first_kpi, "full_s": full})
                    context.close()
            chrome.close()
    return timings


def summary(visits: list[dict]) -> dict:
    later = visits[1:]
    return {
        "first_visitor": visits[0],
        "later_visitors_median": {
            key: statistics.median(v[key] for v in later) for key in ("first_kpi_s", "full_s")
        },
        "visits": visits,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="Measure this data directory.")
    parser.add_argument("--browser", action="store_true", help="Also time a real Chromium.")
    parser.add_argument("--visits", type=int, default=6, help="Page loads per server (>= 2).")
    options = parser.parse_args()
    if options.visits < 2:
        parser.error("--visits must be at least 2.")
    report: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.platform()}",
    }
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        data_dir = (options.data_dir or synthesize(Path(tmp) / "data")).resolve()
        report["data_dir"] = str(data_dir) if options.data_dir else "synthetic medium"
        server_side = apptest(data_dir)
        report["server"] = server_side
        rows = [
            ("imports (streamlit, app modules)", server_side["import_s"]),
            ("AppTest first run, Business tab (cold)", server_side["first_run_s"]),
            *(
                (f"AppTest first run, {tab} tab", server_side[tab])
                for tab in ("Data quality", "Operations", "Architecture")
            ),
            ("AppTest rerun (cached)", server_side["rerun_s"]),
        ]
        if options.browser:
            from salesoptic.dashboard.server import APP

            visits = browser(data_dir, {"dashboard": APP, "floor": FLOOR_PAGE}, options.visits)
            for name, timings in visits.items():
                measured = summary(timings)
                report[f"browser_{name}"] = measured
                first, later = measured["first_visitor"], measured["later_visitors_median"]
                rows += [
                    (f"browser {name}: first visitor, first KPI", first["first_kpi_s"]),
                    (f"browser {name}: first visitor, full render", first["full_s"]),
                    (f"browser {name}: later visitors, first KPI", later["first_kpi_s"]),
                    (f"browser {name}: later visitors, full render", later["full_s"]),
                ]
            # The dashboard's own cost: each visit against the floor visit next to it.
            above = statistics.median(
                d["full_s"] - f["full_s"]
                for d, f in zip(visits["dashboard"], visits["floor"], strict=True)
            )
            report["dashboard_above_floor_s"] = above
            rows.append(("browser dashboard above floor, full render (median)", above))
    print(f"{'measure':<52}{'seconds':>9}")
    for label, seconds in rows:
        print(f"{label:<52}{seconds:>9.2f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written: {OUT}")


if __name__ == "__main__":
    main()
