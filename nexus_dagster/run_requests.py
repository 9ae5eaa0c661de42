"""Run config and run requests for schedules and sensors written in Python (contract §6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from nexus_dagster.errors import NexusConfigError
from nexus_dagster.factory import JOB_FIELDS, checked_run_config

JobRef: TypeAlias = str | dg.JobDefinition | UnresolvedAssetJobDefinition


def _job_name(job: JobRef) -> str:
    name = job if isinstance(job, str) else job.name
    if name not in JOB_FIELDS:
        known = ", ".join(sorted(JOB_FIELDS)) or "none yet"
        raise NexusConfigError(
            name,
            f"not a job built from a spec in this code location (known: {known}); "
            "call build_definitions first",
        )
    return name


def nexus_run_config(job: JobRef, values: Mapping[str, Any]) -> dict[str, Any]:
    """The full flat run config of ``job`` for ``values`` (simple and prefixed names).

    Spec values are included, so the run's stored config shows every value it used. Unknown
    names, wrong types and required fields left empty raise :class:`NexusConfigError`.

    Example::

        @dg.schedule(cron_schedule="0 * * * *", job_name="sales_job")
        def hourly(context):
            return dg.RunRequest(run_config=nexus_run_config(
                "sales_job", {"marketing_ingestion_asset.source_bucket": "mkt-hourly"}))
    """
    name = _job_name(job)
    return checked_run_config(name, JOB_FIELDS[name], values)


def nexus_run_request(
    job: JobRef, values: Mapping[str, Any], **run_request_kwargs: Any
) -> dg.RunRequest:
    """A ``dg.RunRequest`` for ``job`` with :func:`nexus_run_config` of ``values``.

    Example::

        @dg.sensor(job_name="sales_job")
        def on_drop(context):
            for path in new_files():
                yield nexus_run_request(
                    "sales_job", {"sales_ingestion_asset.source_bucket": path}, run_key=path)
    """
    name = _job_name(job)
    return dg.RunRequest(
        run_config=nexus_run_config(name, values), job_name=name, **run_request_kwargs
    )
