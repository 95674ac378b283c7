"""`make bench`: SalesOptic stage by stage, side by side with a bare Spark scan and DuckDB.

Usage::

    python benchmarks/bench.py --scale small|medium|large [--data-dir build/bench/data-<scale>]
                               [--reuse-data] [--threads N]

In one process tree and one session of measurement:

1. the generator (``salesoptic generate --scale S --force``);
2. the SalesOptic pipeline from an empty state, one subprocess per stage
   (``python -m salesoptic run --stage bronze|silver|gold``); rows from the run records;
3. a bare Spark scan: every source read with explicit all-string schemas (CSV with its
   header, JSON lines and log lines as text, the two tables over JDBC) into Spark's
   ``noop`` sink: the floor of any Spark pipeline on this landing zone;
4. the independent DuckDB reference (``benchmarks/duckdb_reference.py``) on the same
   landing zone and tables.

Every step runs as a subprocess whose tree's resident memory is sampled from ``/proc``
(peak of the sum over the process and its descendants, each address space once). It
prints a Markdown table (stage, rows, wall seconds, in-process seconds, rows/s, peak RSS),
the ratios SalesOptic/DuckDB and SalesOptic/bare scan, writes ``build/bench/<scale>.json``
and ``build/bench/<scale>.md``, and runs the differential check: the reference's gold must
equal ``D/gold/current`` (exact for counts and decimals, 1e-9 for doubles) and its
per-reason quarantine counts those of the run records. Exit code 1 on FAIL.

PostgreSQL: ``SALESOPTIC_PG_URL`` when set, else the embedded server of the data
directory (started here if needed, and stopped at the end if it was started here). The
URL reaches the subprocesses through the environment, never on a command line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


# -- measuring a subprocess tree ---------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _image(pid: int) -> tuple[str, bytes] | None:
    """The program and the code and stack addresses of ``pid``: exec draws new ones."""
    try:
        program = os.readlink(f"/proc/{pid}/exe")
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return program, b" ".join(fields[23:26])  # startcode, endcode, startstack


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, now.

    A child with its parent's image is a fork that has not called exec yet: the JVM
    forks one for each ``chmod`` Hadoop runs, over a thousand in a medium run. It shares
    or copies its parent's pages, so its resident size is the parent's memory seen a
    second time; it is left out. Exec draws new addresses (the kernel randomizes them),
    so a second run of the same program still counts. A fork that works on without
    exec (a worker pool) would be left out too; the measured trees have none.
    """
    children = _children_map()
    total, todo = 0, [(root, None)]
    while todo:
        pid, parent_image = todo.pop()
        image = _image(pid)
        if image is None or image != parent_image:
            try:
                with open(f"/proc/{pid}/statm", "rb") as handle:
                    total += int(handle.read().split()[1]) * PAGE
            except (OSError, IndexError, ValueError):
                pass
        todo.extend((child, image) for child in children.get(pid, []))
    return total


@dataclass
class Measured:
    name: str
    argv: list[str]
    returncode: int = 0
    seconds: float = 0.0
    peak_rss: int = 0
    log: str = ""


def run_measured(name: str, argv: list[str], log_dir: Path, env: dict[str, str]) -> Measured:
    """Run ``argv``; wall seconds and the peak RSS of its process tree (sampled 20/s)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    result = Measured(name, argv, log=str(log_path))
    with log_path.open("w") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                result.peak_rss = max(result.peak_rss, _tree_rss(proc.pid))
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            result.returncode = proc.wait()
        finally:
            done.set()
            sampler.join()
        result.seconds = time.perf_counter() - started
    if result.returncode != 0:
        tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-20:])
        raise SystemExit(f"{name} failed (exit {result.returncode}); see {log_path}:\n{tail}")
    return result


# -- the bare Spark scan (runs as `bench.py --bare-scan D`) ------------------------------

SALES_COLUMNS = (
    "transaction_id",
    "timestamp",
    "customer_id",
    "product_id",
    "quantity",
    "unit_price",
    "channel",
)


def bare_scan(data_dir: Path) -> None:
    """Read every source with all-string schemas into the noop sink; print JSON timings."""
    from pyspark.sql import types as T

    from salesoptic.config import load_settings
    from salesoptic.runtime.jdbc import read_table
    from salesoptic.runtime.postgres import resolve_pg
    from salesoptic.runtime.spark import spark_session

    settings = load_settings(data_dir=data_dir)
    source = settings.source_dir.absolute()
    pg = resolve_pg(settings)
    started = time.perf_counter()
    with spark_session(settings, "salesoptic-bare-scan") as spark:
        session_ready = time.perf_counter()
        text = T.StructType([T.StructField("value", T.StringType())])
        sales_schema = T.StructType([T.StructField(c, T.StringType()) for c in SALES_COLUMNS])
        frames = {
            "sales": spark.read.schema(sales_schema)
            .options(header=True, multiLine=True, escape='"')
            .csv(str(source / "sales" / "*.csv")),
            "events": spark.read.schema(text).text(str(source / "events" / "*.json")),
            "logs": spark.read.schema(text).text(str(source / "logs" / "*.log")),
            "customers": read_table(spark, pg, "customers", key="customer_id"),
            "products": read_table(spark, pg, "products", key="product_id"),
        }
        seconds = {}
        for name, df in frames.items():
            t0 = time.perf_counter()
            df.write.format("noop").mode("overwrite").save()
            seconds[name] = time.perf_counter() - t0
        scanned = time.perf_counter()
    print(
        "BARE_SCAN "
        + json.dumps(
            {
                "session_s": session_ready - started,
                "scan_s": scanned - session_ready,
                "per_source_s": seconds,
            }
        )
    )


# -- the benchmark -----------------------------------------------------------------------


@dataclass
class Row:
    stage: str
    rows: int | None
    seconds: float
    work_seconds: float | None = None
    peak_rss: int | None = None
    note: str = ""

    @property
    def rows_per_s(self) -> float | None:
        return self.rows / self.seconds if self.rows and self.seconds > 0 else None


@dataclass
class Report:
    scale: str
    date: str
    machine: str
    data_dir: str
    rows: list[Row] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    differential: str = "not run"
    problems: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)


def machine_description() -> str:
    mem_kib = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    distro = ""
    if Path("/etc/os-release").is_file():
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                distro = line.split("=", 1)[1].strip('"')
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (
        f"{os.cpu_count()} cores, {mem_kib / MIB:.0f} GiB RAM, {distro or platform.system()}, "
        f"Python {platform.python_version()}; load average at start {' '.join(load)}"
    )


def reset_pipeline_state(data_dir: Path) -> None:
    """Remove everything a previous pipeline run left, keeping sources and PostgreSQL."""
    for name in ("bronze", "silver", "quarantine", "gold"):
        shutil.rmtree(data_dir / name, ignore_errors=True)
    state = data_dir / "_state"
    if state.is_dir():
        for entry in state.iterdir():
            if entry.name == "postgres":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def latest_run(data_dir: Path) -> dict:
    """The newest run record under ``data_dir``; it must have succeeded."""
    paths = sorted((data_dir / "_state" / "runs").glob("*.json"))
    if not paths:
        raise SystemExit(f"No run record under {data_dir}/_state/runs.")
    record = json.loads(paths[-1].read_text())
    if record.get("status") != "succeeded":
        raise SystemExit(f"Run {record.get('run_id')} did not succeed: {record.get('error')}")
    return record


def stage_rows(record: dict, label: str) -> list[Row]:
    """One table row per stage of a run record: rows in, in-process seconds."""
    rows = []
    for entry in record["stages"]:
        seconds = float(entry.get("duration_s") or 0.0)
        rows.append(
            Row(f"{label} {entry['stage']}", int(entry.get("rows_in") or 0), seconds, seconds,
                None, f"rows out {int(entry.get('rows_out') or 0):,}")
        )  # fmt: skip
    return rows


def total_row(label: str, stages: list[Row], measured: Measured, note: str) -> Row:
    """A run's total: its first stage's rows, the process's wall time and peak memory."""
    work = sum(r.seconds for r in stages)
    return Row(label, stages[0].rows, measured.seconds, work, measured.peak_rss, note)


def batch_manifest(source: Path, batch: int) -> Path:
    return source / "_truth" / f"manifest_batch_{batch:04d}.json"


def one_day_counts(scale: str, source: Path) -> dict[str, int]:
    """Generator options for one day of batch 1's volume (the tables grow accordingly)."""
    from salesoptic.generate.scales import SCALES

    manifest = json.loads(batch_manifest(source, 1).read_text())
    days = int(manifest["options"]["days"])
    counts = SCALES[scale]
    return {
        name: max(1, getattr(counts, name) // days)
        for name in ("sales", "events", "logs", "customers", "products")
    }


def generated_records(source: Path) -> int:
    """Records of batch 1: the lines of the fact files and the rows of both tables."""
    total = 0
    data = json.loads(batch_manifest(source, 1).read_text())
    for dataset, info in data.get("datasets", {}).items():
        if dataset in ("customers", "products"):
            total += int(info.get("table_rows") or info.get("records") or 0)
        else:
            total += int(info.get("records") or 0)
    return total


def fmt_rows(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def fmt_rss(n: int | None) -> str:
    return "" if not n else f"{n / MIB:,.0f} MiB"


def markdown(report: Report) -> str:
    lines = [
        f"### `make bench` — scale {report.scale}, {report.date}",
        "",
        f"Machine: {report.machine}.",
        "",
        "| stage | rows | seconds (wall) | seconds (in-process) | rows/s (wall) | peak RSS |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in report.rows:
        rps = f"{row.rows_per_s:,.0f}" if row.rows_per_s else ""
        work = "" if row.work_seconds is None else f"{row.work_seconds:.2f}"
        lines.append(
            f"| {row.stage} | {fmt_rows(row.rows)} | {row.seconds:.2f} | {work} | {rps} "
            f"| {fmt_rss(row.peak_rss)} |"
        )
    lines += ["", "| ratio | value |", "|---|---:|"]
    lines += [f"| {name} | {value:.2f}x |" for name, value in report.ratios.items()]
    lines += ["", f"Differential check (DuckDB reference gold = SalesOptic gold): "
              f"**{report.differential}**"]  # fmt: skip
    lines += [f"- {problem}" for problem in report.problems[:50]]
    notes = [r for r in report.rows if r.note]
    if notes:
        lines += ["", *[f"- {r.stage}: {r.note}" for r in notes]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument(
        "--reuse-data", action="store_true", help="Keep the landing zone; skip the generator."
    )
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads.")
    parser.add_argument(
        "--no-incremental",
        dest="incremental",
        action="store_false",
        help="Skip the incremental run (one more day of data) after the full run.",
    )
    parser.add_argument("--bare-scan", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_scan:
        bare_scan(args.bare_scan)
        return 0

    sys.path.insert(0, str(HERE))
    import duckdb_reference as ref

    from salesoptic.config import load_settings
    from salesoptic.runtime.postgres import embedded_server, resolve_pg_url

    scale = args.scale
    out = args.out.absolute()
    data_dir = (args.data_dir or out / f"data-{scale}").absolute()
    logs = out / "logs" / scale
    if args.reuse_data and batch_manifest(data_dir / "source", 2).exists():
        raise SystemExit(
            f"{data_dir / 'source'} already holds a batch 2 (from an incremental run); "
            "run without --reuse-data to start afresh."
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = load_settings(data_dir=data_dir)
    report = Report(
        scale=scale,
        date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine_description(),
        data_dir=str(data_dir),
    )
    embedded = settings.pg_url is None
    server = embedded_server(settings) if embedded else None
    was_running = bool(server and server.status().running)
    pg_url = resolve_pg_url(settings)
    env = {**os.environ, "SALESOPTIC_PG_URL": pg_url, "SALESOPTIC_DATA_DIR": str(data_dir)}
    python = sys.executable
    try:
        # 1. the generator
        if not args.reuse_data:
            gen = run_measured(
                "generate",
                [python, "-m", "salesoptic", "generate", "--data-dir", str(data_dir),
                 "--scale", scale, "--force"],
                logs, env,
            )  # fmt: skip
            report.rows.append(
                Row("generate", generated_records(data_dir / "source"), gen.seconds, None,
                    gen.peak_rss)
            )  # fmt: skip

        # 2. SalesOptic: one `salesoptic run` (one JVM, one Spark session, all stages)
        reset_pipeline_state(data_dir)
        run_argv = [python, "-m", "salesoptic", "run", "--data-dir", str(data_dir)]
        full = run_measured("salesoptic-run", run_argv, logs, env)
        record = latest_run(data_dir)
        report.details["salesoptic_run"] = record
        stages = stage_rows(record, "SalesOptic")
        report.rows += stages
        total = total_row("**SalesOptic total**", stages, full,
                          "one process; wall includes the JVM and Spark session start")  # fmt: skip
        report.rows.append(total)

        # 3. the bare Spark scan
        scan = run_measured(
            "bare-scan", [python, str(HERE / "bench.py"), "--bare-scan", str(data_dir)], logs, env
        )
        scan_info = {}
        for line in Path(scan.log).read_text(errors="replace").splitlines():
            if line.startswith("BARE_SCAN "):
                scan_info = json.loads(line.removeprefix("BARE_SCAN "))
        report.details["bare_scan"] = scan_info
        report.rows.append(
            Row("**bare Spark scan** (noop sink)", total.rows, scan.seconds,
                scan_info.get("scan_s"), scan.peak_rss,
                f"session start {scan_info.get('session_s', 0):.1f} s included in wall")
        )  # fmt: skip

        # 4. the DuckDB reference
        ref_out = out / f"reference-{scale}"
        shutil.rmtree(ref_out, ignore_errors=True)
        ref_json = out / f"reference-{scale}.json"
        argv = [python, str(HERE / "duckdb_reference.py"), "--data-dir", str(data_dir),
                "--out", str(ref_out), "--json", str(ref_json)]  # fmt: skip
        if args.threads:
            argv += ["--threads", str(args.threads)]
        duck = run_measured("duckdb-reference", argv, logs, env)
        ref_info = json.loads(ref_json.read_text())
        for stage, label in (("read", "read (bronze-like)"), ("judge", "judge (silver-like)"),
                             ("gold", "gold")):  # fmt: skip
            report.rows.append(
                Row(f"DuckDB {label}", ref_info["rows"][stage], ref_info["timings"][stage],
                    ref_info["timings"][stage])
            )  # fmt: skip
        report.rows.append(
            Row("**DuckDB total**", total.rows, duck.seconds, ref_info["timings"]["total"],
                duck.peak_rss, "wall includes Python and DuckDB start-up")
        )  # fmt: skip

        # ratios
        report.ratios = {
            "SalesOptic / DuckDB (wall)": total.seconds / duck.seconds,
            "SalesOptic / DuckDB (in-process)": total.work_seconds
            / max(ref_info["timings"]["total"], 1e-9),
            "SalesOptic / bare scan (wall)": total.seconds / scan.seconds,
            "SalesOptic / bare scan (in-process)": total.work_seconds
            / max(scan_info.get("scan_s") or 1e-9, 1e-9),
        }

        # 5. the differential check
        import pyarrow.parquet as pq

        reference = {name: pq.read_table(ref_out / f"{name}.parquet") for name in ref.GOLD_TABLES}
        problems = ref.compare_gold(reference, data_dir / "gold" / "current")
        problems += ref.compare_quality(
            ref_info["quality"], ref.run_records_quality(data_dir / "_state")
        )
        report.differential = "PASS" if not problems else "FAIL"
        report.problems = problems

        # 6. incremental: one more day of data, then a normal run
        if args.incremental:
            day = one_day_counts(scale, data_dir / "source")
            run_measured(
                "generate-one-day",
                [python, "-m", "salesoptic", "generate", "--data-dir", str(data_dir),
                 "--scale", scale, "--batch", "2", "--days", "1",
                 *[f"--{name}={n}" for name, n in day.items()]],
                logs, env,
            )  # fmt: skip
            inc = run_measured("salesoptic-run-incremental", run_argv, logs, env)
            record = latest_run(data_dir)
            report.details["salesoptic_incremental"] = record
            stages = stage_rows(record, "incremental (+1 day)")
            report.rows += stages
            report.rows.append(
                total_row("**incremental total**", stages, inc,
                          "batch 2: one day of every fact dataset; the tables reread whole")
            )  # fmt: skip
            report.ratios["incremental / full run (wall)"] = inc.seconds / full.seconds
    finally:
        if server is not None and not was_running:
            server.stop()

    out.mkdir(parents=True, exist_ok=True)
    text = markdown(report)
    (out / f"{scale}.md").write_text(text)
    payload = asdict(report)
    for row, data in zip(report.rows, payload["rows"], strict=True):
        data["rows_per_s"] = row.rows_per_s
    (out / f"{scale}.json").write_text(json.dumps(payload, indent=2, default=str))
    print(text)
    print(f"Written {out / f'{scale}.md'} and {out / f'{scale}.json'}.")
    return 0 if report.differential == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
