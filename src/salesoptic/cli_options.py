"""Options every command takes after its name (DESIGN section 7)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory [env SALESOPTIC_DATA_DIR, default ./data]."),
]
PgUrlOption = Annotated[
    str | None,
    typer.Option(
        "--pg-url",
        help="PostgreSQL URL postgresql://user:password@host:port/db "
        "[env SALESOPTIC_PG_URL; default: the embedded server].",
    ),
]
SparkMasterOption = Annotated[
    str | None,
    typer.Option(
        "--spark-master", help="Spark master URL [env SALESOPTIC_SPARK_MASTER, default local[*]]."
    ),
]
