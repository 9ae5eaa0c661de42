"""What a run records (docs: ``runs.md``, "What a run records"): on each materialization, and
on each check's result, the values its asset or check resolved, where each came from and the
field that supplied it; ``nexus-dagster runs`` and ``diff`` read them back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from nexus_dagster.asset_defaults import DefaultsSpec
from nexus_dagster.asset_page import VALUES_KEY, values_table
from nexus_dagster.compat import partition_key_of
from nexus_dagster.contexts import AssetContext, Target, keep_check_record, op_context_of
from nexus_dagster.param_types import ParamType
from nexus_dagster.resolution import Resolved

METADATA_KEY = "nexus/params"
"""Materialization metadata: each resolved value, its source and the field that supplied it."""
PARTITION_METADATA_KEY = "nexus/partition"
"""Materialization metadata of a partitioned asset: the run's partition key."""
SPEC_METADATA_KEY = "nexus/spec"
"""Materialization metadata of a run outside spec jobs: the ``asset_defaults`` spec whose
values the asset resolved."""


def record_values(
    context: AssetContext,
    target: Target,
    declared: Mapping[str, ParamType],
    resolved: Mapping[str, Resolved],
    spec: DefaultsSpec | None,
) -> None:
    """Put the values ``target`` resolved, each with its source and field, on its
    materialization (or its check's result), so that the asset's page answers "which parameters
    produced this?"."""
    # The materialization answers "which parameters produced this?" in the asset's UI page.
    # A secret is recorded by the variable it reads (its `{env: VAR}` reference), never by value,
    # so that `nexus-dagster diff` can tell two runs that read different variables apart.
    table = {}
    for param, item in resolved.items():
        entry = {
            "value": "***" if declared[param].is_secret else item.value,
            "source": item.source,
            "field": item.field,
        }
        if declared[param].is_secret:
            entry["reference"] = item.value
        table[param] = entry
    metadata: dict[str, Any] = {
        METADATA_KEY: dg.MetadataValue.json(table),
        # The same values as a table the UI shows in place; `runs` and `diff` read the record.
        VALUES_KEY: values_table(declared, resolved),
    }
    key = partition_key_of(context)
    if key is not None:
        metadata[PARTITION_METADATA_KEY] = key
    if spec is not None:
        metadata[SPEC_METADATA_KEY] = spec.name
    if target.check is not None:
        # A check's evaluation has no output metadata: its result carries the record
        # (`nexus_asset_check` adds it).
        keep_check_record(context, metadata)
        return
    op_context = op_context_of(context)
    output = op_context.assets_def.get_output_name_for_asset_key(target.key)
    op_context.add_output_metadata(metadata, output_name=output)
