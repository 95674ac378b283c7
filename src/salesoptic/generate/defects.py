"""Which records are defective and with which reason codes.

A defect plan covers one file (or one table load): ``positions`` are the record ordinals
chosen to be defective, ``codes`` is a boolean matrix (one row per defective record, one
column per reason code of the dataset in contract order). Codes are spread evenly over
the dataset's codes; a share of the records gets a second code on a different field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from salesoptic.contracts.reasons import REASONS_BY_DATASET, Reason

R = Reason

# Share of defective records (not MALFORMED_* nor DUPLICATE) that get a second code.
MULTI_CODE_SHARE = 0.2

# The field each code judges; a record carries at most one code per field. None marks
# codes that stand alone (a malformed record has no fields; a DUPLICATE copy is clean).
FIELDS: dict[str, dict[Reason, str | None]] = {
    "sales": {
        R.MALFORMED_ROW: None,
        R.MISSING_TRANSACTION_ID: "transaction_id",
        R.INVALID_TIMESTAMP: "timestamp",
        R.FUTURE_TIMESTAMP: "timestamp",
        R.MISSING_CUSTOMER_ID: "customer_id",
        R.MISSING_PRODUCT_ID: "product_id",
        R.INVALID_QUANTITY: "quantity",
        R.INVALID_PRICE: "unit_price",
        R.INVALID_CHANNEL: "channel",
        R.UNKNOWN_CUSTOMER: "customer_id",
        R.UNKNOWN_PRODUCT: "product_id",
        R.DUPLICATE: None,
    },
    "events": {
        R.MALFORMED_JSON: None,
        R.MISSING_EVENT_ID: "event_id",
        R.INVALID_TIMESTAMP: "timestamp",
        R.FUTURE_TIMESTAMP: "timestamp",
        R.MISSING_USER_ID: "user_id",
        R.UNKNOWN_EVENT_TYPE: "event_type",
        R.INVALID_DEVICE: "device",
        R.DUPLICATE: None,
    },
    "logs": {
        R.MALFORMED_LINE: None,
        R.INVALID_TIMESTAMP: "timestamp",
        R.UNKNOWN_LEVEL: "level",
    },
    "customers": {
        R.MISSING_NAME: "name",
        R.INVALID_EMAIL: "email",
        R.MISSING_COUNTRY: "country",
        R.INVALID_SEGMENT: "segment",
    },
    "products": {
        R.MISSING_NAME: "name",
        R.MISSING_CATEGORY: "category",
        R.INVALID_PRICE: "list_price",
    },
}


@dataclass(frozen=True)
class DefectPlan:
    """The defective records of one file or table load and their codes."""

    dataset: str
    positions: np.ndarray  # ascending record ordinals
    codes: np.ndarray  # bool, shape (len(positions), number of codes of the dataset)

    @property
    def reason_codes(self) -> tuple[Reason, ...]:
        return REASONS_BY_DATASET[self.dataset]

    def __len__(self) -> int:
        return len(self.positions)

    def has(self, code: Reason) -> np.ndarray:
        """Boolean per defective record: does it carry ``code``."""
        return self.codes[:, self.reason_codes.index(code)]

    def positions_with(self, code: Reason) -> np.ndarray:
        return self.positions[self.has(code)]

    def reasons(self) -> pa.Array:
        """``list<string>`` of each defective record's codes, in contract order."""
        _rows, cols = np.nonzero(self.codes)  # row-major: contract order within a record
        names = np.array([c.value for c in self.reason_codes], dtype=object)[cols]
        offsets = np.concatenate([[0], np.cumsum(self.codes.sum(axis=1))]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(names, pa.string()))

    def counts(self) -> dict[str, int]:
        totals = self.codes.sum(axis=0)
        return {c.value: int(n) for c, n in zip(self.reason_codes, totals, strict=True)}


def plan_defects(
    dataset: str,
    rng: np.random.Generator,
    records: int,
    defective: int,
    unavailable: frozenset[Reason] = frozenset(),
) -> DefectPlan:
    """Choose ``defective`` of ``records`` ordinals and give each one or two codes.

    First codes cycle through the available codes from a random start, so every code
    appears once the count reaches the number of codes; ``unavailable`` codes are left
    out (e.g. DUPLICATE on the very first day, which has nothing to duplicate).
    """
    codes = REASONS_BY_DATASET[dataset]
    fields: Mapping[Reason, str | None] = FIELDS[dataset]
    available = np.array([i for i, c in enumerate(codes) if c not in unavailable], dtype=np.int64)
    matrix = np.zeros((defective, len(codes)), dtype=bool)
    if defective == 0 or len(available) == 0:
        return DefectPlan(dataset, np.zeros(0, dtype=np.int64), matrix[:0])
    positions = np.sort(rng.choice(records, size=defective, replace=False)).astype(np.int64)
    first = available[(rng.integers(len(available)) + np.arange(defective)) % len(available)]
    rng.shuffle(first)
    matrix[np.arange(defective), first] = True

    alone = np.array([fields[c] is None for c in codes])
    wants_second = (rng.random(defective) < MULTI_CODE_SHARE) & ~alone[first]
    for code_index in np.unique(first[wants_second]):
        partners = [
            j for j in available if not alone[j] and fields[codes[j]] != fields[codes[code_index]]
        ]
        rows = np.nonzero(wants_second & (first == code_index))[0]
        if partners and len(rows):
            matrix[rows, rng.choice(partners, size=len(rows))] = True
    return DefectPlan(dataset, positions, matrix)
