"""Fail fast, in one sentence, when PostgreSQL or a table the pipeline reads is missing."""

from __future__ import annotations

from collections.abc import Sequence

from salesoptic.errors import UserError
from salesoptic.runtime.pgurl import PgUrl


def require_tables(pg: PgUrl, tables: Sequence[str], timeout_s: int = 10) -> None:
    """Raise UserError unless PostgreSQL answers and holds every table in ``tables``."""
    import psycopg

    try:
        with psycopg.connect(pg.url, connect_timeout=timeout_s) as conn:
            missing = [
                table
                for table in tables
                if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None
            ]
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if pg.password:
            reason = reason.replace(pg.password, "***")
        raise UserError(f"PostgreSQL at {pg.masked} cannot be reached ({reason}).") from None
    if missing:
        raise UserError(
            f"PostgreSQL at {pg.masked} has no table {', '.join(missing)}; "
            "run `salesoptic generate` or load it."
        )
