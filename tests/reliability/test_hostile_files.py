"""Hostile landing-zone files: one that disappears or grows during a run, a file name
that is not UTF-8, and a valid sale whose amount no money column can hold."""

from __future__ import annotations

import os

import pytest

import salesoptic.pipeline.bronze as bronze
from salesoptic.config import load_settings
from salesoptic.errors import UserError
from salesoptic.pipeline.bronze import ingest_files

from .support import (
    bronze_count_by_file,
)

LINE = '2025-01-03T10:00:00.123Z INFO Api status=200 latency_ms=12 msg="{}"\n'


def write_logs(folder, name: str, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(LINE.format(i) for i in range(count)))


def test_a_file_that_disappears_before_it_is_read(spark, tmp_path, monkeypatch) -> None:
    logs = tmp_path / "source" / "logs"
    write_logs(logs, "a.log", 3)
    write_logs(logs, "b.log", 4)
    original = bronze.local_path

    def vanish_after_listing(uri):  # the batch's first look at its listed files
        (logs / "b.log").unlink(missing_ok=True)
        return original(uri)

    monkeypatch.setattr(bronze, "local_path", vanish_after_listing)
    settings = load_settings(data_dir=tmp_path)
    counts = ingest_files(spark, settings, "logs", "r1")
    # The other file's records all land; the vanished file is named, not silently skipped.
    assert (counts.files, counts.rows) == (1, 3)
    assert counts.missing == (str((logs / "b.log").absolute()),)
    monkeypatch.setattr(bronze, "local_path", original)
    again = ingest_files(spark, settings, "logs", "r2")  # not stuck on the vanished file
    assert (again.rows, again.missing) == (0, ())
    assert bronze_count_by_file(tmp_path, "logs") == {"a.log": 3}


def test_a_file_that_grows_before_it_is_read(spark, tmp_path, monkeypatch) -> None:
    logs = tmp_path / "source" / "logs"
    write_logs(logs, "a.log", 3)
    original = bronze.read_source_files

    def grow_then_read(spark_, dataset, paths):
        with (logs / "a.log").open("a") as handle:
            handle.write(LINE.format("late") * 2)
        return original(spark_, dataset, paths)

    monkeypatch.setattr(bronze, "read_source_files", grow_then_read)
    counts = ingest_files(spark, load_settings(data_dir=tmp_path), "logs", "r1")
    # What is in the file when it is read is ingested whole, once.
    assert counts.rows == 5
    assert bronze_count_by_file(tmp_path, "logs") == {"a.log": 5}


def test_a_file_name_that_is_not_utf8(spark, tmp_path) -> None:
    logs = tmp_path / "source" / "logs"
    write_logs(logs, "ventes_\u00e9t\u00e9.log", 2)  # non-ASCII but UTF-8: an ordinary name
    raw = os.fsencode(logs) + b"/caf\xe9-\xff.log"
    with open(raw, "wb") as handle:
        handle.write(LINE.format("x").encode() * 3)
    settings = load_settings(data_dir=tmp_path)
    with pytest.raises(UserError, match=r"caf\\xe9-\\xff\.log .* is not valid UTF-8") as info:
        ingest_files(spark, settings, "logs", "r1")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "bronze" / "logs").exists()  # nothing taken, nothing skipped
    os.rename(raw, os.fsencode(logs) + b"/cafe.log")
    counts = ingest_files(spark, settings, "logs", "r2")
    assert (counts.files, counts.rows) == (2, 5)
