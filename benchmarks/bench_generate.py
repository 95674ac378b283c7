"""Benchmark the data generator: rows/s per dataset, wall time, peak memory, size on disk.

Usage: python benchmarks/bench_generate.py --scale medium [--pg-url URL] [--out DIR] [--keep]

Without --pg-url the customers/products tables are generated but not loaded (their
COPY time is left out); the figures of the fact files are the same either way.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from salesoptic.generate import GenerateSpec, generate


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small", choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--pg-url", default=None, help="Load the tables into this PostgreSQL.")
    parser.add_argument("--out", type=Path, default=None, help="Source folder (default: temp).")
    parser.add_argument("--keep", action="store_true", help="Keep the generated files.")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="salesoptic-bench-")) / "source"
    spec = GenerateSpec.from_options(args.scale, force=True)
    started = time.perf_counter()
    summary = generate(spec, out, args.pg_url)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    print(f"scale={args.scale}  wall={wall:.1f}s  peak_rss={peak_mb:,.0f} MiB  out={out}")
    print(
        f"{'dataset':<10} {'records':>12} {'defective':>10} {'seconds':>8} {'rows/s':>12} {'MB':>9}"
    )
    for d in summary.datasets:
        folder = out / d.dataset
        size = f"{folder_bytes(folder) / 1e6:,.1f}" if folder.is_dir() else "table"
        print(
            f"{d.dataset:<10} {d.records:>12,} {d.defective:>10,} {d.seconds:>8.2f} "
            f"{d.rows_per_second:>12,.0f} {size:>9}"
        )
    blank = ""
    truth_mb = folder_bytes(out / "_truth") / 1e6
    print(f"{'truth':<10} {blank:>12} {blank:>10} {blank:>8} {blank:>12} {truth_mb:>9,.1f}")
    total_mb = folder_bytes(out) / 1e6
    print(f"{'total':<10} {blank:>12} {blank:>10} {wall:>8.2f} {blank:>12} {total_mb:>9,.1f}")
    if not args.keep and args.out is None:
        shutil.rmtree(out.parent)


if __name__ == "__main__":
    main()
