"""Run records: one JSON file per run under ``data/_state/runs/``, and the run lock.

A record is rewritten (temporary file, then rename) when the run starts, when each stage
ends and when the run ends, so a reader always finds a whole file. A run killed before
its end leaves a record in status ``running``; the next run marks it ``failed``
(interrupted), since the lock proves that no run is in progress.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from salesoptic.errors import UserError

INTERRUPTED = "interrupted: the process ended before the run finished"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat()


class RunLog:
    """The run records of one data directory."""

    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir.absolute() / "runs"

    def path(self, run_id: str) -> Path:
        return self.folder / f"{run_id}.json"

    def save(self, record: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{record['run_id']}.json.tmp"
        tmp.write_text(json.dumps(record, indent=2, default=str))
        os.replace(tmp, self.path(record["run_id"]))

    def start(self, run_id: str, stages: list[str]) -> dict[str, Any]:
        record = {
            "run_id": run_id,
            "status": "running",
            "started_at": utc_now(),
            "finished_at": None,
            "error": None,
            "requested_stages": stages,
            "stages": [],
            "quality": [],
        }
        self.save(record)
        return record

    def runs(self) -> list[dict[str, Any]]:
        """Every run record, oldest first (run ids sort by start time)."""
        if not self.folder.is_dir():
            return []
        records = []
        for path in sorted(self.folder.glob("*.json")):
            with contextlib.suppress(OSError, ValueError):
                records.append(json.loads(path.read_text()))
        return records

    def mark_interrupted(self) -> list[str]:
        """Close the records of runs that died (call only while holding the lock)."""
        closed = []
        for record in self.runs():
            if record.get("status") == "running":
                record["status"] = "failed"
                record["error"] = INTERRUPTED
                record["finished_at"] = record.get("finished_at") or utc_now()
                for stage in record.get("stages", []):
                    if stage.get("status") == "running":
                        stage["status"] = "failed"
                self.save(record)
                closed.append(record["run_id"])
        return closed


@contextlib.contextmanager
def run_lock(state_dir: Path) -> Iterator[None]:
    """One run at a time per data directory.

    An advisory lock on ``_state/run.lock``: the kernel releases it when the process
    ends, however it ends, so a killed run never leaves it stuck.
    """
    lock_path = state_dir / "run.lock"
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a+")
    except OSError as exc:  # a read-only or full disk, a folder of another user
        raise UserError(
            f"The data directory {state_dir.parent} cannot be written "
            f"({exc.strerror or type(exc).__name__}), so no run can start there."
        ) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise UserError(
                f"Another run is in progress in {state_dir.parent} ({holder}); "
                "wait for it to finish."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {utc_now()}")
        handle.flush()
        yield
    finally:
        handle.close()
