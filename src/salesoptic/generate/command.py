"""``salesoptic generate``: write a batch of sources and show what was written."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from salesoptic.cli_options import DataDirOption, PgUrlOption, SparkMasterOption
from salesoptic.config import load_settings
from salesoptic.generate.runner import Summary, generate, planned_records
from salesoptic.generate.scales import (
    DEFAULT_DAYS,
    DEFAULT_DEFECT_RATE,
    DEFAULT_SEED,
    DEFAULT_START_DATE,
    GenerateSpec,
)

# Below this many records a progress bar only flickers.
PROGRESS_MIN_RECORDS = 500_000


class Scale(str, Enum):
    tiny = "tiny"
    small = "small"
    medium = "medium"
    large = "large"


def _count(name: str, what: str) -> typer.models.OptionInfo:
    return typer.Option(f"--{name}", min=0, help=f"{what} (overrides --scale).")


def generate_command(
    data_dir: DataDirOption = None,
    pg_url: PgUrlOption = None,
    spark_master: SparkMasterOption = None,
    scale: Annotated[
        Scale, typer.Option("--scale", help="Preset size: tiny, small, medium or large.")
    ] = Scale.small,
    sales: Annotated[int | None, _count("sales", "Sale lines")] = None,
    events: Annotated[int | None, _count("events", "Clickstream events")] = None,
    logs: Annotated[int | None, _count("logs", "Log lines")] = None,
    customers: Annotated[int | None, _count("customers", "Customers of batch 1")] = None,
    products: Annotated[int | None, _count("products", "Products of batch 1")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = DEFAULT_SEED,
    days: Annotated[int, typer.Option("--days", min=1, help="Days per batch.")] = DEFAULT_DAYS,
    start_date: Annotated[
        dt.datetime,
        typer.Option(
            "--start-date",
            formats=["%Y-%m-%d"],
            show_default=DEFAULT_START_DATE.isoformat(),
            help="First day of batch 1 (UTC).",
        ),
    ] = dt.datetime.combine(DEFAULT_START_DATE, dt.time()),
    defect_rate: Annotated[
        float,
        typer.Option(
            "--defect-rate", min=0.0, max=0.5, help="Share of defective records (0 = clean)."
        ),
    ] = DEFAULT_DEFECT_RATE,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Batch number; 2+ appends the following days.")
    ] = 1,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing landing zone (or batch).")
    ] = False,
) -> None:
    """Generate sales, events and logs files and the customers/products tables."""
    spec = GenerateSpec.from_options(
        scale.value,
        sales=sales,
        events=events,
        logs=logs,
        customers=customers,
        products=products,
        seed=seed,
        days=days,
        start_date=start_date.date(),
        defect_rate=defect_rate,
        batch=batch,
        force=force,
    )
    settings = load_settings(data_dir=data_dir, pg_url=pg_url, spark_master=spark_master)
    from salesoptic.runtime.postgres import resolve_pg_url

    url = resolve_pg_url(settings)
    console = Console()
    totals = planned_records(spec)
    if sum(totals.values()) < PROGRESS_MIN_RECORDS:
        summary = generate(spec, settings.source_dir, url)
    else:
        with Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            tasks = {name: bar.add_task(name, total=n) for name, n in totals.items()}
            summary = generate(
                spec, settings.source_dir, url, lambda name, n: bar.advance(tasks[name], n)
            )
    console.print(summary_table(summary))


def summary_table(summary: Summary) -> Table:
    """Rich table: one row per dataset with files, records, defects and speed."""
    table = Table(
        title=(
            f"Batch {summary.batch}: {summary.first_day} to {summary.last_day} "
            f"in {summary.source_dir} ({summary.bytes_written / 1e6:,.1f} MB of files)"
        )
    )
    for column in ("dataset", "files", "records", "defective", "seconds", "rows/s"):
        table.add_column(column, justify="left" if column == "dataset" else "right")
    for d in summary.datasets:
        table.add_row(
            d.dataset,
            str(d.files) if d.files else "table",
            f"{d.records:,}",
            f"{d.defective:,}",
            f"{d.seconds:.2f}",
            f"{d.rows_per_second:,.0f}",
        )
    return table
