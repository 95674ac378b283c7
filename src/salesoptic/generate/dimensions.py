"""Customers and products: the rows each batch loads and the references sales may use.

Grain: one row per customer (``customer_id``) and per product (``product_id``). Ids are
contiguous from 1 across batches. Defective rows are extra rows that clean sales and
events never reference; updates in later batches only touch valid customers and keep
them valid, so a row's validity never changes after the batch that added it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from salesoptic.contracts.reasons import Reason
from salesoptic.generate.defects import DefectPlan, plan_defects
from salesoptic.generate.scales import (
    UPDATED_CUSTOMER_FRACTION,
    GenerateSpec,
    defective_total,
    new_dimension_rows,
    stream,
)
from salesoptic.generate.text import choose, concat, int_text, money_text, pick, put

R = Reason

CUSTOMER_COLUMNS = (
    "customer_id",
    "name",
    "email",
    "country",
    "segment",
    "signup_date",
    "updated_at",
)
PRODUCT_COLUMNS = ("product_id", "name", "category", "list_price", "updated_at")

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Lucas",
    "Mia", "Mateo", "Isabella", "Levi", "Charlotte", "Hugo", "Lea", "Jonas", "Chloe", "Louis",
    "Hanna", "Paul", "Sofia", "Marco", "Giulia", "Luca", "Yuki", "Haruto", "Aiko", "Ren",
    "Priya", "Arjun", "Ana", "Joao", "Lucia", "Diego", "Emily", "Jack", "Grace", "Leon",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Martin", "Bernard", "Dubois",
    "Muller", "Schmidt", "Schneider", "Fischer", "Rossi", "Russo", "Ferrari", "Sato", "Suzuki",
    "Tanaka", "Patel", "Sharma", "Silva", "Santos", "Oliveira", "Lopez", "Gonzalez", "Wilson",
    "Taylor", "Anderson", "Thomas", "Moore", "Clark", "Walker", "Young", "King", "Wright",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")

# Country mix of the customer base (share of customers).
COUNTRIES = {
    "United States": 0.28, "United Kingdom": 0.12, "Germany": 0.11, "France": 0.09,
    "Spain": 0.07, "Italy": 0.06, "Netherlands": 0.05, "Canada": 0.06, "Australia": 0.04,
    "Japan": 0.05, "Brazil": 0.04, "India": 0.03,
}  # fmt: skip
SEGMENTS = {"Standard": 0.68, "Premium": 0.22, "Business": 0.10}

# Category: (share of products, median list price in dollars, name nouns).
CATEGORIES: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "Electronics": (0.18, 120.0, ("Headphones", "Speaker", "Monitor", "Keyboard", "Tablet")),
    "Home": (0.16, 45.0, ("Lamp", "Blanket", "Vase", "Cookware Set", "Chair")),
    "Fashion": (0.16, 40.0, ("Jacket", "Sneakers", "Scarf", "Backpack", "Jeans")),
    "Sports": (0.12, 55.0, ("Yoga Mat", "Running Shoes", "Water Bottle", "Tent", "Bike Light")),
    "Beauty": (0.10, 25.0, ("Face Cream", "Perfume", "Shampoo", "Lipstick", "Hair Dryer")),
    "Books": (0.10, 15.0, ("Novel", "Cookbook", "Travel Guide", "Atlas", "Biography")),
    "Toys": (0.10, 30.0, ("Puzzle", "Board Game", "Robot Kit", "Plush Bear", "Building Set")),
    "Grocery": (0.08, 8.0, ("Coffee Beans", "Olive Oil", "Green Tea", "Chocolate", "Honey")),
}
ADJECTIVES = (
    "Aurora", "Nordic", "Classic", "Urban", "Pro", "Eco", "Compact", "Deluxe", "Smart",
    "Vintage", "Essential", "Premium", "Lite", "Max", "Organic", "Everyday",
)  # fmt: skip

BAD_SEGMENTS = ("premium", "Gold", "VIP", "standard", "Enterprise", "BUSINESS")
BLANKS = ("", " ", "   ")

# Zipf-like popularity: a product of rank r sells in proportion to 1 / r**ZIPF_EXPONENT.
ZIPF_EXPONENT = 1.1


@dataclass(frozen=True)
class References:
    """What facts may reference after a batch's dimension load."""

    valid_customer_ids: np.ndarray
    defective_customer_ids: np.ndarray
    valid_product_ids: np.ndarray
    product_price_cents: np.ndarray  # aligned with valid_product_ids
    product_cdf: np.ndarray  # cumulative popularity, aligned with valid_product_ids
    defective_product_ids: np.ndarray


@dataclass(frozen=True)
class DimensionLoad:
    """The rows one batch loads into PostgreSQL and their ground truth.

    ``customers``/``products`` hold every column as text (null = SQL NULL): for batch 1
    the whole table, for a later batch the new rows plus the updated customers.
    """

    customers: pa.Table
    products: pa.Table
    customer_plan: DefectPlan
    product_plan: DefectPlan
    customer_ids: np.ndarray  # ids of the new customers (defect plan positions index it)
    product_ids: np.ndarray
    customers_total: int
    products_total: int
    new_customers: int
    updated_customers: int
    new_products: int


def _timestamptz(day: dt.date, seconds: np.ndarray) -> pa.Array:
    base = np.datetime64(day.isoformat(), "s")
    text = np.datetime_as_string(base + seconds.astype("timedelta64[s]"), unit="s")
    return concat(pc.replace_substring(pa.array(text), "T", " "), "+00")


def _dates(day: dt.date, days_before: np.ndarray) -> pa.Array:
    base = np.datetime64(day.isoformat(), "D")
    return pa.array(np.datetime_as_string(base - days_before.astype("timedelta64[D]")))


def _weighted(rng: np.random.Generator, mix: dict[str, float], count: int) -> np.ndarray:
    shares = np.array(list(mix.values()))
    return rng.choice(len(mix), size=count, p=shares / shares.sum())


def _new_customers(
    rng: np.random.Generator, first_id: int, count: int, as_of: dt.date, defective: int
) -> tuple[dict[str, pa.Array], np.ndarray, DefectPlan]:
    ids = np.arange(first_id, first_id + count, dtype=np.int64)
    first = pick(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), count))
    last = pick(LAST_NAMES, rng.integers(0, len(LAST_NAMES), count))
    domain = pick(EMAIL_DOMAINS, rng.integers(0, len(EMAIL_DOMAINS), count))
    local = pc.utf8_lower(concat(first, ".", last, int_text(ids)))
    signup_days = rng.integers(1, 3 * 365, count)
    cols = {
        "customer_id": int_text(ids),
        "name": concat(first, " ", last),
        "email": concat(local, "@", domain),
        "country": pick(list(COUNTRIES), _weighted(rng, COUNTRIES, count)),
        "segment": pick(list(SEGMENTS), _weighted(rng, SEGMENTS, count)),
        "signup_date": _dates(as_of, signup_days),
        # Last change between signup and the batch's first day.
        "updated_at": _timestamptz(
            as_of, -(rng.integers(0, signup_days) * 86_400 + rng.integers(1, 86_400, count))
        ),
    }
    plan = plan_defects("customers", rng, count, defective)
    _break_customers(rng, cols, plan)
    return cols, ids, plan


def _blank_or_null(rng: np.random.Generator, count: int) -> pa.Array:
    """Blank text or SQL NULL: both are MISSING_*."""
    values = pick(BLANKS, rng.integers(0, len(BLANKS), count))
    nulls = rng.random(count) < 0.4
    return pc.if_else(pa.array(nulls), pa.nulls(count, pa.string()), values)


def _break_customers(rng: np.random.Generator, cols: dict[str, pa.Array], plan: DefectPlan) -> None:
    pos = plan.positions_with(R.MISSING_NAME)
    cols["name"] = put(cols["name"], pos, _blank_or_null(rng, len(pos)))
    pos = plan.positions_with(R.INVALID_EMAIL)
    email = pc.take(cols["email"], pos)
    variants = [
        pc.replace_substring(email, "@", ""),  # no @
        pc.replace_substring(email, ".", " ", max_replacements=1),  # a space in the local part
        concat(email, "@"),  # two @
        pc.replace_substring_regex(email, r"@.*$", "@example"),  # no dot in the domain
    ]
    cols["email"] = put(cols["email"], pos, choose(rng.integers(0, 4, len(pos)), variants))
    pos = plan.positions_with(R.MISSING_COUNTRY)
    cols["country"] = put(cols["country"], pos, _blank_or_null(rng, len(pos)))
    pos = plan.positions_with(R.INVALID_SEGMENT)
    bad = pick(BAD_SEGMENTS, rng.integers(0, len(BAD_SEGMENTS), len(pos)))
    cols["segment"] = put(cols["segment"], pos, bad)


def _new_products(
    rng: np.random.Generator, first_id: int, count: int, as_of: dt.date, defective: int
) -> tuple[dict[str, pa.Array], np.ndarray, np.ndarray, np.ndarray, DefectPlan]:
    ids = np.arange(first_id, first_id + count, dtype=np.int64)
    names = list(CATEGORIES)
    shares = np.array([c[0] for c in CATEGORIES.values()])
    category = rng.choice(len(names), size=count, p=shares / shares.sum())
    median = np.array([c[1] for c in CATEGORIES.values()])[category]
    dollars = np.maximum(1, np.round(median * rng.lognormal(0.0, 0.45, count)))
    # Most list prices end in .99, the rest in .00 or .50.
    ending = np.array([99, 0, 50])[rng.choice(3, size=count, p=[0.7, 0.2, 0.1])]
    cents = (dollars.astype(np.int64) - (ending == 99)) * 100 + ending
    cents = np.maximum(cents, 99)
    noun_index = rng.integers(0, 5, count)
    nouns = pc.take(
        pa.array([n for c in CATEGORIES.values() for n in c[2]]), category * 5 + noun_index
    )
    adjective = pick(ADJECTIVES, rng.integers(0, len(ADJECTIVES), count))
    cols = {
        "product_id": int_text(ids),
        "name": concat(adjective, " ", nouns),
        "category": pick(names, category),
        "list_price": money_text(cents),
        "updated_at": _timestamptz(as_of, -rng.integers(86_400, 400 * 86_400, count)),
    }
    # Popularity: 1 / rank^s over a random ranking of the new products.
    popularity = 1.0 / (rng.permutation(count) + 1.0) ** ZIPF_EXPONENT
    plan = plan_defects("products", rng, count, defective)
    pos = plan.positions_with(R.MISSING_NAME)
    cols["name"] = put(cols["name"], pos, _blank_or_null(rng, len(pos)))
    pos = plan.positions_with(R.MISSING_CATEGORY)
    cols["category"] = put(cols["category"], pos, _blank_or_null(rng, len(pos)))
    pos = plan.positions_with(R.INVALID_PRICE)
    bad_cents = np.where(rng.random(len(pos)) < 0.5, 0, -pc.take(pa.array(cents), pos).to_numpy())
    bad = money_text(bad_cents)
    bad = pc.if_else(pa.array(rng.random(len(pos)) < 0.3), pa.nulls(len(pos), pa.string()), bad)
    cols["list_price"] = put(cols["list_price"], pos, bad)
    return cols, ids, cents, popularity, plan


def _table(cols: dict[str, pa.Array], names: tuple[str, ...]) -> pa.Table:
    return pa.table({n: cols[n] for n in names})


def build_dimensions(
    history: list[tuple[GenerateSpec, dt.date]],
) -> tuple[References, DimensionLoad]:
    """Replay every batch's dimension changes and return the last batch's load.

    ``history`` holds, per batch from 1 to K, its spec and first day. Replaying is
    deterministic, so batch K knows the ids and prices batch 1 loaded without reading
    PostgreSQL back.
    """
    customer_tables: list[pa.Table] = []
    valid_customers: list[np.ndarray] = []
    bad_customers: list[np.ndarray] = []
    product_tables: list[pa.Table] = []
    valid_products: list[np.ndarray] = []
    bad_products: list[np.ndarray] = []
    prices: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    load: DimensionLoad | None = None

    for spec, first_day in history:
        rng_c = stream(spec.seed, spec.batch, "customers")
        rng_p = stream(spec.seed, spec.batch, "products")
        later = spec.batch > 1
        n_customers = new_dimension_rows(spec, "customers")
        n_products = new_dimension_rows(spec, "products")
        next_customer = 1 + sum(len(t) for t in customer_tables)
        next_product = 1 + sum(len(t) for t in product_tables)

        # Updates first: they touch customers of earlier batches only.
        updated = pa.table({n: pa.array([], pa.string()) for n in CUSTOMER_COLUMNS})
        if later and customer_tables:
            snapshot = pa.concat_tables(customer_tables).combine_chunks()
            valid_ids = np.concatenate(valid_customers)
            count = min(len(valid_ids), max(1, round(UPDATED_CUSTOMER_FRACTION * len(valid_ids))))
            chosen = np.sort(rng_c.choice(valid_ids, size=count, replace=False))
            rows = chosen - 1  # ids are contiguous from 1
            segment = pc.take(snapshot["segment"], rows)
            # A move to the next segment (Standard -> Premium -> Business -> Standard).
            order = list(SEGMENTS)
            moved = pc.take(pa.array(order[1:] + order[:1]), pc.index_in(segment, pa.array(order)))
            stamp = _timestamptz(first_day, rng_c.integers(0, 86_400, count))
            cols = {n: snapshot[n] for n in CUSTOMER_COLUMNS}
            cols["segment"] = put(cols["segment"].combine_chunks(), rows, moved)
            cols["updated_at"] = put(cols["updated_at"].combine_chunks(), rows, stamp)
            snapshot = _table(cols, CUSTOMER_COLUMNS)
            customer_tables = [snapshot]
            updated = snapshot.take(pa.array(rows))

        c_cols, c_ids, c_plan = _new_customers(
            rng_c, next_customer, n_customers, first_day,
            defective_total(n_customers, spec.defect_rate),
        )  # fmt: skip
        p_cols, p_ids, p_cents, p_pop, p_plan = _new_products(
            rng_p, next_product, n_products, first_day,
            defective_total(n_products, spec.defect_rate),
        )  # fmt: skip
        new_customer_table = _table(c_cols, CUSTOMER_COLUMNS)
        new_product_table = _table(p_cols, PRODUCT_COLUMNS)
        customer_tables.append(new_customer_table)
        product_tables.append(new_product_table)

        c_bad = np.zeros(n_customers, dtype=bool)
        c_bad[c_plan.positions] = True
        valid_customers.append(c_ids[~c_bad])
        bad_customers.append(c_ids[c_bad])
        p_bad = np.zeros(n_products, dtype=bool)
        p_bad[p_plan.positions] = True
        valid_products.append(p_ids[~p_bad])
        bad_products.append(p_ids[p_bad])
        prices.append(p_cents[~p_bad])
        weights.append(p_pop[~p_bad])

        loaded_customers = (
            pa.concat_tables([updated, new_customer_table]) if later else new_customer_table
        )
        load = DimensionLoad(
            customers=loaded_customers.combine_chunks(),
            products=new_product_table,
            customer_plan=c_plan,
            product_plan=p_plan,
            customer_ids=c_ids,
            product_ids=p_ids,
            customers_total=sum(len(t) for t in customer_tables),
            products_total=sum(len(t) for t in product_tables),
            new_customers=n_customers,
            updated_customers=len(updated),
            new_products=n_products,
        )

    assert load is not None, "history holds at least batch 1"
    weight = np.concatenate(weights)
    if weight.sum() == 0:
        weight = np.ones_like(weight)
    refs = References(
        valid_customer_ids=np.concatenate(valid_customers),
        defective_customer_ids=np.concatenate(bad_customers),
        valid_product_ids=np.concatenate(valid_products),
        product_price_cents=np.concatenate(prices),
        product_cdf=np.cumsum(weight) / weight.sum(),
        defective_product_ids=np.concatenate(bad_products),
    )
    if len(refs.valid_customer_ids) == 0 or len(refs.valid_product_ids) == 0:
        from salesoptic.errors import UserError

        raise UserError("Every customer or every product is defective; lower --defect-rate.")
    return refs, load
