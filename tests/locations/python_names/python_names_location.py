"""A code location with a job, a schedule and a sensor written in Python, given to
``build_definitions`` beside the specs of ``$NEXUS_SPECS_DIR`` (``$NEXUS_ON_SPEC_ERROR``:
``raise``, the default, or ``isolate``): a spec may not take their names."""

import os

import dagster as dg

from nexus_dagster import NexusParams, build_definitions, nexus_asset


@nexus_asset(params={"source_bucket": "string!"})
def sales(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    params.for_asset(context)


sales_job = dg.define_asset_job("sales_job", selection=[sales])
nightly = dg.ScheduleDefinition(name="nightly", cron_schedule="0 1 * * *", job=sales_job)


@dg.sensor(name="drops", job=sales_job)
def drops(context: dg.SensorEvaluationContext) -> None:
    return None


defs = build_definitions(
    os.environ["NEXUS_SPECS_DIR"],
    assets=[sales],
    jobs=[sales_job],
    schedules=[nightly],
    sensors=[drops],
    on_spec_error=os.environ.get("NEXUS_ON_SPEC_ERROR", "raise"),  # type: ignore[arg-type]
)
