"""English and French: the dashboard's words, and numbers and dates written for each language.

Formatting is done here rather than with the browser's locale so that the language switch
decides it, not the viewer's machine. French follows CLDR: a narrow no-break space groups
thousands, a comma marks decimals, a no-break space precedes ``€`` and ``%``, dates are
``dd/mm/yyyy``. English groups with commas and writes dates as ISO ``yyyy-mm-dd``, which
no reader can mistake for another day.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from salesoptic.contracts.reasons import EXPLANATIONS, Reason

Lang = Literal["en", "fr"]
LANGUAGES: dict[Lang, str] = {"en": "English", "fr": "Français"}
DEFAULT_LANG: Lang = "en"

# Gold stores money as decimal(18,2) without a currency; sales are shown in euros.
CURRENCY = "€"

NNBSP = "\u202f"  # narrow no-break space: French thousands separator
NBSP = "\u00a0"  # no-break space: before a French unit sign
MISSING = "—"

STRINGS: dict[str, dict[Lang, str]] = {
    "title": {"en": "SalesOptic", "fr": "SalesOptic"},
    "subtitle": {
        "en": "Retail sales analytics from the medallion pipeline",
        "fr": "Analyse des ventes issue du pipeline médaillon",
    },
    "language": {"en": "Language", "fr": "Langue"},
    "filters": {"en": "Filters", "fr": "Filtres"},
    "date_range": {"en": "Date range", "fr": "Période"},
    "country": {"en": "Country", "fr": "Pays"},
    "segment": {"en": "Segment", "fr": "Segment"},
    "channel": {"en": "Channel", "fr": "Canal"},
    "dim_date": {"en": "date range", "fr": "période"},
    "dim_country": {"en": "country", "fr": "pays"},
    "dim_segment": {"en": "segment", "fr": "segment"},
    "dim_channel": {"en": "channel", "fr": "canal"},
    "all": {"en": "All", "fr": "Tous"},
    "refresh": {"en": "Reload data", "fr": "Recharger les données"},
    "gold_version": {"en": "Gold version: {version}", "fr": "Version gold : {version}"},
    "data_dir": {"en": "Data directory: {path}", "fr": "Répertoire de données : {path}"},
    "tab_business": {"en": "Business", "fr": "Activité"},
    "tab_quality": {"en": "Data quality", "fr": "Qualité des données"},
    "tab_operations": {"en": "Operations", "fr": "Exploitation"},
    "tab_architecture": {"en": "Architecture", "fr": "Architecture"},
    # Empty states.
    "no_data_dir": {
        "en": "The data directory {path} does not exist yet. Generate sources and run the "
        "pipeline: `salesoptic generate` then `salesoptic run` (or `make demo`).",
        "fr": "Le répertoire de données {path} n'existe pas encore. Générez des sources puis "
        "lancez le pipeline : `salesoptic generate` puis `salesoptic run` (ou `make demo`).",
    },
    "no_gold": {
        "en": "No gold tables yet: the pipeline has not published any. Run `salesoptic run` "
        "(or `make demo` for generated data), then reload this page.",
        "fr": "Pas encore de tables gold : le pipeline n'en a publié aucune. Lancez "
        "`salesoptic run` (ou `make demo` pour des données générées), puis rechargez la page.",
    },
    "no_table": {
        "en": "The gold table `{table}` is not in this gold version. Run `salesoptic run` to "
        "publish it.",
        "fr": "La table gold `{table}` n'est pas dans cette version gold. Lancez "
        "`salesoptic run` pour la publier.",
    },
    "no_rows": {
        "en": "No rows for the current filters.",
        "fr": "Aucune ligne pour les filtres actuels.",
    },
    "filters_need_gold": {
        "en": "Filters appear once gold tables exist.",
        "fr": "Les filtres apparaissent quand les tables gold existent.",
    },
    "no_runs": {
        "en": "No pipeline run recorded yet. Run `salesoptic run` (or `make demo`).",
        "fr": "Aucune exécution du pipeline enregistrée. Lancez `salesoptic run` (ou `make demo`).",
    },
    "no_quality": {
        "en": "No data-quality accounting yet: it is written by the silver stage of "
        "`salesoptic run`.",
        "fr": "Pas encore de bilan qualité : il est écrit par l'étape silver de `salesoptic run`.",
    },
    "empty_quarantine": {
        "en": "The quarantine is empty: every record passed its contract. New rejects "
        "appear here after the next `salesoptic run`; `salesoptic generate --defect-rate "
        "0.05` writes sources with injected defects to see it at work.",
        "fr": "La quarantaine est vide : chaque enregistrement a respecté son contrat. Les "
        "nouveaux rejets apparaîtront après le prochain `salesoptic run` ; `salesoptic "
        "generate --defect-rate 0.05` écrit des sources avec des défauts injectés.",
    },
    # Filter notes.
    "not_filtered": {
        "en": "Not filtered by {dims}: the gold table `{table}` has no such split, so these "
        "figures cover all values.",
        "fr": "Non filtré par {dims} : la table gold `{table}` n'a pas cette ventilation, ces "
        "chiffres couvrent donc toutes les valeurs.",
    },
    "filters_not_applicable": {
        "en": "The date, country, segment and channel filters do not apply here: {why}",
        "fr": "Les filtres période, pays, segment et canal ne s'appliquent pas ici : {why}",
    },
    "why_quality": {
        "en": "quality is counted per run and dataset.",
        "fr": "la qualité est comptée par exécution et par jeu de données.",
    },
    "why_runs": {
        "en": "runs are listed by when they ran, not by the dates of the data.",
        "fr": "les exécutions sont listées par date d'exécution, pas par date des données.",
    },
    "filters_date_only": {
        "en": "Only the date range applies here: logs carry no country, segment or channel.",
        "fr": "Seule la période s'applique ici : les journaux n'ont ni pays, ni segment, ni canal.",
    },
    # Business.
    "kpis": {"en": "Key figures", "fr": "Chiffres clés"},
    "revenue": {"en": "Revenue", "fr": "Chiffre d'affaires"},
    "orders": {"en": "Orders", "fr": "Commandes"},
    "units": {"en": "Units", "fr": "Unités"},
    "aov": {"en": "Average order value", "fr": "Panier moyen"},
    "customers": {"en": "Customers", "fr": "Clients"},
    "kpi_source": {
        "en": "Computed from `{table}`{applied}.",
        "fr": "Calculé à partir de `{table}`{applied}.",
    },
    "kpi_applied": {"en": ", filtered by {dims}", "fr": ", filtré par {dims}"},
    "kpi_none": {
        "en": "No gold table holds sales split by {dims} together, so the key figures "
        "cannot be computed for this combination. Clear one of these filters.",
        "fr": "Aucune table gold ne ventile les ventes par {dims} à la fois : les chiffres "
        "clés ne peuvent pas être calculés pour cette combinaison. Retirez un de ces filtres.",
    },
    "kpi_missing_customers_range": {
        "en": "Distinct customers over part of the date range are not in gold (daily "
        "counts cannot be added up: a customer may buy on several days).",
        "fr": "Le nombre de clients distincts sur une partie de la période n'est pas dans "
        "gold (les comptes journaliers ne s'additionnent pas : un client peut acheter "
        "plusieurs jours).",
    },
    "kpi_missing_units": {
        "en": "Units by segment are not in gold (`customer_value` and `sales_by_segment` "
        "have no units).",
        "fr": "Les unités par segment ne sont pas dans gold (`customer_value` et "
        "`sales_by_segment` n'ont pas d'unités).",
    },
    "kpi_missing_customers_channel": {
        "en": "Customers by channel are not in gold (`sales_by_channel` has no customers).",
        "fr": "Les clients par canal ne sont pas dans gold (`sales_by_channel` n'a pas de "
        "clients).",
    },
    "kpi_missing_combination": {
        "en": "Not available for this combination of filters.",
        "fr": "Indisponible pour cette combinaison de filtres.",
    },
    "trend": {"en": "Daily revenue and orders", "fr": "Chiffre d'affaires et commandes par jour"},
    "products": {"en": "Top products by revenue", "fr": "Meilleurs produits (chiffre d'affaires)"},
    "top_n": {"en": "How many", "fr": "Combien"},
    "revenue_by": {"en": "Revenue by", "fr": "Chiffre d'affaires par"},
    "by_product": {"en": "Product", "fr": "Produit"},
    "by_category": {"en": "Category", "fr": "Catégorie"},
    "by_country": {"en": "Country", "fr": "Pays"},
    "by_segment": {"en": "Segment", "fr": "Segment"},
    "by_channel": {"en": "Channel", "fr": "Canal"},
    "categories": {"en": "Revenue by category", "fr": "Chiffre d'affaires par catégorie"},
    "countries": {"en": "Revenue by country", "fr": "Chiffre d'affaires par pays"},
    "segments": {"en": "Revenue by segment", "fr": "Chiffre d'affaires par segment"},
    "channels": {"en": "Revenue by channel", "fr": "Chiffre d'affaires par canal"},
    "top_customers": {"en": "Top customers", "fr": "Meilleurs clients"},
    "funnel": {"en": "Session funnel", "fr": "Entonnoir des sessions"},
    "funnel_note": {
        "en": "Sessions are counted per day: a session active on two days counts on each.",
        "fr": "Les sessions sont comptées par jour : une session active deux jours compte "
        "pour chacun.",
    },
    "sessions": {"en": "Sessions", "fr": "Sessions"},
    "step_view": {"en": "Viewed a product", "fr": "Produit vu"},
    "step_cart": {"en": "Added to cart", "fr": "Ajout au panier"},
    "step_purchase": {"en": "Purchased", "fr": "Achat"},
    "view_to_cart": {"en": "View → cart", "fr": "Vue → panier"},
    "cart_to_purchase": {"en": "Cart → purchase", "fr": "Panier → achat"},
    "conversion": {"en": "Conversion (view → purchase)", "fr": "Conversion (vue → achat)"},
    "download": {"en": "Download CSV", "fr": "Télécharger en CSV"},
    # Data quality.
    "health": {"en": "Health rate (valid / total)", "fr": "Taux de santé (valides / total)"},
    "health_help": {
        "en": "{valid} valid of {total} records. Facts: every run; dimensions: the latest "
        "snapshot.",
        "fr": "{valid} valides sur {total} enregistrements. Faits : toutes les exécutions ; "
        "dimensions : le dernier instantané.",
    },
    "quarantine_by_reason": {
        "en": "Quarantine by dataset and reason",
        "fr": "Quarantaine par jeu de données et motif",
    },
    "reason_note": {
        "en": "A record failing two rules counts under both reasons.",
        "fr": "Un enregistrement qui enfreint deux règles compte pour les deux motifs.",
    },
    "sample": {"en": "Sample of quarantined rows", "fr": "Échantillon de lignes en quarantaine"},
    "dataset": {"en": "Dataset", "fr": "Jeu de données"},
    "reason": {"en": "Reason", "fr": "Motif"},
    "any_reason": {"en": "Any reason", "fr": "Tous les motifs"},
    "sample_count": {
        "en": "Showing {shown} of {total} quarantined rows of `{dataset}`.",
        "fr": "{shown} lignes affichées sur {total} en quarantaine pour `{dataset}`.",
    },
    "quality_trend": {"en": "Quality across runs", "fr": "Qualité au fil des exécutions"},
    "rows_quarantined": {"en": "Rows quarantined", "fr": "Lignes en quarantaine"},
    "explanation": {"en": "Explanation", "fr": "Explication"},
    # Operations.
    "runs": {"en": "Pipeline runs", "fr": "Exécutions du pipeline"},
    "stage_durations": {
        "en": "Duration per stage (seconds)",
        "fr": "Durée par étape (secondes)",
    },
    "stage_rows": {"en": "Stages: rows in and out", "fr": "Étapes : lignes en entrée et sortie"},
    "service_health": {"en": "Service health", "fr": "Santé des services"},
    "error_rate": {"en": "Error rate", "fr": "Taux d'erreur"},
    "latency": {"en": "Latency (ms)", "fr": "Latence (ms)"},
    "service": {"en": "Service", "fr": "Service"},
    "log_levels": {"en": "Log levels", "fr": "Niveaux de journal"},
    "lines": {"en": "Lines", "fr": "Lignes"},
    "runs_source_gold": {
        "en": "No run records under `_state/runs`; showing the gold table `pipeline_runs`.",
        "fr": "Aucun enregistrement sous `_state/runs` ; affichage de la table gold "
        "`pipeline_runs`.",
    },
    # Architecture.
    "architecture": {"en": "Medallion flow", "fr": "Flux médaillon"},
    "arch_run": {
        "en": "Row counts of run {run_id} ({status}); gold counts are the published tables.",
        "fr": "Nombres de lignes de l'exécution {run_id} ({status}) ; les comptes gold sont "
        "ceux des tables publiées.",
    },
    "arch_no_run": {
        "en": "No run recorded yet: the diagram shows the zones without counts.",
        "fr": "Aucune exécution enregistrée : le schéma montre les zones sans comptes.",
    },
    "zone_sources": {"en": "Sources", "fr": "Sources"},
    "zone_bronze": {"en": "Bronze (raw)", "fr": "Bronze (brut)"},
    "zone_silver": {"en": "Silver (valid)", "fr": "Silver (valide)"},
    "zone_quarantine": {"en": "Quarantine", "fr": "Quarantaine"},
    "zone_gold": {"en": "Gold (KPI tables)", "fr": "Gold (tables d'indicateurs)"},
    "zone_dashboard": {"en": "Dashboard", "fr": "Tableau de bord"},
    "rows": {"en": "rows", "fr": "lignes"},
    "table": {"en": "Table", "fr": "Table"},
    "zone": {"en": "Zone", "fr": "Zone"},
    # Column headers of the tables shown.
    "col_run_id": {"en": "Run", "fr": "Exécution"},
    "col_status": {"en": "Status", "fr": "Statut"},
    "col_started_at": {"en": "Started (UTC)", "fr": "Début (UTC)"},
    "col_finished_at": {"en": "Finished (UTC)", "fr": "Fin (UTC)"},
    "col_duration_s": {"en": "Seconds", "fr": "Secondes"},
    "col_error": {"en": "Error", "fr": "Erreur"},
    "col_stage": {"en": "Stage", "fr": "Étape"},
    "col_rows_in": {"en": "Rows in", "fr": "Lignes en entrée"},
    "col_rows_out": {"en": "Rows out", "fr": "Lignes en sortie"},
    "col_rows_valid": {"en": "Valid", "fr": "Valides"},
    "col_quarantined": {"en": "Quarantined", "fr": "En quarantaine"},
    "col_health_rate": {"en": "Health rate", "fr": "Taux de santé"},
    "col_name": {"en": "Name", "fr": "Nom"},
    "col_reason_rows": {"en": "Rows", "fr": "Lignes"},
    "col_reasons": {"en": "Reasons", "fr": "Motifs"},
    "col_date": {"en": "Date", "fr": "Date"},
    "col_customer_id": {"en": "Customer", "fr": "Client"},
    "col_product_id": {"en": "Product", "fr": "Produit"},
    "col_product_name": {"en": "Product name", "fr": "Nom du produit"},
    "col_category": {"en": "Category", "fr": "Catégorie"},
    "col_first_order_at": {"en": "First order (UTC)", "fr": "Première commande (UTC)"},
    "col_last_order_at": {"en": "Last order (UTC)", "fr": "Dernière commande (UTC)"},
    "col_avg_order_value": {"en": "Average order value", "fr": "Panier moyen"},
    "col_revenue_share": {"en": "Share of revenue", "fr": "Part du chiffre d'affaires"},
    "col_sessions_view": {"en": "With a view", "fr": "Avec une vue"},
    "col_sessions_cart": {"en": "With a cart", "fr": "Avec un panier"},
    "col_sessions_purchase": {"en": "With a purchase", "fr": "Avec un achat"},
    "col_view_to_cart_rate": {"en": "View → cart", "fr": "Vue → panier"},
    "col_cart_to_purchase_rate": {"en": "Cart → purchase", "fr": "Panier → achat"},
    "col_conversion_rate": {"en": "Conversion", "fr": "Conversion"},
    "col_level": {"en": "Level", "fr": "Niveau"},
    "col_step": {"en": "Step", "fr": "Étape"},
    "col_share_of_first_step": {"en": "Share of the first step", "fr": "Part de la première étape"},
    "col_percentile": {"en": "Percentile", "fr": "Centile"},
    "col_errors": {"en": "Errors", "fr": "Erreurs"},
    "col_p50_latency_ms": {"en": "p50 latency (ms)", "fr": "Latence p50 (ms)"},
    "col_p95_latency_ms": {"en": "p95 latency (ms)", "fr": "Latence p95 (ms)"},
    "col_rows": {"en": "Rows", "fr": "Lignes"},
    "status_succeeded": {"en": "succeeded", "fr": "réussie"},
    "status_failed": {"en": "failed", "fr": "échouée"},
    "status_running": {"en": "running", "fr": "en cours"},
}

# French wording of the reason codes; English comes from the contract itself.
FRENCH_EXPLANATIONS: dict[Reason, str] = {
    Reason.MALFORMED_ROW: "La ligne CSV n'a pas le même nombre de champs que l'en-tête du fichier.",
    Reason.MALFORMED_JSON: "La ligne n'est pas un objet JSON.",
    Reason.MALFORMED_LINE: "La ligne de journal ne suit pas le format des journaux.",
    Reason.MISSING_TRANSACTION_ID: "L'identifiant de transaction est vide ou absent.",
    Reason.MISSING_EVENT_ID: "L'identifiant d'événement est vide ou absent.",
    Reason.INVALID_TIMESTAMP: "L'horodatage n'est pas une date-heure réelle au format exact "
    "de la source.",
    Reason.FUTURE_TIMESTAMP: "L'horodatage est postérieur au moment de l'ingestion.",
    Reason.MISSING_CUSTOMER_ID: "L'identifiant client est vide ou absent.",
    Reason.MISSING_PRODUCT_ID: "L'identifiant produit est vide ou absent.",
    Reason.MISSING_USER_ID: "L'identifiant utilisateur est vide ou absent.",
    Reason.INVALID_QUANTITY: "La quantité n'est pas un nombre entier supérieur à zéro.",
    Reason.INVALID_PRICE: "Le prix n'est pas un décimal positif avec au plus deux décimales.",
    Reason.INVALID_CHANNEL: "Le canal n'est pas l'un de web, store, mobile.",
    Reason.INVALID_DEVICE: "L'appareil n'est pas l'un de desktop, mobile, tablet.",
    Reason.UNKNOWN_EVENT_TYPE: "Le type d'événement n'est pas une étape de l'entonnoir.",
    Reason.UNKNOWN_LEVEL: "Le niveau de journal n'est pas l'un de DEBUG, INFO, WARN, ERROR.",
    Reason.UNKNOWN_CUSTOMER: "La vente désigne un client absent des clients valides.",
    Reason.UNKNOWN_PRODUCT: "La vente désigne un produit absent des produits valides.",
    Reason.MISSING_NAME: "Le nom est vide ou absent.",
    Reason.INVALID_EMAIL: "L'e-mail n'est pas de la forme local@domaine.tld.",
    Reason.MISSING_COUNTRY: "Le pays est vide ou absent.",
    Reason.INVALID_SEGMENT: "Le segment n'est pas l'un de Standard, Premium, Business.",
    Reason.MISSING_CATEGORY: "La catégorie est vide ou absente.",
    Reason.DUPLICATE: "Un autre enregistrement avec la même clé métier a été conservé.",
}


def t(lang: Lang, key: str, **values: object) -> str:
    """The text ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``."""
    text = STRINGS[key][lang]
    return text.format(**values) if values else text


def header(lang: Lang, column: str) -> str:
    """The heading of a table column: its ``col_`` text, else its plain text, else itself."""
    for key in (f"col_{column}", column):
        if key in STRINGS:
            return STRINGS[key][lang]
    return column


def explain(lang: Lang, code: str | None) -> str:
    """Plain-language meaning of a reason code; an unknown code is shown as is."""
    try:
        reason = Reason(code)
    except ValueError:
        return str(code)
    return FRENCH_EXPLANATIONS[reason] if lang == "fr" else EXPLANATIONS[reason]


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


def fmt_number(lang: Lang, value: float | int | Decimal | None, decimals: int = 0) -> str:
    """``1,234,567.89`` in English, ``1 234 567,89`` in French; ``—`` for no value."""
    if value is None:
        return MISSING
    quantum = Decimal(1).scaleb(-decimals)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    grouped = _group(whole, "," if lang == "en" else NNBSP)
    if decimals:
        grouped += ("." if lang == "en" else ",") + fraction
    return sign + grouped


def fmt_int(lang: Lang, value: int | float | None) -> str:
    return fmt_number(lang, value, 0)


def fmt_money(lang: Lang, value: Decimal | float | None) -> str:
    """``€1,234.50`` in English, ``1 234,50 €`` in French."""
    if value is None:
        return MISSING
    number = fmt_number(lang, value, 2)
    if lang == "fr":
        return f"{number}{NBSP}{CURRENCY}"
    return f"-{CURRENCY}{number[1:]}" if number.startswith("-") else f"{CURRENCY}{number}"


def fmt_pct(lang: Lang, fraction: float | None, decimals: int = 1) -> str:
    """A fraction as a percentage: ``12.5%`` in English, ``12,5 %`` in French."""
    if fraction is None:
        return MISSING
    number = fmt_number(lang, fraction * 100, decimals)
    return f"{number}{NBSP}%" if lang == "fr" else f"{number}%"


def fmt_date(lang: Lang, value: dt.date | None) -> str:
    if value is None:
        return MISSING
    return value.strftime("%d/%m/%Y" if lang == "fr" else "%Y-%m-%d")


def date_input_format(lang: Lang) -> str:
    """The ``st.date_input`` format string matching ``fmt_date``."""
    return "DD/MM/YYYY" if lang == "fr" else "YYYY-MM-DD"


def vega_locale(lang: Lang) -> dict[str, object]:
    """Vega's number locale: the decimal mark and thousands separator of ``fmt_number``.

    Vega requires a currency; charts never format one, so it is left empty.
    """
    decimal, thousands = (",", NNBSP) if lang == "fr" else (".", ",")
    return {
        "number": {
            "decimal": decimal,
            "thousands": thousands,
            "grouping": [3],
            "currency": ["", ""],
        }
    }


def status_label(lang: Lang, status: str | None) -> str:
    key = f"status_{status}"
    return t(lang, key) if key in STRINGS else str(status or MISSING)
