"""A code location with a secret parameter, for the command line's tests."""

import dagster as dg

from nexus_dagster import NexusParams, build_definitions, nexus_asset


@nexus_asset(
    params={"api_key": "secret!", "region": "string"},
    config={"url": "https://{{ params.region }}.vault.example", "key": "{{ params.api_key }}"},
)
def vault_reader(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    """Reads with a key it never logs."""
    params.render(context)


defs = build_definitions("specs", assets=[vault_reader])
