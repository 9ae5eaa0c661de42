"""Checked by mypy in `make test`, never run: what a type checker sees of typed parameters
(docs: parameters.md, "Typed parameters"). A wrong type here fails `make test`."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from typing_extensions import assert_type

from nexus_dagster import NexusParams, nexus_asset


class Ingest(dg.Config):
    source_bucket: str
    batch_size: int = 500


@nexus_asset(params=Ingest)
def typed(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    chosen = params.for_asset(context, model=Ingest)
    assert_type(chosen, Ingest)
    assert_type(chosen.batch_size, int)


@nexus_asset(params={"source_bucket": "string!"})
def mapped(context: dg.AssetExecutionContext, params: NexusParams) -> None:
    values: Mapping[str, Any] = params.for_asset(context)
    assert_type(params.for_asset(context, "mapped", model=Ingest), Ingest)
    del values
