"""Generate one batch: dimensions into PostgreSQL, fact files per day, ground truth."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from salesoptic import __version__
from salesoptic.errors import UserError
from salesoptic.generate import events as events_mod
from salesoptic.generate import landing
from salesoptic.generate import sales as sales_mod
from salesoptic.generate.common import DayContext, FileResult
from salesoptic.generate.dimensions import References, build_dimensions
from salesoptic.generate.duplicates import POOL_PER_FILE, DuplicatePool
from salesoptic.generate.logs import logs_day
from salesoptic.generate.scales import (
    FACT_DATASETS,
    GenerateSpec,
    batch_days,
    day_weights,
    defective_total,
    new_dimension_rows,
    split_total,
    stream,
)
from salesoptic.generate.text import lines_buffer, write_atomically
from salesoptic.generate.truth import (
    DatasetCounts,
    TruthWriter,
    defects_path,
    file_truth,
    manifest_path,
    table_truth,
    write_manifest,
)

# Threads that build a day's sales, events and logs files at the same time. On the
# 2-core reference machine more than one gave no gain (the Python glue holds the GIL
# often enough) and cost memory, so one; the output never depends on this number.
FACT_WORKERS = 1

# Called with (dataset, records just generated) after each file or table.
ProgressHook = Callable[[str, int], None]


@dataclass(frozen=True)
class DatasetSummary:
    """What one batch generated for one dataset."""

    dataset: str
    files: int
    records: int
    defective: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Summary:
    """The outcome of one batch: per-dataset figures and where it was written."""

    batch: int
    first_day: dt.date
    last_day: dt.date
    source_dir: Path
    bytes_written: int
    datasets: list[DatasetSummary] = field(default_factory=list)

    def dataset(self, name: str) -> DatasetSummary:
        return next(d for d in self.datasets if d.dataset == name)


def planned_records(spec: GenerateSpec) -> dict[str, int]:
    """Records the batch will generate per dataset (progress bar totals)."""
    return {
        **{d: spec.count(d) for d in FACT_DATASETS},
        "customers": new_dimension_rows(spec, "customers"),
        "products": new_dimension_rows(spec, "products"),
    }


def generate(
    spec: GenerateSpec,
    source_dir: Path,
    pg_url: str | None,
    progress: ProgressHook | None = None,
) -> Summary:
    """Generate batch ``spec.batch`` into ``source_dir`` and (unless ``pg_url`` is None)
    the ``customers``/``products`` tables; returns the batch's figures.

    PostgreSQL is checked before anything is written, so an unreachable server leaves
    the landing zone as it was. The manifest is written last: a batch without one did
    not finish.
    """
    source_dir = Path(source_dir)
    spec.validate()
    if pg_url is not None:
        from salesoptic.generate.pg_load import check_reachable

        check_reachable(pg_url)
    history = landing.prepare(spec, source_dir)
    first_day = history[-1][1]
    days = batch_days(first_day, spec.days)
    today = dt.datetime.now(dt.timezone.utc).date()
    if days[-1] >= today:
        raise UserError(
            f"Batch {spec.batch} would end on {days[-1]}, not before today ({today}); "
            "its records would be in the future, so choose an earlier --start-date or fewer --days."
        )
    landing.check_new_files(source_dir, days, spec.force)
    notify = progress or (lambda _dataset, _records: None)

    started = time.perf_counter()
    refs, load = build_dimensions(history)
    dims_seconds = time.perf_counter() - started
    load_seconds = {"customers": 0.0, "products": 0.0}
    if pg_url is not None:
        from salesoptic.generate.pg_load import load_dimensions

        load_seconds = load_dimensions(pg_url, load, spec.batch)

    counts = {d: DatasetCounts(d) for d in (*FACT_DATASETS, "customers", "products")}
    seconds = dict.fromkeys(counts, 0.0)
    truth = TruthWriter(defects_path(source_dir, spec.batch))
    dim_rows = {"customers": load.new_customers, "products": load.new_products}
    total_dim_rows = sum(dim_rows.values())
    try:
        for name, ids, plan in (
            ("customers", load.customer_ids, load.customer_plan),
            ("products", load.product_ids, load.product_plan),
        ):
            truth.write(table_truth(name, ids, plan))
            counts[name].add(dim_rows[name], plan)
            seconds[name] = load_seconds[name] + dims_seconds * dim_rows[name] / total_dim_rows
            notify(name, dim_rows[name])

        bytes_written = _generate_facts(
            spec, source_dir, days, refs, truth, counts, seconds, notify
        )
        truth.close()
    except BaseException:
        truth.abort()
        raise

    manifest = {
        "batch": spec.batch,
        "generator": f"salesoptic {__version__}",
        "options": spec.to_json(),
        "first_day": days[0].isoformat(),
        "last_day": days[-1].isoformat(),
        "datasets": {name: c.to_json() for name, c in counts.items()},
    }
    manifest["datasets"]["customers"].update(
        table_rows=load.customers_total, updated=load.updated_customers
    )
    manifest["datasets"]["products"].update(table_rows=load.products_total, updated=0)
    write_manifest(manifest_path(source_dir, spec.batch), manifest)

    return Summary(
        batch=spec.batch,
        first_day=days[0],
        last_day=days[-1],
        source_dir=source_dir,
        bytes_written=bytes_written,
        datasets=[
            DatasetSummary(
                dataset=name,
                files=len(c.files),
                records=c.records,
                defective=c.defective,
                seconds=seconds[name],
            )
            for name, c in counts.items()
        ],
    )


def _generate_facts(
    spec: GenerateSpec,
    source_dir: Path,
    days: list[dt.date],
    refs: References,
    truth: TruthWriter,
    counts: dict[str, DatasetCounts],
    seconds: dict[str, float],
    notify: ProgressHook,
) -> int:
    weights = day_weights(spec.seed, spec.batch, days)
    per_day = {d: split_total(spec.count(d), weights) for d in FACT_DATASETS}
    bad_per_day = {
        d: split_total(
            defective_total(spec.count(d), spec.defect_rate), per_day[d].astype(float) + 1e-12
        )
        for d in FACT_DATASETS
    }
    pools = {"sales": DuplicatePool(), "events": DuplicatePool()}
    if spec.batch > 1:
        for dataset, pool in pools.items():
            pool.add(_previous_batch_sample(spec, source_dir, dataset))

    def make(
        dataset: str, day: dt.date, records: int, defective: int
    ) -> tuple[FileResult, int, float]:
        began = time.perf_counter()
        ctx = DayContext(
            date=day,
            rng=stream(spec.seed, spec.batch, dataset, day.toordinal()),
            source=landing.source_file(dataset, day),
        )
        if dataset == "sales":
            result = sales_mod.sales_day(ctx, records, defective, refs, pools["sales"])
        elif dataset == "events":
            result = events_mod.events_day(ctx, records, defective, refs, pools["events"])
        else:
            result = logs_day(ctx, records, defective)
        chunks: list[bytes | pa.Buffer] = []
        if result.header is not None:
            chunks.append(f"{result.header}\n".encode())
        chunks.append(lines_buffer(result.lines))
        size = write_atomically(source_dir / result.source, chunks)
        return result, size, time.perf_counter() - began

    written = 0
    # A day's three files do not depend on each other (duplicates only copy earlier
    # days), so they are built in parallel: Arrow and NumPy release the GIL. Results are
    # recorded in a fixed order, so the output does not depend on thread timing.
    with ThreadPoolExecutor(max_workers=FACT_WORKERS) as executor:
        for i, day in enumerate(days):
            futures = {
                d: executor.submit(
                    make,
                    d,
                    day,
                    int(per_day[d][i]),
                    min(int(per_day[d][i]), int(bad_per_day[d][i])),
                )
                for d in FACT_DATASETS
                if per_day[d][i] > 0
            }
            for dataset, future in futures.items():
                result, size, took = future.result()
                written += size
                truth.write(file_truth(result))
                counts[dataset].add(len(result.lines), result.plan, result.source)
                if dataset in pools:
                    pools[dataset].add(result.pool)
                seconds[dataset] += took
                notify(dataset, len(result.lines))
    return written


def _previous_batch_sample(spec: GenerateSpec, source_dir: Path, dataset: str) -> pa.Table | None:
    """Clean records of the previous batch's last file, so the new batch can re-send
    some of them: keys already kept in an earlier batch are DUPLICATE too."""
    files = landing.previous_files(source_dir, spec.batch - 1, dataset)
    if not files:
        return None
    rel = files[-1]
    lines = (source_dir / rel).read_bytes().decode("utf-8").split("\n")
    lines = lines[1:-1] if dataset == "sales" else lines[:-1]  # header, final line end
    truth = pq.read_table(
        defects_path(source_dir, spec.batch - 1), columns=["source", "record_index"]
    )
    bad = truth.filter(pc.equal(truth["source"], rel))["record_index"].to_numpy()
    clean = np.setdiff1d(np.arange(len(lines)), bad)
    rng = stream(spec.seed, spec.batch, dataset, 0)
    chosen = np.sort(rng.choice(clean, size=min(len(clean), POOL_PER_FILE), replace=False))
    picked = [lines[i] for i in chosen]
    if dataset == "sales":
        fields = [line.split(",") for line in picked]
        return pa.table(
            {
                c: pa.array([f[j] for f in fields], pa.string())
                for j, c in enumerate(sales_mod.COLUMNS)
            }
        )
    objects = [json.loads(line) for line in picked]

    def token(value: object) -> str:
        return "null" if value is None else str(value)

    return pa.table(
        {c: pa.array([token(o[c]) for o in objects], pa.string()) for c in events_mod.COLUMNS}
    )
