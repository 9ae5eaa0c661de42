"""Schedules and file sensors of spec jobs (docs/spec-format.md, docs/partitions.md): each run they start carries the
job's full values, Dagster's own sections from the entry's ``run_config:``, and for a
partitioned job its partition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from nexus_dagster.errors import SpecProblem
from nexus_dagster.jobs import SpecJob, run_config_of, spec_run_config
from nexus_dagster.partitioned import (
    dynamic_additions,
    key_problem,
    latest_complete_key,
    partition_exists,
)
from nexus_dagster.spec_model import JobSpec, ScheduleSpec, SensorSpec, dotted
from nexus_dagster.templates import render_sensor

SENSOR_FILE_TAG = "nexus/sensor_file"


def build_schedule(
    schedule: ScheduleSpec, spec: JobSpec, job: UnresolvedAssetJobDefinition
) -> dg.ScheduleDefinition:
    """A schedule of a spec's job, launching its full run config.

    A partitioned job's tick runs the partition the entry names, or for a time-window
    partitions definition the latest partition whose window has ended by the tick's time (as
    Dagster's ``build_schedule_from_partitioned_job`` chooses it).
    """
    run_config = run_config_of(spec.partitions_def, schedule.run_config, schedule.sections)
    common: dict[str, Any] = {
        "name": schedule.name,
        "cron_schedule": schedule.cron,
        "execution_timezone": schedule.timezone,
        "job": job,
        "default_status": dg.DefaultScheduleStatus[schedule.default_status],
    }
    partitions_def = spec.partitions_def
    if partitions_def is None:
        return dg.ScheduleDefinition(run_config=run_config, **common)

    partitioned_config = dg.PartitionedConfig.from_flexible_config(job.config, partitions_def)

    def request(
        context: dg.ScheduleEvaluationContext, at: datetime, key: str, run_key: str | None = None
    ) -> dg.RunRequest:
        # Resolved here as Dagster resolves a partitioned request against the repository's job
        # (RunRequest.with_resolved_tags_and_config): the key checked at the tick's time, the
        # job's partition tags. With `dagster/partition` set, `evaluate_tick` needs no
        # repository_def (as for build_schedule_from_partitioned_job) and the daemon keeps it.
        store = context.instance if context.instance_ref is not None else None
        with dg.partition_loading_context(effective_dt=at, dynamic_partitions_store=store) as ctx:
            partitions_def.validate_partition_key(key, context=ctx)
        tags = partitioned_config.get_tags_for_partition_key(key, job_name=job.name)
        return dg.RunRequest(run_key=run_key, partition_key=key, run_config=run_config, tags=tags)

    def evaluate(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        # A tick from the daemon has its time; one evaluated by hand may not (then: now).
        at = context._scheduled_execution_time or datetime.now(timezone.utc)  # noqa: SLF001
        if schedule.partition_key is not None:
            return request(context, at, schedule.partition_key)
        key = latest_complete_key(partitions_def, at)
        if key is None:
            return dg.SkipReason("no partition of the job's time window has ended yet")
        # One run per partition, like Dagster's own partitioned schedules.
        return request(context, at, key, run_key=key)

    what = schedule.partition_key or "the latest complete time window"
    return dg.ScheduleDefinition(
        execution_fn=evaluate, description=f"Runs `{spec.name}` for {what}.", **common
    )


def build_sensor(
    sensor: SensorSpec, spec: JobSpec, job: UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    """A file sensor: one run per file matching the pattern, each keyed by path and mtime.

    The cursor keeps the newest modification time seen and the files that had it, so a tick
    lists only new or rewritten files; the run key (path and mtime) makes Dagster launch a file's
    run at most once even if a cursor is lost. For a partitioned job the entry's
    ``partition_key`` template names each file's partition: a file naming a partition that does
    not exist yet (today's date) waits in the cursor and runs once it does; a file naming no
    partition at all is skipped with a warning; a dynamic partitions definition gains the
    partitions its files name.
    """
    spec_job = SpecJob.of(spec)
    partitions_def = spec.partitions_def

    def evaluate(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        if not sensor.directory.is_dir():
            return dg.SkipReason(f"directory {sensor.directory} does not exist")
        state = json.loads(context.cursor) if context.cursor else {}
        last: int = state.get("mtime", 0)
        last_seen: set[str] = set(state.get("seen", []))
        waiting: dict[str, int] = dict(state.get("waiting", {}))
        newest, seen_at_newest = last, set(last_seen)
        requests = []
        additions: dict[str, list[str]] = {}
        dynamic_defs: dict[str, dg.DynamicPartitionsDefinition] = {}
        found = [p for p in sensor.directory.glob(sensor.pattern) if p.is_file()]
        still_waiting: dict[str, int] = {}
        for mtime, path in sorted((p.stat().st_mtime_ns, p) for p in found):
            name = str(path)
            is_new = mtime > last or (mtime == last and name not in last_seen)
            if not is_new and waiting.get(name) != mtime:
                continue
            if is_new:
                if mtime > newest:
                    newest, seen_at_newest = mtime, set()
                seen_at_newest.add(name)
            event = sensor_event(path)
            values = render_sensor(sensor.parameter_values, event)
            run_config = spec_run_config(spec_job, values, sensor.sections)
            key = None
            if partitions_def is not None and sensor.partition_key is not None:
                key = render_sensor(sensor.partition_key, event)
                reason = key_problem(partitions_def, key)
                if reason:
                    context.log.warning(f"skipped {path}: {reason}")
                    continue
                needed = dynamic_additions(partitions_def, key)
                if not needed and not partition_exists(partitions_def, key, context.instance):
                    still_waiting[name] = mtime  # e.g. today's window, which has not ended
                    continue
                for dynamic_def, part in needed:
                    dynamic_defs[str(dynamic_def.name)] = dynamic_def
                    additions.setdefault(str(dynamic_def.name), []).append(part)
            requests.append(
                dg.RunRequest(
                    run_key=f"{path}:{mtime}",
                    run_config=run_config,
                    partition_key=key,
                    tags={SENSOR_FILE_TAG: name},
                )
            )
        cursor = json.dumps(
            {"mtime": newest, "seen": sorted(seen_at_newest), "waiting": still_waiting}
        )
        added = [
            dynamic_defs[d].build_add_request(list(dict.fromkeys(parts)))
            for d, parts in additions.items()
        ]
        return dg.SensorResult(
            run_requests=requests, cursor=cursor, dynamic_partitions_requests=added
        )

    return dg.SensorDefinition(
        name=sensor.name,
        evaluation_fn=evaluate,
        job=job,
        minimum_interval_seconds=sensor.minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus[sensor.default_status],
        description=f"Starts `{spec.name}` for each `{sensor.pattern}` file in {sensor.directory}.",
    )


def sensor_event(path: Path) -> dict[str, str]:
    """The ``{{sensor.*}}`` fields of a file.

    >>> sensor_event(Path("/in/sales_2026-11-05.csv"))
    {'path': '/in/sales_2026-11-05.csv', 'name': 'sales_2026-11-05.csv', 'stem': 'sales_2026-11-05'}
    """
    return {"path": str(path), "name": path.name, "stem": path.stem}


@dataclass(frozen=True)
class EntrySections:
    """A schedule's or sensor's ``run_config:`` sections, to be checked by Dagster against the
    built job, and where to report a problem."""

    job_name: str
    run_config: Mapping[str, Any]
    path: str
    line: int
    col: int
    key: str


def entry_sections(spec: JobSpec) -> list[EntrySections]:
    """Every entry of ``spec`` that adds Dagster's own sections to its runs, with the run
    config it starts (a sensor's with stand-in files)."""
    entries: list[tuple[str, int, Mapping[str, Any], Mapping[str, Any]]] = [
        ("schedules", i, s.run_config, s.sections)
        for i, s in enumerate(spec.schedules)
        if s.sections
    ]
    entries += [
        ("sensors", i, s.sample_run_config, s.sections)
        for i, s in enumerate(spec.sensors)
        if s.sections
    ]
    found = []
    for kind, index, values, sections in entries:
        key = (kind, index, "run_config")
        line, col = spec.document.position(key)
        run_config = run_config_of(spec.partitions_def, values, sections)
        found.append(EntrySections(spec.name, run_config, str(spec.path), line, col, dotted(key)))
    return found


def entry_section_problems(
    defs: dg.Definitions, entries: Sequence[EntrySections]
) -> list[SpecProblem]:
    """Dagster's own check of each entry's run config against its built job, as problems of the
    spec file, so a bad ``ops:`` value in a schedule is reported when the location loads, not at
    its first tick."""
    problems = []
    for entry in entries:
        try:
            dg.validate_run_config(defs.resolve_job_def(entry.job_name), entry.run_config)
        except dg.DagsterInvalidConfigError as err:
            messages = "; ".join(e.message for e in err.errors)
            problems.append(
                SpecProblem(
                    entry.path,
                    entry.line,
                    entry.col,
                    entry.key,
                    f"Dagster refuses this run config: {messages}",
                )
            )
    return problems
