"""A code location whose asset is automated by a running automation condition sensor, with its
values from an `asset_defaults` spec: declarative automation's runs carry no run config at all.

The asset's condition is true for as long as it was never materialized and no run of it is in
progress, so the sensor requests a run at its first evaluation, once `dagster dev`'s daemon has
loaded the location, with no clock to wait for; the sensor evaluates every few seconds."""

import json
import os
from pathlib import Path

import dagster as dg

from nexus_dagster import NexusParams, build_definitions, nexus_asset


@nexus_asset(
    params={"bucket": "string!", "n": "int"},
    config={"uri": "s3://{{ params.bucket }}/ticks/{{ params.n }}"},
    automation_condition=dg.AutomationCondition.missing() & ~dg.AutomationCondition.in_progress(),
)
def ticked(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    out = Path(os.environ["PROBE_OUT"])
    out.mkdir(parents=True, exist_ok=True)
    (out / f"ticked-{context.run_id}.json").write_text(json.dumps(params.render(context)))


automation = dg.AutomationConditionSensorDefinition(
    "nexus_automation",
    target=dg.AssetSelection.assets(ticked),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=5,
)

defs = build_definitions(
    Path(os.environ["NEXUS_TEST_SPECS"]), assets=[ticked], sensors=[automation]
)
