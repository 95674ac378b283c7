"""The dashboard served for real and driven in headless Chromium (Debian's ``chromium``).

Starts the server with ``salesoptic.dashboard.server`` on a free loopback port, waits for
the key figures, checks a value and that hostile names stay text, applies a filter,
switches language and tab, and saves screenshots under ``build/screenshots/``.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from synthetic import IMG_NAME, Truth
from test_dashboard_app import eur_en, eur_fr, revenue_of

from salesoptic.dashboard import server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
TIMEOUT_MS = 30_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def url(truth: Truth) -> Iterator[str]:
    port = free_port()
    process = server.start(truth.data_dir, "127.0.0.1", port)
    address = server.url_of("127.0.0.1", port)
    try:
        server.wait_ready(process, address)
        yield address
    finally:
        server.stop(process)
    assert process.poll() is not None


def settle(page) -> None:
    """Wait until Streamlit has finished the script run.

    Call it once the new content is seen: right after a click the rerun may not have
    started yet, and the previous content is still on the page.
    """
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=TIMEOUT_MS)


def shoot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENSHOTS / path.name)
    return path


def test_dashboard_in_chromium(url: str, truth: Truth, tmp_path: Path) -> None:
    # `make test` installs Chromium when run as root; elsewhere install it first.
    assert CHROMIUM.exists(), "needs Debian's chromium: apt-get install -y chromium"
    from playwright import sync_api

    expect = sync_api.expect
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1800})
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url)
            values = page.get_by_test_id("stMetricValue")
            expect(values.first).to_have_text(eur_en(revenue_of(truth.orders)), timeout=TIMEOUT_MS)
            settle(page)
            # The hostile product name is drawn as text in the ranked chart and its tooltip.
            chart = page.get_by_test_id("stVegaLiteChart").nth(1)
            label = chart.locator("svg text", has_text=IMG_NAME).first
            expect(label).to_have_text(IMG_NAME, timeout=TIMEOUT_MS)
            chart.locator("svg .mark-rect path").first.hover()
            expect(page.locator("#vg-tooltip-element")).to_contain_text(IMG_NAME)
            assert page.locator('img[src="x"]').count() == 0
            assert page.evaluate("window.__xss") is None
            shoot(page, tmp_path, "1-business")

            # Channel filter: the key figures follow it.
            page.get_by_test_id("stMultiSelect").nth(2).click()
            page.get_by_role("option", name="store").click()
            page.keyboard.press("Escape")
            store = truth.orders[truth.orders["channel"] == "store"]
            expect(values.first).to_have_text(eur_en(revenue_of(store)), timeout=TIMEOUT_MS)
            settle(page)
            # A chart's table is built and drawn once its expander is opened.
            assert page.get_by_test_id("stDataFrame").count() == 0
            page.get_by_test_id("stExpander").nth(1).get_by_text("Table").click()
            expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=TIMEOUT_MS)
            expect(page.get_by_test_id("stDownloadButton").first).to_be_visible()
            settle(page)
            shoot(page, tmp_path, "2-business-store")

            # French: labels and numbers change, the filter stays.
            page.get_by_text("Français", exact=True).click()
            expect(values.first).to_have_text(eur_fr(revenue_of(store)), timeout=TIMEOUT_MS)
            expect(page.get_by_role("tab", name="Qualité des données")).to_be_visible()
            settle(page)
            shoot(page, tmp_path, "3-activite-fr")

            page.get_by_role("tab", name="Qualité des données").click()
            expect(page.get_by_text("Taux de santé (valides / total)")).to_be_visible()
            settle(page)
            shoot(page, tmp_path, "4-qualite-fr")
            page.get_by_role("tab", name="Exploitation").click()
            # Wait for the tab's own content: the previous tab's figures are still on the
            # page until the rerun replaces them.
            expect(page.get_by_text("Santé des services")).to_be_visible(timeout=TIMEOUT_MS)
            settle(page)
            shoot(page, tmp_path, "5-exploitation-fr")
            page.get_by_role("tab", name="Architecture").click()
            page.locator('[data-testid="stGraphVizChart"] svg').first.wait_for(timeout=TIMEOUT_MS)
            shoot(page, tmp_path, "6-architecture-fr")
            assert dialogs == []
            assert page.evaluate("window.__xss") is None
        finally:
            browser.close()
