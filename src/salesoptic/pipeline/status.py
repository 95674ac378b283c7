"""Tables of `salesoptic status`, built from run records."""

from __future__ import annotations

from typing import Any

from rich.table import Table

_MARK = {"succeeded": "[green]succeeded[/]", "failed": "[bold red]failed[/]",
         "running": "[yellow]running[/]"}  # fmt: skip


def _duration(record: dict[str, Any]) -> str:
    total = sum(s.get("duration_s") or 0 for s in record.get("stages", []))
    return f"{total:.1f} s"


def runs_table(runs: list[dict[str, Any]]) -> Table:
    table = Table(title="Runs", title_justify="left")
    table.add_column("run (UTC start)", no_wrap=True)
    for header in ("status", "stages", "rows in", "valid", "quarantined", "duration", "error"):
        table.add_column(header, overflow="fold")
    for record in reversed(runs):
        stages = record.get("stages", [])
        silver = next((s for s in stages if s["stage"] == "silver"), {})
        bronze = next((s for s in stages if s["stage"] == "bronze"), {})
        stage_text = " ".join(
            f"{s['stage']} {s['duration_s']:.1f}s"
            if s.get("duration_s") is not None
            else f"{s['stage']} ✗"
            for s in stages
        )
        table.add_row(
            record["run_id"],
            _MARK.get(record.get("status"), str(record.get("status"))),
            stage_text,
            f"{bronze.get('rows_in') or 0:,}",
            f"{silver.get('rows_out') or 0:,}",
            f"{silver.get('quarantined') or 0:,}",
            _duration(record),
            record.get("error") or "",
        )
    return table


def quality_table(record: dict[str, Any]) -> Table:
    table = Table(title=f"Data quality of run {record['run_id']}", title_justify="left")
    for header in ("dataset", "rows in", "valid", "quarantined", "health", "reasons"):
        table.add_column(header, justify="left" if header in ("dataset", "reasons") else "right")
    by_dataset: dict[str, list[dict]] = {}
    for row in record.get("quality", []):
        by_dataset.setdefault(row["dataset"], []).append(row)
    for dataset, rows in by_dataset.items():
        first = rows[0]
        health = first["rows_valid"] / first["rows_in"] if first["rows_in"] else 1.0
        reasons = ", ".join(f"{r['reason']} {r['reason_rows']:,}" for r in rows if r["reason"])
        table.add_row(
            dataset,
            f"{first['rows_in']:,}",
            f"{first['rows_valid']:,}",
            f"{first['rows_quarantined']:,}",
            f"{health:.1%}",
            reasons or "none",
        )
    return table
