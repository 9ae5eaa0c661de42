"""What a job spec file is: the pydantic model of one file (docs/spec-format.md), and the loaded
:class:`JobSpec` with its schedules and sensors, which records each problem of the file at the
position of its key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

from nexus_dagster.errors import SpecProblem
from nexus_dagster.rules import JobField
from nexus_dagster.yaml_source import YamlDocument

JOB_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")  # Dagster's own rule for job and schedule names
DAGSTER_OWN_PREFIX = "__"  # Dagster's own jobs (`__ASSET_JOB`)


def usable_job_name(name: str) -> bool:
    """Whether a spec's job may be called ``name``: Dagster's rule for names, and not one of
    the names Dagster keeps for its own jobs."""
    return bool(JOB_NAME_RE.match(name)) and not name.startswith(DAGSTER_OWN_PREFIX)


def _selection_form(value: Any) -> Any:
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(item, str) for item in value)
    ):
        return value
    raise ValueError("must be a list of asset keys or one Dagster selection string")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ScheduleModel(_Model):
    """One entry of ``schedules:``."""

    name: str | None = None
    cron: str
    timezone: str = "UTC"
    parameter_values: dict[str, Any] = {}
    partition_key: str | None = None
    run_config: dict[str, Any] = {}
    default_status: Literal["RUNNING", "STOPPED"] = "STOPPED"


class SensorModel(_Model):
    """One entry of ``sensors:``. ``type: file`` starts one run per file matching ``pattern``
    under ``directory`` (relative to the spec file's folder when not absolute)."""

    name: str | None = None
    type: Literal["file"]
    directory: str
    pattern: str = "*"
    parameter_values: dict[str, Any] = {}
    partition_key: str | None = None
    run_config: dict[str, Any] = {}
    minimum_interval_seconds: int = 30
    default_status: Literal["RUNNING", "STOPPED"] = "STOPPED"


class JobSpecModel(_Model):
    """A job spec file. Unknown keys anywhere are errors."""

    name: str | None = None
    description: str | None = None
    asset_defaults: bool = False
    """This spec's values are its assets' values in runs outside spec jobs (the asset graph,
    asset backfills, declarative automation)."""
    selection: Annotated[list[str] | str, BeforeValidator(_selection_form)]
    params_schema: dict[str, str] = {}
    parameter_values: dict[str, Any] = {}
    ops_config: dict[str, dict[str, Any]] = {}
    tags: dict[str, str] = {}
    schedules: list[ScheduleModel] = []
    sensors: list[SensorModel] = []


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule of a job: the full flat values each tick launches (``run_config``, checked
    against the job's fields when the spec was loaded), Dagster's own sections added to each
    run, and for a partitioned job the partition it names (``None``: the latest complete time
    window)."""

    name: str
    cron: str
    timezone: str
    default_status: str
    run_config: Mapping[str, Any]
    sections: Mapping[str, Any] = field(default_factory=dict)
    partition_key: str | None = None


@dataclass(frozen=True)
class SensorSpec:
    """A file sensor of a job. ``parameter_values`` may hold ``{{sensor.*}}`` placeholders,
    filled per file before the values are checked and merged over the spec's."""

    name: str
    directory: Path
    pattern: str
    parameter_values: Mapping[str, Any]
    minimum_interval_seconds: int
    default_status: str
    sections: Mapping[str, Any] = field(default_factory=dict)
    partition_key: str | None = None
    """A template over the sensor fields (``{{sensor.stem}}``), for a partitioned job."""
    sample_run_config: Mapping[str, Any] = field(default_factory=dict)
    """The full flat values of a stand-in file (each placeholder filled with sample text), as
    checked against the job's fields when the spec was loaded."""


@dataclass
class JobSpec:
    """One loaded spec file. ``selected``, ``fields``, ``partitions_def`` and ``schedules`` are
    filled only when the specs were loaded with the code location's assets."""

    path: Path
    name: str
    model: JobSpecModel
    document: YamlDocument
    selected: tuple[str, ...] = ()
    fields: tuple[JobField, ...] = ()
    partitions_def: Any = None
    """The selected assets' ``dg.PartitionsDefinition``, or ``None`` for an unpartitioned job."""
    schedules: tuple[ScheduleSpec, ...] = ()
    sensors: tuple[SensorSpec, ...] = ()
    problems: list[SpecProblem] = field(default_factory=list)

    def problem(self, key: Sequence[Any], message: str, shared_with: Sequence[Path] = ()) -> None:
        line, col = self.document.position(tuple(key))
        others = tuple(str(p) for p in shared_with)
        self.problems.append(
            SpecProblem(str(self.path), line, col, dotted(key), printable(message), others)
        )


def printable(text: str) -> str:
    """``text`` with every character that is not printable written as its escape."""
    # Names in messages come from the file: a terminal escape, a bidi control or a zero-width
    # space in one must show as an escape, not act on the terminal or hide in the message.
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def dotted(key: Sequence[Any]) -> str:
    """A key path as users read it: ``schedules[0].parameter_values.target_bucket``."""
    text = ""
    for part in key:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{printable(str(part))}" if text else printable(str(part))
    return text
