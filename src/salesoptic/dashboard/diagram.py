"""The medallion flow as a Graphviz (DOT) graph, labelled with real row counts.

Node names are fixed identifiers; labels are built from dataset and table names of the
contracts and from counts, and are still quoted and escaped, so a label can never end
the DOT string or inject attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from salesoptic.contracts.reasons import DATASETS

SOURCE_KIND = {
    "sales": "CSV",
    "events": "JSON",
    "logs": "log",
    "customers": "PostgreSQL",
    "products": "PostgreSQL",
}
# Which silver datasets feed which gold tables (DESIGN section 6).
GOLD_INPUTS: dict[str, tuple[str, ...]] = {
    "daily_sales": ("sales",),
    "sales_by_product": ("sales", "products"),
    "sales_by_category": ("sales", "products"),
    "sales_by_country": ("sales", "customers"),
    "sales_by_segment": ("sales", "customers"),
    "sales_by_channel": ("sales",),
    "customer_value": ("sales", "customers"),
    "funnel_daily": ("events",),
    "service_health_daily": ("logs",),
    "log_levels_daily": ("logs",),
    "data_quality": (),
    "pipeline_runs": (),
}


@dataclass(frozen=True)
class FlowCounts:
    """Rows per dataset at each zone of one run, and rows per published gold table."""

    source: Mapping[str, int | None]
    bronze: Mapping[str, int | None]
    silver: Mapping[str, int | None]
    quarantine: Mapping[str, int | None]
    gold: Mapping[str, int | None]


def _quote(text: str) -> str:
    """A DOT string; a newline in ``text`` becomes a centred line break."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def flow_dot(
    counts: FlowCounts,
    zones: Mapping[str, str],
    fmt: Callable[[int | None], str],
    rows: str,
) -> str:
    """DOT text: sources → bronze → silver / quarantine → gold → dashboard.

    ``zones`` holds the cluster titles (``sources``, ``bronze``, ``silver``,
    ``quarantine``, ``gold``, ``dashboard``) in the page's language; ``fmt`` formats a count.
    """

    def node(node_id: str, name: str, count: int | None, shape: str, fill: str) -> str:
        label = _quote(name) if count is None else _quote(f"{name}\n{fmt(count)} {rows}")
        return f'  {node_id} [label={label}, shape={shape}, style="filled", fillcolor="{fill}"];'

    def cluster(name: str, title: str, body: list[str], colour: str) -> list[str]:
        return [
            f"  subgraph cluster_{name} {{",
            f"    label={_quote(title)}; color={_quote(colour)}; fontname=Helvetica;",
            *body,
            "  }",
        ]

    lines = [
        "digraph medallion {",
        "  rankdir=LR; nodesep=0.15; ranksep=0.6;",
        '  node [fontname=Helvetica, fontsize=10, color="#555555"];',
        '  edge [color="#888888"];',
    ]
    lines += cluster(
        "sources",
        zones["sources"],
        [
            node(f"src_{d}", f"{d} ({SOURCE_KIND[d]})", counts.source.get(d), "note", "#f3f3f3")
            for d in DATASETS
        ],
        "#999999",
    )
    lines += cluster(
        "bronze",
        zones["bronze"],
        [node(f"bronze_{d}", d, counts.bronze.get(d), "cylinder", "#e8c9a0") for d in DATASETS],
        "#b08040",
    )
    lines += cluster(
        "silver",
        zones["silver"],
        [node(f"silver_{d}", d, counts.silver.get(d), "cylinder", "#dde3ea") for d in DATASETS],
        "#708090",
    )
    lines += cluster(
        "quarantine",
        zones["quarantine"],
        [node(f"q_{d}", d, counts.quarantine.get(d), "cylinder", "#f4c7c3") for d in DATASETS],
        "#c0392b",
    )
    lines += cluster(
        "gold",
        zones["gold"],
        [node(f"gold_{t}", t, counts.gold.get(t), "box", "#f7e08a") for t in GOLD_INPUTS],
        "#b7950b",
    )
    lines.append(node("dashboard", zones["dashboard"], None, "component", "#cfe8cf"))
    for d in DATASETS:
        lines.append(f"  src_{d} -> bronze_{d};")
        lines.append(f"  bronze_{d} -> silver_{d};")
        lines.append(f'  bronze_{d} -> q_{d} [style=dashed, color="#c0392b"];')
    for table, inputs in GOLD_INPUTS.items():
        for d in inputs:
            lines.append(f"  silver_{d} -> gold_{table};")
        lines.append(f"  gold_{table} -> dashboard;")
    lines.append("}")
    return "\n".join(lines)
