"""A code location whose asset is automated every minute by a running automation condition
sensor, with its values from an `asset_defaults` spec: declarative automation's runs carry no
run config at all."""

import json
import os
from pathlib import Path

import dagster as dg

from nexus_dagster import NexusParams, build_definitions, nexus_asset


@nexus_asset(
    params={"bucket": "string!", "n": "int"},
    config={"uri": "s3://{{ params.bucket }}/ticks/{{ params.n }}"},
    automation_condition=dg.AutomationCondition.on_cron("* * * * *"),
)
def ticked(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    out = Path(os.environ["PROBE_OUT"])
    out.mkdir(parents=True, exist_ok=True)
    (out / f"ticked-{context.run_id}.json").write_text(json.dumps(params.render(context)))


automation = dg.AutomationConditionSensorDefinition(
    "nexus_automation",
    target=dg.AssetSelection.assets(ticked),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=10,
)

defs = build_definitions(
    Path(os.environ["NEXUS_TEST_SPECS"]), assets=[ticked], sensors=[automation]
)
