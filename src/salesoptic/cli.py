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
gold_app = typer.Typer(help="Gold versions: list them, roll back.", no_args_is_help=True)
app.add_typer(gold_app, name="gold")

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
        checks = run_checks(
            settings,
            on_check=lambda c: status.update(f"Checked {c.name}…"),
            on_progress=status.update,
        )
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
        str | None, typer.Option("--stage", help="Run only this stage: bronze, silver or gold.")
    ] = None,
) -> None:
    """Run the pipeline: bronze, silver, gold, in one Spark session."""
    from salesoptic.pipeline.runner import STAGES, run_pipeline

    settings = load_settings(data_dir=data_dir, pg_url=pg_url, spark_master=spark_master)
    with console.status("Starting…") as status:
        run_id, _ = run_pipeline(
            settings,
            (stage,) if stage else STAGES,
            on_stage=lambda result: console.print(stage_table(result)),
            on_progress=status.update,
        )
    console.print(f"Run {run_id} succeeded.")


def stage_table(result) -> Table:
    """Per-dataset figures of one stage of a run."""
    table = Table(title=f"{result.stage}: {result.seconds:.1f} s", title_justify="left")
    if result.stage == "gold":
        table.add_column("table")
        table.add_column("rows", justify="right")
        for t in result.datasets:
            table.add_row(t.table, f"{t.rows:,}")
        return table
    if result.stage == "bronze":
        headers = ("dataset", "files", "rows", "corrupt", "seconds", "rows/s")
        rows = [(d.dataset, d.files, d.rows, d.corrupt, d.seconds, d.rows) for d in result.datasets]
    else:
        headers = ("dataset", "rows in", "valid", "quarantined", "seconds", "rows/s")
        rows = [
            (d.dataset, d.rows_in, d.rows_valid, d.rows_quarantined, d.seconds, d.rows_in)
            for d in result.datasets
        ]
    for header in headers:
        table.add_column(header, justify="left" if header == "dataset" else "right")
    for name, a, b, c, seconds, work in rows:
        rate = work / seconds if seconds else 0
        table.add_row(name, f"{a:,}", f"{b:,}", f"{c:,}", f"{seconds:.1f}", f"{rate:,.0f}")
    return table


@app.command()
def status(
    data_dir: DataDirOption = None,
    pg_url: PgUrlOption = None,
    spark_master: SparkMasterOption = None,
    last: Annotated[int, typer.Option("--last", min=1, help="How many runs to show.")] = 10,
) -> None:
    """The last runs: status, stages, rows and the data quality of the latest run."""
    from salesoptic.pipeline.runlog import RunLog
    from salesoptic.pipeline.status import quality_table, runs_table

    settings = load_settings(data_dir=data_dir, pg_url=pg_url, spark_master=spark_master)
    runs = RunLog(settings.state_dir).runs()
    if not runs:
        console.print(f"No run yet in {settings.data_dir}; start one with `salesoptic run`.")
        return
    console.print(runs_table(runs[-last:]))
    latest = next((r for r in reversed(runs) if r.get("quality")), None)
    if latest is not None:
        console.print(quality_table(latest))


@gold_app.command("versions")
def gold_versions(data_dir: DataDirOption = None) -> None:
    """The gold versions kept, newest first; the current one is marked."""
    from salesoptic.pipeline.publish import list_versions

    settings = load_settings(data_dir=data_dir)
    versions = list_versions(settings.gold_dir)
    if not versions:
        console.print(f"No gold published yet in {settings.gold_dir}.")
        return
    table = Table(title="Gold versions", title_justify="left")
    for header in ("version", "created (UTC)", "complete", "current"):
        table.add_column(header)
    for v in sorted(versions, key=lambda v: v.id, reverse=True):
        created = v.created_at.strftime("%Y-%m-%d %H:%M:%S") if v.created_at else ""
        table.add_row(v.id, created, "yes" if v.complete else "no", "◀" if v.is_current else "")
    console.print(table)


@gold_app.command("rollback")
def gold_rollback(
    data_dir: DataDirOption = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Version to make current (default: the previous).")
    ] = None,
) -> None:
    """Point gold/current back at the previous complete version (or --to VERSION)."""
    from salesoptic.pipeline.publish import rollback
    from salesoptic.pipeline.runlog import run_lock

    settings = load_settings(data_dir=data_dir)
    with run_lock(settings.state_dir):
        version = rollback(settings.gold_dir, to)
    console.print(f"gold/current now points at version {version}.")


@app.command()
def demo(
    data_dir: DataDirOption = None,
    pg_url: PgUrlOption = None,
    spark_master: SparkMasterOption = None,
    scale: Annotated[str, typer.Option("--scale", help="Data set size on first use.")] = "small",
    dashboard: Annotated[
        bool, typer.Option("--dashboard/--no-dashboard", help="Serve the dashboard after the run.")
    ] = True,
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8501,
) -> None:
    """Generate a data set on first use, run the pipeline, serve the dashboard."""
    from salesoptic.generate import GenerateSpec, generate
    from salesoptic.pipeline.runner import STAGES, run_pipeline
    from salesoptic.runtime.postgres import resolve_pg_url

    settings = load_settings(data_dir=data_dir, pg_url=pg_url, spark_master=spark_master)
    if not any(settings.source_dir.glob("*/*.*")):
        console.print(f"Generating the {scale} data set in {settings.source_dir}…")
        generate(GenerateSpec.from_options(scale), settings.source_dir, resolve_pg_url(settings))
    with console.status("Starting…") as status:
        run_id, _ = run_pipeline(
            settings,
            STAGES,
            on_stage=lambda result: console.print(stage_table(result)),
            on_progress=status.update,
        )
    console.print(f"Run {run_id} succeeded.")
    if dashboard:
        from salesoptic.dashboard.server import serve

        serve(settings.data_dir, port=port)


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


def _register_commands() -> None:
    from salesoptic.dashboard.command import dashboard_command
    from salesoptic.generate.command import generate_command

    app.command("generate")(generate_command)
    app.command("dashboard")(dashboard_command)


_register_commands()


def main() -> None:
    """Console entry point: user errors end with one sentence and exit code 1."""
    try:
        app()
    except UserError as exc:
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False)
        sys.exit(1)
    except Exception as exc:
        from salesoptic.pipeline.runner import RunFailed

        if not isinstance(exc, RunFailed):
            raise
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[bold red]Interrupted.[/]")
        sys.exit(130)
