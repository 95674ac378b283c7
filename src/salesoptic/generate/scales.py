"""Scales, the resolved options of one batch, and how records are spread over days."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from salesoptic.errors import UserError

FACT_DATASETS = ("sales", "events", "logs")

# Stable small integers that separate the random streams of each dataset.
STREAM_IDS = {"plan": 0, "sales": 1, "events": 2, "logs": 3, "customers": 4, "products": 5}

DEFAULT_SEED = 42
DEFAULT_DAYS = 30
DEFAULT_START_DATE = dt.date(2025, 1, 1)
DEFAULT_DEFECT_RATE = 0.05

# Later batches grow the dimensions by this fraction of the batch's customers/products
# option and update this fraction of the valid customers already loaded.
NEW_DIMENSION_FRACTION = 0.10
UPDATED_CUSTOMER_FRACTION = 0.05


@dataclass(frozen=True)
class ScaleCounts:
    """Records of one batch: sales lines, event lines, log lines, table rows."""

    sales: int
    events: int
    logs: int
    customers: int
    products: int


SCALES: dict[str, ScaleCounts] = {
    "tiny": ScaleCounts(sales=2_000, events=3_000, logs=4_000, customers=20, products=7),
    "small": ScaleCounts(
        sales=100_000, events=300_000, logs=100_000, customers=10_000, products=500
    ),
    "medium": ScaleCounts(
        sales=1_000_000, events=3_000_000, logs=1_000_000, customers=100_000, products=2_000
    ),
    "large": ScaleCounts(
        sales=10_000_000,
        events=30_000_000,
        logs=10_000_000,
        customers=1_000_000,
        products=10_000,
    ),
}


@dataclass(frozen=True)
class GenerateSpec:
    """The resolved options of one generated batch.

    ``start_date`` is the first day of batch 1; a later batch starts on the day after the
    previous batch's last day (read from its manifest), whatever ``start_date`` says.
    Counts are records per batch; for ``customers`` and ``products`` they are the rows of
    batch 1, and a later batch adds ``NEW_DIMENSION_FRACTION`` of them.
    """

    scale: str = "small"
    sales: int = SCALES["small"].sales
    events: int = SCALES["small"].events
    logs: int = SCALES["small"].logs
    customers: int = SCALES["small"].customers
    products: int = SCALES["small"].products
    seed: int = DEFAULT_SEED
    days: int = DEFAULT_DAYS
    start_date: dt.date = DEFAULT_START_DATE
    defect_rate: float = DEFAULT_DEFECT_RATE
    batch: int = 1
    force: bool = False

    @classmethod
    def from_options(
        cls,
        scale: str = "small",
        *,
        sales: int | None = None,
        events: int | None = None,
        logs: int | None = None,
        customers: int | None = None,
        products: int | None = None,
        seed: int = DEFAULT_SEED,
        days: int = DEFAULT_DAYS,
        start_date: dt.date = DEFAULT_START_DATE,
        defect_rate: float = DEFAULT_DEFECT_RATE,
        batch: int = 1,
        force: bool = False,
    ) -> GenerateSpec:
        """Resolve a scale plus explicit counts (which win) and check every option."""
        if scale not in SCALES:
            raise UserError(f"Unknown scale {scale!r}; use one of {', '.join(SCALES)}.")
        base = SCALES[scale]
        spec = cls(
            scale=scale,
            sales=base.sales if sales is None else sales,
            events=base.events if events is None else events,
            logs=base.logs if logs is None else logs,
            customers=base.customers if customers is None else customers,
            products=base.products if products is None else products,
            seed=seed,
            days=days,
            start_date=start_date,
            defect_rate=defect_rate,
            batch=batch,
            force=force,
        )
        spec.validate()
        return spec

    def validate(self) -> None:
        for name in ("sales", "events", "logs"):
            if getattr(self, name) < 0:
                raise UserError(f"--{name} must be zero or more, not {getattr(self, name)}.")
        for name in ("customers", "products"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name} must be at least 1, not {getattr(self, name)}.")
        if self.days < 1:
            raise UserError(f"--days must be at least 1, not {self.days}.")
        if not 0.0 <= self.defect_rate <= 0.5:
            raise UserError(f"--defect-rate must be between 0 and 0.5, not {self.defect_rate}.")
        if self.batch < 1:
            raise UserError(f"--batch must be at least 1, not {self.batch}.")
        if not 0 <= self.seed < 2**63:
            raise UserError(f"--seed must be a non-negative integer, not {self.seed}.")

    def count(self, dataset: str) -> int:
        return int(getattr(self, dataset))

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["start_date"] = self.start_date.isoformat()
        out.pop("force")
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GenerateSpec:
        values = dict(data)
        values["start_date"] = dt.date.fromisoformat(values["start_date"])
        return cls(**values)


def new_dimension_rows(spec: GenerateSpec, dataset: str) -> int:
    """Rows a batch adds to ``customers`` or ``products``."""
    base = spec.count(dataset)
    return base if spec.batch == 1 else max(1, round(NEW_DIMENSION_FRACTION * base))


def stream(seed: int, batch: int, name: str, ordinal: int = 0) -> np.random.Generator:
    """The random generator of one (seed, batch, dataset or plan, day) cell.

    Every cell has its own stream so that a day's output never depends on how many
    random numbers another day or dataset drew.
    """
    return np.random.default_rng(np.random.SeedSequence([seed, batch, STREAM_IDS[name], ordinal]))


# Relative traffic per weekday, Monday first: weekends are busier for a retailer.
WEEKDAY_WEIGHTS = np.array([0.92, 0.95, 0.97, 1.0, 1.08, 1.25, 1.18])


def batch_days(first_day: dt.date, days: int) -> list[dt.date]:
    return [first_day + dt.timedelta(days=i) for i in range(days)]


def day_weights(seed: int, batch: int, days: list[dt.date]) -> np.ndarray:
    """Share of a batch's traffic per day: weekly seasonality, a slow trend, noise."""
    rng = stream(seed, batch, "plan")
    weekday = WEEKDAY_WEIGHTS[[d.weekday() for d in days]]
    trend = 1.0 + 0.1 * np.sin(np.arange(len(days)) / 9.0)
    noise = rng.uniform(0.95, 1.05, len(days))
    weights = weekday * trend * noise
    return weights / weights.sum()


def split_total(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    raw = weights * total / weights.sum()
    parts = np.floor(raw).astype(np.int64)
    short = total - int(parts.sum())
    if short > 0:
        # Stable tie-break on the position keeps the split deterministic.
        order = np.lexsort((np.arange(len(raw)), -(raw - parts)))
        parts[order[:short]] += 1
    return parts


# From this many records on, a positive rate always gives at least one defective record,
# so even tiny data sets show every dataset in the quality report.
MIN_RECORDS_FOR_ONE_DEFECT = 5


def defective_total(records: int, rate: float) -> int:
    """Defective records of a dataset: ``round(records * rate)``, at least one when the
    rate is positive and there are ``MIN_RECORDS_FOR_ONE_DEFECT`` records or more."""
    if rate <= 0 or records == 0:
        return 0
    floor = 1 if records >= MIN_RECORDS_FOR_ONE_DEFECT else 0
    return min(records, max(floor, round(records * rate)))
