"""The schedules and file sensors of a spec (its ``schedules:`` and ``sensors:`` entries): their
checks that need only the file, their checks against the job's fields and partitions, which
also compute the values each entry launches (checked here, once per load), and their names,
which share one namespace in a code location.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster._utils.schedules import is_valid_cron_string

from nexus_dagster.partitioned import describe, is_time_window, key_problem
from nexus_dagster.resolution import run_config_from_values
from nexus_dagster.rules import section_problems, suggest
from nexus_dagster.spec_model import JOB_NAME_RE, JobSpec, ScheduleSpec, SensorSpec
from nexus_dagster.templates import SENSOR_FIELDS, sensor_placeholders, sensor_sample


def check_entries_alone(spec: JobSpec) -> None:
    """What the file alone tells of its schedules and sensors: cron expressions, timezones,
    names, intervals, ``{{sensor.*}}`` placeholders, and the form of ``run_config:``."""
    model = spec.model
    for index, schedule in enumerate(model.schedules):
        at = ["schedules", index]
        if not is_valid_cron_string(schedule.cron):
            spec.problem(
                [*at, "cron"],
                f"invalid cron expression `{schedule.cron}`; use five fields, e.g. `0 6 * * *`",
            )
        try:
            zoneinfo.ZoneInfo(schedule.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            hint = suggest(schedule.timezone, sorted(zoneinfo.available_timezones()))
            spec.problem([*at, "timezone"], f"unknown timezone `{schedule.timezone}`{hint}")
        if schedule.name is not None and not JOB_NAME_RE.match(schedule.name):
            spec.problem([*at, "name"], "not a valid schedule name: use letters, digits, `_`")
    for index, sensor in enumerate(model.sensors):
        at = ["sensors", index]
        if sensor.name is not None and not JOB_NAME_RE.match(sensor.name):
            spec.problem([*at, "name"], "not a valid sensor name: use letters, digits, `_`")
        if sensor.minimum_interval_seconds < 1:
            spec.problem([*at, "minimum_interval_seconds"], "must be at least 1")
        templates = [(["parameter_values", n], v) for n, v in sensor.parameter_values.items()]
        if sensor.partition_key is not None:
            templates.append((["partition_key"], sensor.partition_key))
        for key, value in templates:
            for used in sensor_placeholders(value):
                if used not in SENSOR_FIELDS:
                    spec.problem(
                        [*at, *key],
                        f"unknown placeholder `{{{{sensor.{used}}}}}`"
                        f"{suggest(used, SENSOR_FIELDS) or '.'} A file sensor offers "
                        + ", ".join(f"`{{{{sensor.{f}}}}}`" for f in SENSOR_FIELDS),
                    )
    entries: list[tuple[str, int, Mapping[str, Any]]] = [
        ("schedules", i, s.run_config) for i, s in enumerate(model.schedules)
    ] + [("sensors", i, s.run_config) for i, s in enumerate(model.sensors)]
    for kind, index, run_config in entries:
        for path, message in section_problems(run_config):
            spec.problem([kind, index, "run_config", *path], message)


def check_entries(spec: JobSpec) -> None:
    """The schedules and sensors of a spec whose fields are known, checked against them: fills
    ``spec.schedules`` and ``spec.sensors`` with the full flat values each entry launches (a
    sensor's for a stand-in file), so that nothing checks them again."""
    model, fields = spec.model, spec.fields
    schedules = []
    for index, schedule in enumerate(model.schedules):
        _check_schedule_partition(spec, index, schedule.partition_key)
        run_config, config_problems = run_config_from_values(fields, schedule.parameter_values)
        for name, message in config_problems:
            in_values = name in schedule.parameter_values
            key = ["schedules", index, *(["parameter_values", name] if in_values else [])]
            spec.problem(key, message)
        default_name = f"{spec.name}_schedule" + (f"_{index + 1}" if index else "")
        schedules.append(
            ScheduleSpec(
                name=schedule.name or default_name,
                cron=schedule.cron,
                timezone=schedule.timezone,
                default_status=schedule.default_status,
                run_config=run_config,
                sections=schedule.run_config,
                partition_key=schedule.partition_key,
            )
        )
    spec.schedules = tuple(schedules)
    sensors = []
    for index, sensor in enumerate(model.sensors):
        _check_sensor_partition(spec, index, sensor.partition_key)
        # Placeholders become sample text, so a `{{sensor.path}}` in an int field is refused now.
        sample = sensor_sample(sensor.parameter_values)
        sample_run_config, config_problems = run_config_from_values(fields, sample)
        for name, message in config_problems:
            in_values = name in sensor.parameter_values
            key = ["sensors", index, *(["parameter_values", name] if in_values else [])]
            spec.problem(key, message)
        directory = Path(sensor.directory)
        default_name = f"{spec.name}_sensor" + (f"_{index + 1}" if index else "")
        sensors.append(
            SensorSpec(
                name=sensor.name or default_name,
                directory=directory if directory.is_absolute() else spec.path.parent / directory,
                pattern=sensor.pattern,
                parameter_values=sensor.parameter_values,
                minimum_interval_seconds=sensor.minimum_interval_seconds,
                default_status=sensor.default_status,
                sections=sensor.run_config,
                partition_key=sensor.partition_key,
                sample_run_config=sample_run_config,
            )
        )
    spec.sensors = tuple(sensors)


_NOT_PARTITIONED = (
    "this job is not partitioned (none of its assets has a `partitions_def`); remove "
    "`partition_key`"
)


def _check_schedule_partition(spec: JobSpec, index: int, key: str | None) -> None:
    at = ["schedules", index]
    partitions_def = spec.partitions_def
    if partitions_def is None:
        if key is not None:
            spec.problem([*at, "partition_key"], _NOT_PARTITIONED)
        return
    if key is None:
        if not is_time_window(partitions_def):
            spec.problem(
                at,
                f"this job is partitioned by {describe(partitions_def)}, which has no time "
                "window a tick could choose from; name the partition with `partition_key:`",
            )
        return
    reason = key_problem(partitions_def, key)
    if reason:
        spec.problem([*at, "partition_key"], reason)


def _check_sensor_partition(spec: JobSpec, index: int, key: str | None) -> None:
    at = ["sensors", index]
    partitions_def = spec.partitions_def
    if partitions_def is None and key is not None:
        spec.problem([*at, "partition_key"], _NOT_PARTITIONED)
    elif partitions_def is not None and key is None:
        spec.problem(
            at,
            f"this job is partitioned by {describe(partitions_def)}: say which partition each "
            'file is with `partition_key:`, e.g. `partition_key: "{{sensor.stem}}"`',
        )
    elif partitions_def is not None and key is not None and not sensor_placeholders(key):
        reason = key_problem(partitions_def, key)
        if reason:
            spec.problem([*at, "partition_key"], reason)


def entry_names(spec: JobSpec) -> list[tuple[str, int, str]]:
    """``(section, index, name)`` of each schedule and sensor of a checked spec: they share
    one namespace in a code location."""
    entries = [("schedules", i, s.name) for i, s in enumerate(spec.schedules)]
    return entries + [("sensors", i, s.name) for i, s in enumerate(spec.sensors)]


def check_unique_schedule_names(specs: list[JobSpec]) -> None:
    """No two schedules or sensors of the specs share a name."""
    seen: dict[str, tuple[Path, str, int]] = {}
    for spec in specs:
        for kind, index, name in entry_names(spec):
            first = seen.setdefault(name, (spec.path, kind, index))
            if first != (spec.path, kind, index):
                spec.problem(
                    [kind, index],
                    f"name `{name}` is already used by a schedule or sensor (in {first[0]}); "
                    "set a different `name:`",
                    shared_with=[first[0]],
                )
