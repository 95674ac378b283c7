"""Gold publication: write a whole version, then swap one symbolic link.

Layout under the gold directory::

    versions/<id>/<table>/part-*.parquet   every table of one publication, in full
    versions/<id>/_parts/<part>/           what the next run can add to (not tables)
    versions/<id>/_manifest.json           written last: its presence marks <id> complete;
                                           its ``basis`` says what <id> was computed from
    current -> versions/<id>               relative symbolic link, the only path readers use

Protocol of ``publish_gold``: write every table under a fresh ``versions/<id>/``, flush the
files to disk, write the manifest (temporary file, then rename), then create a temporary
link to ``versions/<id>`` and ``os.replace`` it over ``current``. A rename is atomic, so
``current`` always names one complete version: the previous one until the rename, the new
one after it. Older versions are then pruned (the newest ``keep`` complete ones and the
current one stay), which is also when leftovers of a crashed publication are removed.

One publisher at a time per gold directory is assumed (the run lock guarantees it);
readers need no lock.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from salesoptic.errors import UserError

CURRENT = "current"
VERSIONS = "versions"
MANIFEST = "_manifest.json"
PARTS = "_parts"
# Names starting with a dot are work in progress (temporary links, folders being deleted)
# and never versions; a version id must therefore start with a letter or digit.
_VERSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_TMP_LINK_PREFIX = ".current-"
_DELETING_PREFIX = ".deleting-"


@dataclass(frozen=True)
class VersionInfo:
    """One folder under ``versions/``: complete when its manifest was written."""

    id: str
    created_at: datetime | None
    complete: bool
    is_current: bool
    rows: dict[str, int] = field(default_factory=dict)


# --- reading the state ------------------------------------------------------------------


def _read_manifest(version_dir: Path) -> dict | None:
    """The version's manifest, or None when the version is not complete."""
    try:
        manifest = json.loads((version_dir / MANIFEST).read_text(encoding="utf-8"))
        datetime.fromisoformat(manifest["created_at"])
        dict(manifest["tables"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return manifest


def current_manifest(gold_dir: Path) -> tuple[Path, dict] | None:
    """The folder and manifest of the version ``current`` points at, if it is complete."""
    version = current_version(gold_dir)
    if version is None:
        return None
    version_dir = Path(gold_dir) / VERSIONS / version
    manifest = _read_manifest(version_dir)
    return None if manifest is None else (version_dir, manifest)


def current_version(gold_dir: Path) -> str | None:
    """The id of the version ``current`` points at, or None if nothing is published."""
    try:
        target = os.readlink(Path(gold_dir) / CURRENT)
    except OSError:
        return None
    return Path(target).name


def list_versions(gold_dir: Path) -> list[VersionInfo]:
    """Every version folder, oldest first (by manifest time; incomplete ones by mtime)."""
    versions_dir = Path(gold_dir) / VERSIONS
    if not versions_dir.is_dir():
        return []
    current = current_version(gold_dir)
    infos: list[tuple[float, VersionInfo]] = []
    for entry in versions_dir.iterdir():
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        manifest = _read_manifest(entry)
        created_at = None
        rows: dict[str, int] = {}
        if manifest is not None:
            created_at = datetime.fromisoformat(manifest["created_at"])
            rows = {name: t["rows"] for name, t in manifest["tables"].items()}
            order = created_at.timestamp()
        else:
            order = entry.stat().st_mtime
        info = VersionInfo(
            id=entry.name,
            created_at=created_at,
            complete=manifest is not None,
            is_current=entry.name == current,
            rows=rows,
        )
        infos.append((order, info))
    infos.sort(key=lambda pair: (pair[0], pair[1].id))
    return [info for _, info in infos]


# --- file-system primitives -------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Flush every file and folder under ``root``: Hadoop's local writer does not."""
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(Path(folder) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def _write_json_atomically(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _point_current(gold_dir: Path, version_id: str) -> None:
    """Atomically point ``current`` at ``versions/<version_id>`` (relative link)."""
    link = gold_dir / CURRENT
    tmp = gold_dir / f"{_TMP_LINK_PREFIX}{uuid.uuid4().hex}"
    os.symlink(f"{VERSIONS}/{version_id}", tmp)
    try:
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(gold_dir)


def _check_current_is_link(gold_dir: Path) -> None:
    link = gold_dir / CURRENT
    if link.exists() and not link.is_symlink():
        raise UserError(
            f"{link} is not a symbolic link, so gold cannot be published atomically; "
            "move it out of the way and run again."
        )


def _remove_version_dir(path: Path) -> None:
    """Rename first (atomic: the version vanishes at once), then delete the files."""
    doomed = path.with_name(f"{_DELETING_PREFIX}{path.name}-{uuid.uuid4().hex}")
    os.replace(path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


# --- publication ------------------------------------------------------------------------


def _write_table(df: DataFrame, path: Path) -> int:
    """Write one table as Parquet and return its row count, observed during the write."""
    observation = Observation(f"gold_rows_{uuid.uuid4().hex}")
    df.observe(observation, F.count(F.lit(1)).alias("rows")).write.mode("errorifexists").parquet(
        str(path.absolute())
    )
    return int(observation.get["rows"])


def publish_gold(
    tables: Mapping[str, DataFrame],
    gold_dir: Path,
    version_id: str,
    keep: int = 5,
    basis: Mapping[str, object] | None = None,
    parts: Mapping[str, DataFrame] | None = None,
) -> Path:
    """Write ``tables`` as version ``version_id`` and make it ``current`` atomically.

    ``basis`` (what the tables were computed from, see ``gold_increment.basis``) goes
    into the manifest for the next run's ``plan_increment``; ``parts`` (intermediate
    results the next run can add to) are written under ``_parts/`` with the tables and
    listed apart from them in the manifest. Returns the version's
    folder. Afterwards, the newest ``keep`` complete versions and
    the current one are kept; older versions and incomplete leftovers are deleted.
    """
    if not _VERSION_ID.fullmatch(version_id):
        raise ValueError(f"Gold version id {version_id!r} must be letters, digits, '.', '_', '-'.")
    if keep < 1:
        raise ValueError(f"Gold must keep at least one version, not {keep}.")
    gold_dir = Path(gold_dir)
    _check_current_is_link(gold_dir)
    version_dir = gold_dir / VERSIONS / version_id
    if version_dir.exists():
        if _read_manifest(version_dir) is not None:
            raise ValueError(f"Gold version {version_id} is already published.")
        # An incomplete folder with this id is a crashed attempt of this very version.
        _remove_version_dir(version_dir)
    version_dir.mkdir(parents=True)

    manifest_tables = {}
    for table, df in tables.items():
        rows = _write_table(df, version_dir / table)
        manifest_tables[table] = {"rows": rows, "columns": list(df.columns)}
    manifest_parts = {}
    for name, df in (parts or {}).items():
        rows = _write_table(df, version_dir / PARTS / name)
        manifest_parts[name] = {"rows": rows, "columns": list(df.columns)}
    _fsync_tree(version_dir)
    _write_json_atomically(
        version_dir / MANIFEST,
        {
            "version_id": version_id,
            "created_at": datetime.now(timezone.utc).isoformat(),
            "format": "parquet",
            "tables": manifest_tables,
            **({"parts": manifest_parts} if manifest_parts else {}),
            **({"basis": dict(basis)} if basis is not None else {}),
        },
    )
    _point_current(gold_dir, version_id)
    prune_versions(gold_dir, keep)
    return version_dir


def prune_versions(gold_dir: Path, keep: int = 5) -> list[str]:
    """Delete all but the newest ``keep`` complete versions and the current one.

    Incomplete version folders (a publication that crashed before its manifest) and
    leftovers of interrupted deletions or link swaps are deleted too. Returns the ids of
    the versions deleted.
    """
    gold_dir = Path(gold_dir)
    versions = list_versions(gold_dir)
    complete = [v for v in versions if v.complete]
    kept = {v.id for v in complete[-keep:]} | {v.id for v in versions if v.is_current}
    removed = []
    for info in versions:
        if info.id not in kept:
            _remove_version_dir(gold_dir / VERSIONS / info.id)
            removed.append(info.id)
    for leftover in (gold_dir / VERSIONS).glob(f"{_DELETING_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in gold_dir.glob(f"{_TMP_LINK_PREFIX}*"):
        leftover.unlink(missing_ok=True)
    return removed


def rollback(gold_dir: Path, to: str | None = None) -> str:
    """Point ``current`` at the complete version before it (or at ``to``); return its id."""
    gold_dir = Path(gold_dir)
    _check_current_is_link(gold_dir)
    complete = [v for v in list_versions(gold_dir) if v.complete]
    ids = [v.id for v in complete]
    current = current_version(gold_dir)
    if to is not None:
        if to not in ids:
            raise UserError(
                f"Gold version {to} does not exist or is incomplete; "
                f"the complete versions are: {', '.join(ids) or 'none'}."
            )
        target = to
    elif current is None:
        raise UserError(
            f"No gold has been published in {gold_dir} yet, so none can be rolled back."
        )
    else:
        earlier = ids[: ids.index(current)] if current in ids else ids
        if not earlier:
            raise UserError(
                f"Gold version {current} is the oldest complete version kept, "
                "so there is no earlier one to roll back to."
            )
        target = earlier[-1]
    _point_current(gold_dir, target)
    return target
