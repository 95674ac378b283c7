"""The `salesoptic` command line: parses options and calls the layers, nothing more."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from salesoptic.cli_options import DataDirOption, PgUrlOption, SparkMasterOption
from salesoptic.config import load_settings
from salesoptic.errors import UserError

app = typer.Typer(
    help="SalesOptic: a medallion Spark pipeline for retail sales analytics.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold credentials
    add_completion=False,
)
db_app = typer.Typer(help="Manage the embedded PostgreSQL server.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)


@app.command()
def doctor(
    data_dir: DataDirOption = None,
    pg_url: PgUrlOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """Check Python, Java, Spark, the JDBC driver, PostgreSQL and disk space."""
    from salesoptic.doctor import run_checks

    settings = load_settings(data_dir=data_dir, pg_url=pg_url, spark_master=spark_master)
    with console.status("Checking…") as status:
        checks = run_checks(settings, on_check=lambda c: status.update(f"Checked {c.name}…"))
    table = Table(title="SalesOptic doctor")
    for column in ("check", "status", "detail", "fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        mark = "[green]OK[/]" if check.ok else "[bold red]FAIL[/]"
        table.add_row(check.name, mark, check.detail, check.fix)
    console.print(table)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        err_console.print(f"[bold red]{len(failed)} check(s) failed:[/] {', '.join(failed)}.")
        raise typer.Exit(1)


@app.command()
def run(
    data_dir: DataDirOption = None,
    pg_url: PgUrlOption = None,
    spark_master: SparkMasterOption = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Run only this stage (bronze).")
    ] = None,
) -> None:
    """Run the pipeline: bronze, silver, gold, in one Spark session."""
    from salesoptic.pipeline.runner import STAGES, run_pipeline

    settings = load_settings(data_dir=data_dir, pg_url=pg_url, spark_master=spark_master)
    stages = (stage,) if stage else STAGES

    def show(result) -> None:
        table = Table(title=f"{result.stage} ({result.seconds:.1f} s)")
        if result.stage == "bronze":
            columns = ("dataset", "files", "rows", "corrupt", "seconds", "rows/s")
            rows = [
                (d.dataset, d.files, d.rows, d.corrupt, d.seconds, d.rows) for d in result.datasets
            ]
        else:
            columns = ("dataset", "rows in", "valid", "quarantined", "seconds", "rows/s")
            rows = [
                (d.dataset, d.rows_in, d.rows_valid, d.rows_quarantined, d.seconds, d.rows_in)
                for d in result.datasets
            ]
        for column in columns:
            table.add_column(column, justify="left" if column == "dataset" else "right")
        for name, a, b, c, seconds, work in rows:
            rate = work / seconds if seconds else 0
            table.add_row(name, f"{a:,}", f"{b:,}", f"{c:,}", f"{seconds:.1f}", f"{rate:,.0f}")
        console.print(table)

    with console.status("Starting…") as status:
        run_id, _ = run_pipeline(settings, stages, on_stage=show, on_progress=status.update)
    console.print(f"Run {run_id} finished.")


@db_app.command("start")
def db_start(data_dir: DataDirOption = None) -> None:
    """Start the embedded PostgreSQL server (created on first use)."""
    from salesoptic.runtime.postgres import embedded_server

    server = embedded_server(load_settings(data_dir=data_dir))
    url = server.start()
    console.print(f"PostgreSQL is running at {url.masked} (pid {server.status().pid}).")


@db_app.command("stop")
def db_stop(data_dir: DataDirOption = None) -> None:
    """Stop the embedded PostgreSQL server."""
    from salesoptic.runtime.postgres import embedded_server

    was_running = embedded_server(load_settings(data_dir=data_dir)).stop()
    console.print("PostgreSQL stopped." if was_running else "PostgreSQL was not running.")


@db_app.command("status")
def db_status(data_dir: DataDirOption = None) -> None:
    """Say whether the embedded PostgreSQL server runs (exit code 3 when it does not)."""
    from salesoptic.runtime.postgres import embedded_server

    server = embedded_server(load_settings(data_dir=data_dir))
    status = server.status()
    if not status.initialised:
        console.print(f"No embedded PostgreSQL server under {server.root} yet.")
        raise typer.Exit(3)
    if not status.running:
        console.print(f"PostgreSQL under {server.root} is stopped.")
        raise typer.Exit(3)
    console.print(
        f"PostgreSQL is running at {server.url().masked} (pid {status.pid}, data {server.pgdata})."
    )


@db_app.command("url")
def db_url(
    data_dir: DataDirOption = None,
    show_password: Annotated[
        bool, typer.Option("--show-password", help="Print the password instead of ***.")
    ] = False,
) -> None:
    """Print the embedded server's URL (password masked unless --show-password)."""
    from salesoptic.runtime.postgres import embedded_server

    url = embedded_server(load_settings(data_dir=data_dir)).url()
    typer.echo(url.url if show_password else url.masked)


def _register_optional_commands() -> None:
    try:
        from salesoptic.generate.command import generate_command
    except ImportError:
        return
    app.command("generate")(generate_command)


_register_optional_commands()


def main() -> None:
    """Console entry point: user errors end with one sentence and exit code 1."""
    try:
        app()
    except UserError as exc:
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[bold red]Interrupted.[/]")
        sys.exit(130)
