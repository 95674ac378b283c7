"""``salesoptic dashboard``: serve the Streamlit dashboard over the data directory."""

from __future__ import annotations

from typing import Annotated

import typer

from salesoptic.cli_options import DataDirOption, PgUrlOption, SparkMasterOption
from salesoptic.config import load_settings


def dashboard_command(
    data_dir: DataDirOption = None,
    pg_url: PgUrlOption = None,
    spark_master: SparkMasterOption = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; keep 127.0.0.1 unless you mean it.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = 8501,
) -> None:
    """Serve the dashboard (gold, quarantine, runs) on http://127.0.0.1:8501."""
    from salesoptic.dashboard.server import serve

    # PostgreSQL and Spark are not used: the dashboard reads files with DuckDB only.
    settings = load_settings(data_dir=data_dir, pg_url=pg_url, spark_master=spark_master)
    serve(settings.data_dir, host=host, port=port)
