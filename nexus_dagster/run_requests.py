"""Run config and run requests for schedules and sensors written in Python (docs:
``runs.md``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from nexus_dagster.consistent_runs import DIGEST_TAG
from nexus_dagster.errors import NexusConfigError
from nexus_dagster.jobs import SpecJob, spec_run_config
from nexus_dagster.rules import section_problems, split_sections

JobRef: TypeAlias = str | dg.JobDefinition | UnresolvedAssetJobDefinition

_BUILT: dict[str, list[SpecJob]] = {}
"""The spec jobs of every code location this process has finished building, by name.

A name is enough to find a job only while one job of that name was built: when two code
locations in one process build different jobs under one name, the name is refused and the job
definition (which carries its fields' digest) tells them apart. A location that failed to build,
and a spec it isolated, add nothing.
"""


def remember(jobs: Iterable[SpecJob]) -> None:
    """Record the spec jobs of a code location once it is built (``build_definitions``, the
    Component)."""
    for job in jobs:
        known = _BUILT.setdefault(job.name, [])
        if not any(job.same_job(other) for other in known):
            known.append(job)


def _spec_job(job: JobRef) -> SpecJob:
    name = job if isinstance(job, str) else job.name
    built = _BUILT.get(name, [])
    if not isinstance(job, str):
        digest = (job.tags or {}).get(DIGEST_TAG)
        built = [b for b in built if b.digest == digest and b.partitions_def == job.partitions_def]
    if not built:
        known = ", ".join(sorted(_BUILT)) or "none yet"
        raise NexusConfigError(
            name,
            f"not a job built from a spec in this code location (known: {known}); "
            "call build_definitions first",
        )
    if len(built) > 1:
        files = ", ".join(sorted(b.path for b in built))
        raise NexusConfigError(
            name,
            f"several code locations in this process build a job of this name from different "
            f"specs ({files}); pass the job definition instead of its name",
        )
    return built[0]


def nexus_run_config(job: JobRef, values: Mapping[str, Any]) -> dict[str, Any]:
    """The full run config of ``job`` for ``values`` (simple and prefixed names).

    Spec values are included, so the run's stored config shows every value it used. Unknown
    names, wrong types and required fields left empty raise :class:`NexusConfigError`. For an
    unpartitioned job it is the flat form; for a partitioned job the values go
    under ``resources.params.config.values``. Dagster's own sections (``ops``, ``resources``,
    ``execution``, ``loggers``) in ``values`` are passed through.

    Example::

        @dg.schedule(cron_schedule="0 * * * *", job_name="sales_job")
        def hourly(context):
            return dg.RunRequest(run_config=nexus_run_config(
                "sales_job", {"marketing_ingestion_asset.source_bucket": "mkt-hourly"}))
    """
    spec_job = _spec_job(job)
    flat, sections = split_sections(values)
    problems = section_problems(sections)
    if problems:
        raise NexusConfigError(
            spec_job.name,
            "; ".join(message for _, message in problems),
            [".".join(map(str, key)) for key, _ in problems],
        )
    return spec_run_config(spec_job, flat, sections)


def nexus_run_request(
    job: JobRef, values: Mapping[str, Any], **run_request_kwargs: Any
) -> dg.RunRequest:
    """A ``dg.RunRequest`` for ``job`` with :func:`nexus_run_config` of ``values``; for a
    partitioned job pass ``partition_key=``.

    Example::

        @dg.sensor(job_name="sales_job")
        def on_drop(context):
            for path in new_files():
                yield nexus_run_request(
                    "sales_job", {"sales_ingestion_asset.source_bucket": path}, run_key=path)

            yield nexus_run_request("daily_sales_job", {}, partition_key="2026-11-05")
    """
    spec_job = _spec_job(job)
    partitioned = spec_job.partitions_def is not None
    if partitioned and run_request_kwargs.get("partition_key") is None:
        raise NexusConfigError(
            spec_job.name, "the job is partitioned; pass `partition_key=` for the run's partition"
        )
    if not partitioned and run_request_kwargs.get("partition_key") is not None:
        raise NexusConfigError(spec_job.name, "the job is not partitioned; drop `partition_key=`")
    return dg.RunRequest(
        run_config=nexus_run_config(job, values),
        job_name=spec_job.name,
        **run_request_kwargs,
    )
