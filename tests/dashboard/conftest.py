"""Fixtures: a written data directory and Streamlit AppTests of the dashboard over it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from synthetic import Truth, write_data_dir

from salesoptic.dashboard.server import APP

AppFactory = Callable[[Path], AppTest]


@pytest.fixture(scope="session")
def truth(tmp_path_factory: pytest.TempPathFactory) -> Truth:
    """Gold, quarantine and run records of two runs (and a failed one), written once."""
    return write_data_dir(tmp_path_factory.mktemp("dashboard") / "data")


@pytest.fixture
def make_app(monkeypatch: pytest.MonkeyPatch) -> AppFactory:
    """An AppTest of the dashboard reading ``data_dir``, already run once."""

    def make(data_dir: Path) -> AppTest:
        monkeypatch.setenv("SALESOPTIC_DATA_DIR", str(data_dir))
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.run()
        assert not at.exception, at.exception
        return at

    return make


@pytest.fixture
def app(truth: Truth, make_app: AppFactory) -> AppTest:
    return make_app(truth.data_dir)
