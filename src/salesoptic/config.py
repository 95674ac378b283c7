"""One Settings object for every command.

Precedence, highest first: CLI options (passed as keyword arguments to ``load_settings``),
``SALESOPTIC_*`` environment variables, then the defaults below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from salesoptic.errors import UserError

LogLevel = Literal["DEBUG", "INFO", "WARN", "ERROR"]
_MASTER_PREFIXES = ("local", "spark://", "yarn", "k8s://")


class Settings(BaseSettings):
    """Where data lives and which Spark and PostgreSQL to use."""

    model_config = SettingsConfigDict(env_prefix="SALESOPTIC_", extra="forbid")

    data_dir: Path = Path("data")
    spark_master: str = "local[*]"
    # None means: start and use the embedded PostgreSQL server under data/_state/.
    pg_url: SecretStr | None = None
    # None means: discover the PostgreSQL JDBC driver (see runtime/jdbc.py).
    jdbc_jar: Path | None = None
    log_level: LogLevel = "WARN"
    spark_ui: bool = False
    # None means: sized from the machine's memory (see runtime/spark.py).
    driver_memory: str | None = None
    # The driver JVM's class archive (see runtime/class_archive.py).
    class_archive: bool = True
    # Gold versions kept for rollback (the current one is always kept).
    gold_keep: int = Field(default=5, ge=1)

    @field_validator("spark_master")
    @classmethod
    def _known_master(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(_MASTER_PREFIXES):
            raise ValueError(
                "expected local[*], local[N], spark://host:port, yarn or k8s://host:port"
            )
        return value

    @property
    def source_dir(self) -> Path:
        return self.data_dir / "source"

    @property
    def bronze_dir(self) -> Path:
        return self.data_dir / "bronze"

    @property
    def silver_dir(self) -> Path:
        return self.data_dir / "silver"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def gold_dir(self) -> Path:
        return self.data_dir / "gold"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "_state"


def load_settings(**cli_options: Any) -> Settings:
    """Build Settings; CLI options given as None fall through to the environment."""
    given = {name: value for name, value in cli_options.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise UserError(f"Invalid settings ({problems}).") from None
