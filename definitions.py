"""Example code location: assets that do real work on local CSV files, and the jobs of
``job_specs/``.

Buckets are folders under ``data/`` (or under ``$NEXUS_EXAMPLE_DATA``): the ingestion assets
read every CSV in their ``source_bucket`` and write one combined CSV into ``target_bucket``;
``report`` summarises both into a Markdown file there. ``sales_ingestion_asset`` is automated
(``automation_condition``), with the values of ``job_specs/daily_report_job.yaml``, an
``asset_defaults`` spec. ``sales_sample`` takes Dagster's own op
config (a ``dg.Config``) beside its parameters. ``daily_orders`` and ``daily_summary`` are
partitioned by day: each partition reads ``<source_bucket>/<date>.csv``. ``top_sales`` declares
its parameters as a typed model, and the check ``top_sales_has_rows`` reads a threshold of its
own (``job_specs/top_sales_job.yaml`` gives both their values).
"""

import csv
import os
from pathlib import Path

import dagster as dg
from pydantic import Field

from nexus_dagster import NexusParams, build_definitions, nexus_asset, nexus_asset_check


def data_root() -> Path:
    """Where the buckets live: ``$NEXUS_EXAMPLE_DATA``, else ``data/`` beside this file."""
    return Path(os.environ.get("NEXUS_EXAMPLE_DATA") or Path(__file__).parent / "data")


def _read_rows(bucket: str) -> list[dict[str, str]]:
    folder = data_root() / bucket
    if not folder.is_dir():
        raise FileNotFoundError(f"source bucket folder {folder} does not exist")
    rows: list[dict[str, str]] = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def _write_rows(bucket: str, file_name: str, rows: list[dict[str, str]]) -> Path:
    target = data_root() / bucket / file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["empty"])
        writer.writeheader()
        writer.writerows(rows)
    return target


@nexus_asset(
    params={"source_bucket": "string!", "target_bucket": "string!", "batch_size": "int"},
    group_name="ingestion",
    # Declarative automation: every morning, once Dagster's automation condition sensor is
    # turned on (it starts stopped). Its runs carry no run config: the values come from the
    # `asset_defaults: true` spec that selects this asset (job_specs/daily_report_job.yaml).
    automation_condition=dg.AutomationCondition.on_cron("0 6 * * *"),
)
def sales_ingestion_asset(
    context: dg.AssetExecutionContext, params: NexusParams
) -> dg.MaterializeResult:
    """Combine the sales CSV exports found in `source_bucket` into `target_bucket/sales.csv`."""
    values = params.for_asset(context)
    rows = _read_rows(values["source_bucket"])
    batch_size = values.get("batch_size") or len(rows) or 1
    context.log.info(f"{len(rows)} sales rows in batches of {batch_size}")
    target = _write_rows(values["target_bucket"], "sales.csv", rows)
    return dg.MaterializeResult(metadata={"rows": len(rows), "path": str(target)})


@nexus_asset(
    params={"source_bucket": "string!", "target_bucket": "string!"}, group_name="ingestion"
)
def marketing_ingestion_asset(
    context: dg.AssetExecutionContext, params: NexusParams
) -> dg.MaterializeResult:
    """Combine the marketing CSV exports in `source_bucket` into `target_bucket/marketing.csv`."""
    values = params.for_asset(context)
    rows = _read_rows(values["source_bucket"])
    target = _write_rows(values["target_bucket"], "marketing.csv", rows)
    return dg.MaterializeResult(metadata={"rows": len(rows), "path": str(target)})


@nexus_asset(
    params={"min_amount": "float"},
    config={
        "sales_file": "{{ params.target_bucket }}/sales.csv",
        "marketing_file": "{{ params.target_bucket }}/marketing.csv",
        "min_amount": "{{ params.min_amount }}",
        "title": "Sales and marketing report for {{ params.target_bucket }}",
    },
    deps=[sales_ingestion_asset, marketing_ingestion_asset],
    group_name="reporting",
)
def report(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    """Summarise sales above `min_amount` against marketing spend, as Markdown."""
    settings = params.render(context)
    min_amount = settings["min_amount"] or 0.0
    sales = [r for r in _read_csv(settings["sales_file"]) if float(r["amount"]) >= min_amount]
    spend = sum(float(r["spend"]) for r in _read_csv(settings["marketing_file"]))
    revenue = sum(float(r["amount"]) for r in sales)
    text = (
        f"# {settings['title']}\n\n"
        f"- sales rows at or above {min_amount}: {len(sales)}\n"
        f"- revenue: {revenue:.2f}\n- marketing spend: {spend:.2f}\n"
    )
    target = data_root() / Path(settings["sales_file"]).parent / "report.md"
    target.write_text(text)
    return dg.MaterializeResult(
        metadata={"revenue": revenue, "report": dg.MetadataValue.md(text), "path": str(target)}
    )


def _read_csv(relative: str) -> list[dict[str, str]]:
    with (data_root() / relative).open(newline="") as handle:
        return list(csv.DictReader(handle))


class SampleConfig(dg.Config):
    """Dagster's own op config: how many rows the sample keeps."""

    limit: int = 3


@nexus_asset(
    params={"target_bucket": "string!"},
    deps=[sales_ingestion_asset],
    group_name="sampling",
)
def sales_sample(
    context: dg.AssetExecutionContext, config: SampleConfig, params: NexusParams
) -> dg.MaterializeResult:
    """The first `limit` rows (op config) of `target_bucket/sales.csv` (a parameter)."""
    bucket = params.for_asset(context)["target_bucket"]
    rows = _read_csv(f"{bucket}/sales.csv")[: config.limit]
    target = _write_rows(bucket, "sales_sample.csv", rows)
    return dg.MaterializeResult(metadata={"rows": len(rows), "path": str(target)})


daily = dg.DailyPartitionsDefinition(start_date="2026-11-01")


@nexus_asset(
    params={"source_bucket": "string!", "target_bucket": "string!"},
    config={
        "input": "{{ params.source_bucket }}/{{ partition.key }}.csv",
        "output": "{{ params.target_bucket }}/orders/{{ partition.key }}.csv",
    },
    partitions_def=daily,
    group_name="daily",
)
def daily_orders(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    """One day's orders: `<source_bucket>/<date>.csv` copied into `target_bucket/orders/`."""
    settings = params.render(context)
    rows = _read_csv(settings["input"])
    target = _write_rows(str(Path(settings["output"]).parent), Path(settings["output"]).name, rows)
    return dg.MaterializeResult(metadata={"rows": len(rows), "path": str(target)})


@nexus_asset(
    params={"min_amount": "float"},
    config={
        "input": "{{ params.target_bucket }}/orders/{{ partition.key }}.csv",
        "min_amount": "{{ params.min_amount }}",
        "title": "Orders from {{ partition.start }} to {{ partition.end }}",
    },
    partitions_def=daily,
    deps=[daily_orders],
    group_name="daily",
)
def daily_summary(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    """One day's revenue from orders at or above `min_amount`, as Markdown."""
    settings = params.render(context)
    min_amount = settings["min_amount"] or 0.0
    orders = [r for r in _read_csv(settings["input"]) if float(r["amount"]) >= min_amount]
    revenue = sum(float(r["amount"]) for r in orders)
    text = f"# {settings['title']}\n\n- orders: {len(orders)}\n- revenue: {revenue:.2f}\n"
    target = data_root() / Path(settings["input"]).with_suffix(".md")
    target.write_text(text)
    return dg.MaterializeResult(metadata={"revenue": revenue, "report": dg.MetadataValue.md(text)})


class TopSalesParams(dg.Config):
    """Typed parameters: each field is a parameter of `top_sales`, checked by pydantic."""

    target_bucket: str = Field(description="Folder holding sales.csv; the top rows go there too")
    top_n: int = Field(5, gt=0, description="How many of the largest sales to keep")
    min_amount: float = Field(0.0, ge=0, description="Sales below this amount are left out")


@nexus_asset(params=TopSalesParams, deps=[sales_ingestion_asset], group_name="analysis")
def top_sales(context: dg.AssetExecutionContext, params: NexusParams) -> dg.MaterializeResult:
    """The `top_n` largest sales of `target_bucket/sales.csv` at or above `min_amount`."""
    chosen = params.for_asset(context, model=TopSalesParams)
    rows = [r for r in _read_csv(f"{chosen.target_bucket}/sales.csv")]
    rows = [r for r in rows if float(r["amount"]) >= chosen.min_amount]
    rows.sort(key=lambda r: float(r["amount"]), reverse=True)
    target = _write_rows(chosen.target_bucket, "top_sales.csv", rows[: chosen.top_n])
    return dg.MaterializeResult(metadata={"rows": len(rows[: chosen.top_n]), "path": str(target)})


@nexus_asset_check(
    asset=top_sales,
    params={"min_rows": "int", "target_bucket": "string!"},
    blocking=True,
    description="`top_sales` wrote at least `min_rows` rows (a parameter of the check)",
)
def top_sales_has_rows(
    context: dg.AssetCheckExecutionContext, params: NexusParams
) -> dg.AssetCheckResult:
    """Fails when the top sales file holds fewer than `min_rows` rows."""
    values = params.for_asset(context)
    rows = len(_read_csv(f"{values['target_bucket']}/top_sales.csv"))
    return dg.AssetCheckResult(passed=rows >= values.get("min_rows", 1), metadata={"rows": rows})


defs = build_definitions(
    "job_specs",
    assets=[
        sales_ingestion_asset,
        marketing_ingestion_asset,
        report,
        sales_sample,
        daily_orders,
        daily_summary,
        top_sales,
    ],
    asset_checks=[top_sales_has_rows],
)
