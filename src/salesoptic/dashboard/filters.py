"""What the filters are, and which gold table can honour which filter.

Gold tables are aggregated per table: ``daily_sales`` has a date but no country,
``sales_by_country`` a country but no date, and so on. A filter is only applied where the
table has the column; everywhere else the page says the figure is not filtered by it, and
the key figures are taken from the one table that can honour every active filter, or not
shown at all. A filtered figure is therefore never an approximation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DIMENSIONS = ("date", "country", "segment", "channel")

# The filter dimensions each gold table can be restricted by (the columns it has).
FILTERABLE: dict[str, frozenset[str]] = {
    "daily_sales": frozenset({"date"}),
    "sales_by_product": frozenset(),
    "sales_by_category": frozenset(),
    "sales_by_country": frozenset({"country"}),
    "sales_by_segment": frozenset({"segment"}),
    "sales_by_channel": frozenset({"channel"}),
    "customer_value": frozenset({"country", "segment"}),
    "funnel_daily": frozenset({"date"}),
    "service_health_daily": frozenset({"date"}),
    "log_levels_daily": frozenset({"date"}),
    "data_quality": frozenset(),
    "pipeline_runs": frozenset(),
}


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices.

    ``start``/``end`` bound the dates (inclusive); ``sales_first``/``sales_last`` are the
    first and last dates of ``daily_sales``, so a range that covers them all does not
    restrict whole-period sales tables. An empty tuple means every value.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    sales_first: dt.date | None = None
    sales_last: dt.date | None = None
    countries: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @property
    def date_active(self) -> bool:
        """True when the range leaves out some day that has sales."""
        if self.start is None or self.end is None:
            return False
        if self.sales_first is None or self.sales_last is None:
            return True
        return self.start > self.sales_first or self.end < self.sales_last

    @property
    def active(self) -> frozenset[str]:
        """The dimensions that restrict the sales figures."""
        chosen = {
            "date": self.date_active,
            "country": bool(self.countries),
            "segment": bool(self.segments),
            "channel": bool(self.channels),
        }
        return frozenset(dim for dim, on in chosen.items() if on)

    def unapplied(self, table: str) -> list[str]:
        """Active dimensions ``table`` cannot be filtered by, in display order."""
        return [dim for dim in DIMENSIONS if dim in self.active - FILTERABLE[table]]


def kpi_table(filters: Filters) -> str | None:
    """The gold table the key figures come from, or None when none honours every filter.

    ``daily_sales`` serves the whole period or a date range, ``customer_value`` a country
    and/or segment, ``sales_by_channel`` a channel; no gold table has two of these splits.
    """
    active = filters.active
    if active <= {"date"}:
        return "daily_sales"
    if active <= {"country", "segment"}:
        return "customer_value"
    if active == {"channel"}:
        return "sales_by_channel"
    return None
