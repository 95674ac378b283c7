from pathlib import Path

import pytest

from salesoptic.config import load_settings
from salesoptic.errors import UserError


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATA_DIR", "SPARK_MASTER", "PG_URL", "JDBC_JAR", "LOG_LEVEL"):
        monkeypatch.delenv(f"SALESOPTIC_{name}", raising=False)
    settings = load_settings()
    assert settings.data_dir == Path("data")
    assert settings.spark_master == "local[*]"
    assert settings.pg_url is None
    assert settings.state_dir == Path("data/_state")


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESOPTIC_DATA_DIR", "/srv/sales")
    monkeypatch.setenv("SALESOPTIC_SPARK_MASTER", "spark://10.0.0.1:7077")
    monkeypatch.setenv("SALESOPTIC_LOG_LEVEL", "ERROR")
    settings = load_settings(data_dir=None, spark_master=None)
    assert settings.data_dir == Path("/srv/sales")
    assert settings.spark_master == "spark://10.0.0.1:7077"
    assert settings.log_level == "ERROR"


def test_cli_options_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESOPTIC_DATA_DIR", "/srv/sales")
    monkeypatch.setenv("SALESOPTIC_PG_URL", "postgresql://a:secret@h:5432/env")
    settings = load_settings(data_dir=Path("/cli"), pg_url="postgresql://b:pw@h:5432/cli")
    assert settings.data_dir == Path("/cli")
    assert settings.pg_url is not None
    assert settings.pg_url.get_secret_value().endswith("/cli")
    assert "pw" not in repr(settings)


def test_bad_value_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESOPTIC_LOG_LEVEL", "LOUD")
    with pytest.raises(UserError, match="log_level"):
        load_settings()


@pytest.mark.parametrize("master", ["", "  ", "sparkk://h:7077", "h:7077"])
def test_unknown_spark_master_is_refused(master: str) -> None:
    with pytest.raises(UserError, match="spark_master"):
        load_settings(spark_master=master)
