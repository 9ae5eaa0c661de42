"""Partitioned spec jobs (docs/partitions.md): which partitions definition a selection has, what a
partition key means (``{{partition.*}}``), and the run config that carries a spec's values for
each partition.

Dagster allows no ``ConfigMapping`` on a partitioned job, so such a job takes its values under
the flat names (docs/parameters.md) in the ``params`` resource's own config::

    resources: {params: {config: {values: {target_bucket: lake}}}}
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import dagster as dg
from dagster._core.definitions.backfill_policy import resolve_backfill_policy

from nexus_dagster.catalog import AssetInfo
from nexus_dagster.naming import RESOURCE_KEY
from nexus_dagster.templates import PARTITION_FIELDS, TIME_WINDOW_FIELDS


def values_run_config(
    values: Mapping[str, Any], sections: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The run config of a partitioned spec job for flat ``values`` and Dagster's own sections.

    >>> values_run_config({"target_bucket": "lake"})
    {'resources': {'params': {'config': {'values': {'target_bucket': 'lake'}}}}}
    """
    sections = dict(sections or {})
    resources = {
        **sections.pop("resources", {}),
        RESOURCE_KEY: {"config": {"values": dict(values)}},
    }
    return {**sections, "resources": resources}


def selection_partitions(
    infos: Sequence[AssetInfo],
) -> tuple[dg.PartitionsDefinition | None, str | None]:
    """The one partitions definition of the selected assets, or why there is none.

    Unpartitioned assets may stand beside partitioned ones; two different definitions may not
    (Dagster's own rule for an asset job). The reason names the assets and their definitions.
    """
    # Grouped by identity first: assets usually share one definition object, and hashing a
    # time-window definition rebuilds its text each time (a cost per selected asset at load).
    groups: list[tuple[dg.PartitionsDefinition, list[str]]] = []
    for info in infos:
        partitions_def = info.partitions_def
        if partitions_def is None:
            continue
        for known, names in groups:
            if known is partitions_def or known == partitions_def:
                names.append(info.name)
                break
        else:
            groups.append((partitions_def, [info.name]))
    if len(groups) <= 1:
        return (groups[0][0] if groups else None), None
    listed = "; ".join(
        f"{', '.join(f'`{n}`' for n in names)}: {describe(pd)}" for pd, names in groups
    )
    return None, (
        "the selected assets are partitioned differently, and one job runs one partitions "
        f"definition ({listed}); split them into one spec per partitions definition"
    )


def backfill_problem(infos: Sequence[AssetInfo]) -> str | None:
    """Why a partitioned spec job cannot run these assets: a backfill policy that puts several
    partitions in one run, where a spec job's values come one partition at a time (Dagster
    refuses a ``PartitionedConfig`` then)."""
    partitioned = [info for info in infos if info.partitions_def is not None]
    policy = resolve_backfill_policy(info.backfill_policy for info in partitioned)
    if not partitioned or policy.max_partitions_per_run == 1:
        return None
    names = ", ".join(f"`{i.name}`" for i in partitioned if i.backfill_policy is not None)
    return (
        f"{names} run several partitions per run ({policy}), but a spec job's values come one "
        "partition at a time; give the assets `BackfillPolicy.multi_run(1)` (or none) to use "
        "them in a spec"
    )


def describe(partitions_def: dg.PartitionsDefinition) -> str:
    """A partitions definition in words, as Dagster prints it, on one line.

    >>> describe(dg.StaticPartitionsDefinition(["eu", "us"]))
    "static partitions 'eu', 'us'"
    """
    text = " ".join(str(partitions_def).split())
    if isinstance(partitions_def, dg.StaticPartitionsDefinition):
        return f"static partitions {text}"
    return text.rstrip(".")


def is_time_window(partitions_def: dg.PartitionsDefinition | None) -> bool:
    """``True`` for a time-window partitions definition (daily, hourly, cron-based...)."""
    return isinstance(partitions_def, dg.TimeWindowPartitionsDefinition)


def has_time_window(partitions_def: dg.PartitionsDefinition | None) -> bool:
    """``True`` when every partition has a time window: a time-window definition, or a
    multi-partitions definition with a time-window dimension."""
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        return partitions_def.has_time_window_dimension
    return is_time_window(partitions_def)


def partition_fields(partitions_def: dg.PartitionsDefinition | None, key: str) -> dict[str, str]:
    """What ``{{partition.*}}`` holds for ``key``: the key, and a time window's bounds (of
    the time dimension, for a multi-partitions definition).

    >>> partition_fields(dg.DailyPartitionsDefinition(start_date="2026-11-01"), "2026-11-05")
    {'key': '2026-11-05', 'start': '2026-11-05T00:00:00+00:00', 'end': '2026-11-06T00:00:00+00:00'}
    """
    fields = {"key": key}
    if has_time_window(partitions_def):
        assert isinstance(
            partitions_def, (dg.TimeWindowPartitionsDefinition, dg.MultiPartitionsDefinition)
        )
        window = partitions_def.time_window_for_partition_key(key)
        fields["start"], fields["end"] = window.start.isoformat(), window.end.isoformat()
    return fields


def key_problem(partitions_def: dg.PartitionsDefinition, key: str) -> str | None:
    """Why ``key`` is not a partition of ``partitions_def``, where that can be known now.

    Static keys are known; a time-window key must parse and not precede the start; a dynamic
    definition's keys are known only to the instance, so any key passes here.

    >>> key_problem(dg.StaticPartitionsDefinition(["eu", "us"]), "uk")
    "`uk` is not a partition key of static partitions 'eu', 'us'"
    """
    if _known_key(partitions_def, key):
        return None
    return f"`{key}` is not a partition key of {describe(partitions_def)}"


def _known_key(partitions_def: dg.PartitionsDefinition, key: str) -> bool:
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        return True
    if isinstance(partitions_def, dg.StaticPartitionsDefinition):
        return key in partitions_def.get_partition_keys()
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        try:
            window = partitions_def.time_window_for_partition_key(key)
        except Exception:  # Dagster raises ValueError or its own errors for an unparsable key
            return False
        end = partitions_def.end
        return (
            window.start >= partitions_def.start
            and (end is None or window.start < end)
            and partitions_def.get_partition_key_for_timestamp(window.start.timestamp()) == key
        )
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        parts = key.split("|")
        dimensions = partitions_def.partitions_defs
        return len(parts) == len(dimensions) and all(
            _known_key(d.partitions_def, part) for d, part in zip(dimensions, parts, strict=True)
        )
    return True


def latest_complete_key(
    partitions_def: dg.TimeWindowPartitionsDefinition, at: datetime | None
) -> str | None:
    """The latest partition whose window has ended by ``at``, as Dagster's partitioned
    schedules choose it (``build_schedule_from_partitioned_job``)."""
    with dg.partition_loading_context(effective_dt=at):
        return partitions_def.get_last_partition_key()


def partition_exists(
    partitions_def: dg.PartitionsDefinition, key: str, instance: dg.DagsterInstance | None
) -> bool:
    """``True`` when ``key`` is a partition now: a time window that has begun (and is not
    excluded), a static key, a dynamic key the instance holds."""
    with dg.partition_loading_context(dynamic_partitions_store=instance):
        return partitions_def.has_partition_key(key)


def dynamic_additions(
    partitions_def: dg.PartitionsDefinition, key: str
) -> list[tuple[dg.DynamicPartitionsDefinition, str]]:
    """The dynamic partitions a run of ``key`` needs: the key itself for a dynamic definition,
    the dynamic dimensions' parts for a multi-partitions definition.

    >>> files = dg.DynamicPartitionsDefinition(name="files")
    >>> [(d.name, k) for d, k in dynamic_additions(files, "a.csv")]
    [('files', 'a.csv')]
    """
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        return [(partitions_def, key)]
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        dimensions = partitions_def.partitions_defs
        parts = key.split("|")
        return [
            (d.partitions_def, part)
            for d, part in zip(dimensions, parts, strict=False)
            if isinstance(d.partitions_def, dg.DynamicPartitionsDefinition)
        ]
    return []


def placeholder_problems(
    infos: Sequence[AssetInfo], used: Mapping[str, Collection[str]]
) -> list[tuple[str, str]]:
    """``(asset, message)`` for each asset whose ``{{partition.*}}`` placeholders its own
    partitions cannot fill; ``used`` maps an asset to the names its ``nexus/config`` uses."""
    problems = []
    for info in infos:
        names = list(used.get(info.name, ()))
        if not names:
            continue
        shown = ", ".join(f"`{{{{partition.{n}}}}}`" for n in names)
        unknown = [n for n in names if n not in PARTITION_FIELDS]
        if unknown:
            problems.append(
                (
                    info.name,
                    f"asset `{info.name}` uses unknown placeholder(s) {shown} in `nexus/config`; "
                    "a partition offers `{{partition.key}}`, `{{partition.start}}`, "
                    "`{{partition.end}}`",
                )
            )
        elif info.partitions_def is None:
            problems.append(
                (
                    info.name,
                    f"asset `{info.name}` uses {shown} in `nexus/config` but is not partitioned; "
                    "give it a `partitions_def` or remove the placeholder",
                )
            )
        elif set(TIME_WINDOW_FIELDS) & set(names) and not has_time_window(info.partitions_def):
            problems.append(
                (
                    info.name,
                    f"asset `{info.name}` uses {shown} in `nexus/config`, but its partitions "
                    f"({describe(info.partitions_def)}) have no time window; use "
                    "`{{partition.key}}`",
                )
            )
    return problems
