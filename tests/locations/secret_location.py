"""A code location whose assets read a secret parameter, for the tests that search every byte
Dagster stores for the secret's value."""

import hashlib
import json
import os
from pathlib import Path

import dagster as dg

from nexus_dagster import NexusParams, build_definitions, nexus_asset


@nexus_asset(
    params={"api_token": "secret!", "region": "string"},
    config={"auth": "Bearer {{ params.api_token }}", "region": "{{params.region}}"},
)
def fetch_orders(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    values = params.for_asset(context)
    settings = params.render(context)
    context.log.info(f"fetching orders for region {values.get('region')}")
    # Prove the value arrived without writing it anywhere: only its digest leaves the step.
    digest = hashlib.sha256(values["api_token"].encode()).hexdigest()
    assert settings["auth"] == f"Bearer {values['api_token']}"
    out = Path(os.environ["PROBE_OUT"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "fetch_orders.json").write_text(json.dumps({"sha256": digest}))


defs = build_definitions("secret_specs", assets=[fetch_orders])
