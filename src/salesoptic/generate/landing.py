"""The landing zone's batches: what exists, what a new batch may write, --force."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

from salesoptic.errors import UserError
from salesoptic.generate.scales import GenerateSpec
from salesoptic.generate.truth import TRUTH_DIR, defects_path, manifest_path, read_manifest

FILE_PATTERNS = {
    "sales": "sales/sales_{day}.csv",
    "events": "events/events_{day}.json",
    "logs": "logs/app_{day}.log",
}
GENERATED_DIRS = ("sales", "events", "logs", TRUTH_DIR)
_MANIFEST = re.compile(r"^manifest_batch_(\d{4,})\.json$")


def source_file(dataset: str, day: dt.date) -> str:
    """A file's path relative to the source folder; names sort in arrival (day) order."""
    return FILE_PATTERNS[dataset].format(day=day.isoformat())


def existing_batches(source_dir: Path) -> list[int]:
    folder = source_dir / TRUTH_DIR
    if not folder.is_dir():
        return []
    found = (_MANIFEST.match(p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def _holds_files(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))


def prepare(spec: GenerateSpec, source_dir: Path) -> list[tuple[GenerateSpec, dt.date]]:
    """Check the landing zone for this batch, clear what --force replaces, and return
    every batch's (spec, first day) from 1 to ``spec.batch``."""
    batches = existing_batches(source_dir)
    if spec.batch == 1:
        occupied = any(_holds_files(source_dir / d) for d in GENERATED_DIRS)
        if occupied and not spec.force:
            raise UserError(
                f"The landing zone {source_dir} already holds files; pass --force to replace "
                f"them, or --batch {(batches[-1] + 1) if batches else 2} to add a batch."
            )
        for d in GENERATED_DIRS:
            shutil.rmtree(source_dir / d, ignore_errors=True)
        return [(spec, spec.start_date)]

    previous = spec.batch - 1
    if previous not in batches:
        raise UserError(
            f"Batch {spec.batch} follows batch {previous}, which is not in {source_dir}; "
            f"generate batch {previous} first."
        )
    later = [b for b in batches if b >= spec.batch]
    if later and not spec.force:
        raise UserError(
            f"Batch {later[0]} already exists in {source_dir}; pass --force to generate "
            f"batch {spec.batch} again (later batches are removed)."
        )
    for b in later:
        _remove_batch(source_dir, b)

    history: list[tuple[GenerateSpec, dt.date]] = []
    for b in range(1, spec.batch):
        manifest = read_manifest(manifest_path(source_dir, b))
        history.append(
            (
                GenerateSpec.from_json(manifest["options"]),
                dt.date.fromisoformat(manifest["first_day"]),
            )
        )
    last = read_manifest(manifest_path(source_dir, previous))["last_day"]
    history.append((spec, dt.date.fromisoformat(last) + dt.timedelta(days=1)))
    return history


def _remove_batch(source_dir: Path, batch: int) -> None:
    manifest = read_manifest(manifest_path(source_dir, batch))
    for counts in manifest["datasets"].values():
        for rel in counts.get("files", {}):
            (source_dir / rel).unlink(missing_ok=True)
    defects_path(source_dir, batch).unlink(missing_ok=True)
    manifest_path(source_dir, batch).unlink()


def check_new_files(source_dir: Path, days: list[dt.date], force: bool) -> None:
    """Never overwrite an existing file silently (e.g. left by an interrupted batch)."""
    for day in days:
        for dataset in FILE_PATTERNS:
            path = source_dir / source_file(dataset, day)
            if path.exists() and not force:
                raise UserError(
                    f"{path} already exists and would be overwritten; pass --force to "
                    "generate this batch again."
                )


def previous_files(source_dir: Path, batch: int, dataset: str) -> list[str]:
    manifest = read_manifest(manifest_path(source_dir, batch))
    return list(manifest["datasets"][dataset].get("files", {}))
