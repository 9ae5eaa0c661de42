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

_BUILT: dict[str, dict[str, SpecJob]] = {}
"""The spec jobs each code location of this process built last, by the location's specs folder
(resolved), then by name.

A rebuild of a location (a spec edited, then ``build_definitions`` called again, or a ``dg``
project reloaded) replaces what it built before. A name is enough to find a job only while the
locations that build a job of that name build the same job: when two locations in one process
build different jobs under one name, the name is refused and the job definition (which carries
its fields' digest) tells them apart. A location that failed to build, and a spec it isolated,
add nothing.
"""


def remember(location: str, jobs: Iterable[SpecJob]) -> None:
    """Record the spec jobs a code location built (``build_definitions``, a Component), by its
    specs folder ``location``, in place of what its previous build recorded."""
    _BUILT[location] = {job.name: job for job in jobs}


def forget(locations: Iterable[str]) -> None:
    """Drop what the code locations of these specs folders built: a ``dg`` project that loads
    again forgets its components' last build (a component it no longer has builds nothing)."""
    for location in locations:
        _BUILT.pop(location, None)


def partitions_of(
    job: dg.JobDefinition | UnresolvedAssetJobDefinition,
) -> dg.PartitionsDefinition | None:
    """The partitions definition of a job's runs, or ``None``.

    A resolved job (``defs.resolve_job_def``) has it as ``partitions_def``; an unresolved asset
    job (``defs.jobs``) has none of its own until it is resolved, but a partitioned spec job's
    ``PartitionedConfig`` holds it.

    >>> days = dg.DailyPartitionsDefinition(start_date="2026-11-01")
    >>> config = dg.PartitionedConfig(days, lambda _key: {})
    >>> partitions_of(dg.define_asset_job("daily", config=config)) is days
    True
    >>> partitions_of(dg.define_asset_job("plain")) is None
    True
    """
    own: dg.PartitionsDefinition | None = getattr(job, "partitions_def", None)
    if own is not None:
        return own
    config = getattr(job, "config", None)
    return config.partitions_def if isinstance(config, dg.PartitionedConfig) else None


def _versions(name: str) -> list[SpecJob]:
    """The different jobs the code locations of this process last built under ``name``."""
    versions: list[SpecJob] = []
    for jobs in _BUILT.values():
        job = jobs.get(name)
        if job is not None and not any(job.same_job(other) for other in versions):
            versions.append(job)
    return versions


def _spec_job(job: JobRef) -> SpecJob:
    name = job if isinstance(job, str) else job.name
    built = _versions(name)
    if built and not isinstance(job, str):
        digest = (job.tags or {}).get(DIGEST_TAG)
        partitions = partitions_of(job)
        found = [b for b in built if (b.digest, b.partitions_def) == (digest, partitions)]
        if not found and digest is not None:
            files = ", ".join(sorted({b.path for b in built}))
            raise NexusConfigError(
                name,
                f"this definition of the job was built from another version of its spec "
                f"({files}) than the one its code location last built; pass the job of the "
                "definitions as they are now built (`defs.resolve_job_def(...)`, `defs.jobs`)",
            )
        built = found
    if not built:
        known = ", ".join(sorted({n for jobs in _BUILT.values() for n in jobs})) or "none yet"
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

    ``job`` is a spec job's name or its definition, resolved (``defs.resolve_job_def``) or not
    (``defs.jobs``), partitioned or not, as its code location last built it: after a spec edit
    and a rebuild, a definition from before is refused, saying so.

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
    """A ``dg.RunRequest`` for ``job`` (a spec job's name or its definition, as
    :func:`nexus_run_config` takes it) with :func:`nexus_run_config` of ``values``; for a
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
