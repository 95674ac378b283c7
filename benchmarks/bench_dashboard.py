"""How fast the dashboard's first full render is, at medium scale.

By default it writes a synthetic data directory shaped like ``--scale medium`` gold (30
days, 1,000,000 orders, 100,000 customers in ``customer_value``, 2,000 products) with the
tests' generator; ``--data-dir`` measures a real one (after ``salesoptic run``) instead.

Measured, each in a fresh process so nothing is cached or imported beforehand:
- server side: ``AppTest`` first run of the whole script (all four tabs), then a rerun;
- browser (``--browser``, needs Debian's ``chromium``): page load to the first KPI value
  on a just-started server, and on a second page load.

    python benchmarks/bench_dashboard.py [--data-dir DIR] [--browser]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "dashboard"))

APPTEST_PROBE = """
import json, os, sys, time
start = time.perf_counter()
from streamlit.testing.v1 import AppTest
from salesoptic.dashboard.server import APP
imported = time.perf_counter()
at = AppTest.from_file(str(APP), default_timeout=120)
at.run()
first = time.perf_counter()
assert not at.exception, at.exception
at.run()
second = time.perf_counter()
print(json.dumps({"import_s": imported - start, "first_run_s": first - imported,
                  "rerun_s": second - first, "metrics": len(at.metric)}))
"""


def synthesize(target: Path) -> Path:
    from synthetic import write_data_dir

    start = time.perf_counter()
    write_data_dir(target, days=30, customers=100_000, products=2_000, orders=1_000_000)
    print(f"wrote medium-scale data in {time.perf_counter() - start:.1f} s: {target}")
    return target


def apptest(data_dir: Path) -> dict:
    env = {"SALESOPTIC_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", APPTEST_PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def browser(data_dir: Path) -> dict:
    from playwright.sync_api import sync_playwright

    from salesoptic.dashboard import server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = server.start(data_dir, "127.0.0.1", port)
    url = server.url_of("127.0.0.1", port)
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    timings = {}
    try:
        server.wait_ready(process, url)
        with sync_playwright() as pw:
            chrome = pw.chromium.launch(executable_path="/usr/bin/chromium", args=args)
            for name in ("first_load_s", "second_load_s"):
                page = chrome.new_page()
                start = time.perf_counter()
                page.goto(url)
                page.get_by_test_id("stMetricValue").first.wait_for(timeout=60_000)
                timings[name] = time.perf_counter() - start
                page.locator('[data-testid="stStatusWidget"]').wait_for(
                    state="detached", timeout=60_000
                )
                timings[name.replace("load", "idle")] = time.perf_counter() - start
                page.close()
            chrome.close()
    finally:
        server.stop(process)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="Measure this data directory.")
    parser.add_argument("--browser", action="store_true", help="Also time a real Chromium.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        data_dir = options.data_dir or synthesize(Path(tmp) / "data")
        rows = apptest(data_dir)
        print(f"{'measure':<42}{'seconds':>10}")
        print(f"{'imports (streamlit, app modules)':<42}{rows['import_s']:>10.2f}")
        print(f"{'AppTest first full run (4 tabs, cold)':<42}{rows['first_run_s']:>10.2f}")
        print(f"{'AppTest rerun (cached)':<42}{rows['rerun_s']:>10.2f}")
        if options.browser:
            timings = browser(data_dir)
            print(f"{'browser: first KPI value, new server':<42}{timings['first_load_s']:>10.2f}")
            print(f"{'browser: script finished, new server':<42}{timings['first_idle_s']:>10.2f}")
            print(f"{'browser: first KPI value, second load':<42}{timings['second_load_s']:>10.2f}")


if __name__ == "__main__":
    main()
