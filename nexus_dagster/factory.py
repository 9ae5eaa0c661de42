"""The job factory: ``build_definitions`` loads a specs folder and wires the pieces together:
jobs (``jobs``), their schedules and file sensors (``automation``), and the ``params`` resource.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import dagster as dg
import yaml

from nexus_dagster.asset_defaults import BrokenSpec, SpecIndex
from nexus_dagster.asset_page import tables_on
from nexus_dagster.automation import (
    EntrySections,
    build_schedule,
    build_sensor,
    entry_section_problems,
    entry_sections,
)
from nexus_dagster.catalog import AssetLike, Catalog
from nexus_dagster.consistent_runs import DIGEST_TAG, file_stat
from nexus_dagster.errors import NexusError, NexusSpecError, SpecProblem
from nexus_dagster.jobs import SpecJob, build_job
from nexus_dagster.name_claims import NameClaims
from nexus_dagster.naming import RESOURCE_KEY
from nexus_dagster.resource import NexusParams
from nexus_dagster.run_requests import remember
from nexus_dagster.spec import JobSpec, check_specs_folder, gc_paused
from nexus_dagster.spec_model import usable_job_name

SPECS_DIR_METADATA = "nexus/specs_dir"
"""Key of the built ``Definitions``' metadata that holds the specs folder (for the CLI)."""


OnSpecError = Literal["raise", "isolate"]
"""What a code location does with spec files that have problems: ``"raise"`` stops the load
with every problem; ``"isolate"`` builds the good specs and turns each broken file into a job
that only reports its problems."""

VALIDATION_ENV = "DAGSTER_IS_DEFS_VALIDATION_CLI"
"""Set by ``dagster definitions validate`` and ``dg check defs`` (and ``nexus-dagster
validate``): under it, ``"isolate"`` raises too, so that a check never passes a broken spec."""

logger = dg.get_dagster_logger("nexus_dagster")


def build_definitions(
    specs_dir: str | Path,
    *,
    assets: Sequence[AssetLike],
    resources: Mapping[str, Any] | None = None,
    on_spec_error: OnSpecError = "raise",
    **definitions_kwargs: Any,
) -> dg.Definitions:
    """Load every spec under ``specs_dir`` and build its job, schedules and sensors, with ``assets``
    (and the checks of ``asset_checks=[...]``, whose parameters are their assets').

    A relative ``specs_dir`` is taken from the folder of the file that calls this function, so
    ``dagster dev -f path/to/definitions.py`` works from any folder. ``params`` is bound to
    :class:`NexusParams` unless ``resources`` binds it.

    ``on_spec_error="raise"`` (the default) raises :class:`NexusSpecError` listing every problem
    in every spec, which Dagster shows as the code location's load error: nothing of the
    location runs until the specs are fixed. ``on_spec_error="isolate"`` builds every spec
    without problems as usual and turns each spec file with problems into a job of the spec's
    name that has no schedule or sensor, shows the problem lines in its description and fails
    at run start with them; each problem is logged. ``dagster definitions validate``, ``dg check
    defs`` and ``nexus-dagster validate`` still fail on any problem.

    Example::

        defs = build_definitions(
            "job_specs",
            assets=[sales_ingestion_asset, marketing_ingestion_asset, report],
            on_spec_error="isolate",
        )
    """
    folder = _from_caller(Path(specs_dir))
    python_jobs = definitions_kwargs.pop("jobs", [])
    python_schedules = definitions_kwargs.pop("schedules", [])
    python_sensors = definitions_kwargs.pop("sensors", [])
    metadata = definitions_kwargs.pop("metadata", {})
    claims = NameClaims()
    claims.reserve_python(python_jobs, [*python_schedules, *python_sensors])
    index = SpecIndex()
    all_resources = {**(resources or {}), RESOURCE_KEY: _params(resources, index)}

    def whole(built: Built, shown: Sequence[AssetLike] = assets) -> dg.Definitions:
        return dg.Definitions(
            assets=list(shown),
            jobs=[*built.jobs, *python_jobs],
            schedules=[*built.schedules, *python_schedules],
            sensors=[*built.sensors, *python_sensors],
            resources=all_resources,
            metadata={SPECS_DIR_METADATA: str(folder.resolve()), **metadata},
            **definitions_kwargs,
        )

    # The loaded specs stay out of this frame: Dagster keeps the locals of the frame that first
    # builds a `Definitions` (to resolve type names), which would hold every spec, its YAML and
    # its model for the life of the process.
    # A check's parameters are parameters of its asset: the specs see the checks with the assets.
    checks = list(definitions_kwargs.get("asset_checks") or [])
    built, _ = build_specs_folder(
        folder, [*assets, *checks], index, whole, claims, str(folder), on_spec_error=on_spec_error
    )
    # Each asset's page shows its parameters and what Materialize resolves (asset_page).
    with gc_paused():
        shown = tables_on(assets, index)
    return whole(built, shown)


@dataclass
class Built:
    """What one specs folder builds: its jobs, schedules and sensors (``jobs`` holds the
    problem-reporting jobs of isolated specs too), and in ``index`` what the ``params``
    resource must know of them."""

    index: SpecIndex
    jobs: list[Any] = field(default_factory=list)
    schedules: list[dg.ScheduleDefinition] = field(default_factory=list)
    sensors: list[dg.SensorDefinition] = field(default_factory=list)


def build_specs_folder(
    folder: Path,
    assets: Sequence[AssetLike],
    index: SpecIndex,
    whole: Callable[[Built], dg.Definitions],
    claims: NameClaims | None = None,
    owner: str = "",
    *,
    on_spec_error: OnSpecError = "raise",
) -> tuple[Built, dg.Definitions]:
    """Load and check the specs of ``folder`` against ``assets``, build what they define, and
    record the specs and assets in ``index`` (which several folders may share).

    ``whole(built)`` is the code location's ``Definitions`` with what the folder built (and the
    assets its specs select): Dagster checks the schedules' and sensors' ``run_config:`` against
    it, and it is returned with ``built``. ``claims`` holds the job, schedule and sensor names
    that other specs folders of the same code location already build (the other
    ``NexusJobsComponent`` instances of a ``dg`` project; ``owner`` names this one), and those
    defined in Python: a spec that reuses one is a problem of that spec. Raises
    :class:`NexusSpecError` with every problem, unless ``on_spec_error="isolate"``.
    """
    if on_spec_error not in ("raise", "isolate"):
        raise NexusError(f"on_spec_error must be `raise` or `isolate`, got {on_spec_error!r}")
    isolate = on_spec_error == "isolate" and os.environ.get(VALIDATION_ENV) != "1"
    with gc_paused():
        catalog = Catalog(assets)
        specs, problems = check_specs_folder(folder, catalog)
        if claims is not None:
            problems += claims.conflicts(specs, owner)
        good = _without_problems(specs, problems, isolate, folder, assets)
        pieces = [_SpecBuild.of(spec) for spec in good]
        outlines = _outlines(specs, problems, folder, catalog)
        built = _built(index, pieces, outlines, claims)
        defs = whole(built)
        sections = [section for piece in pieces for section in piece.sections]
        found = entry_section_problems(defs, sections) if sections else []
        if found:  # isolated: the files Dagster refuses become problem jobs too
            problems += found
            good = _without_problems(good, found, isolate, folder, assets)
            kept = {id(spec) for spec in good}
            pieces = [piece for piece in pieces if id(piece.spec) in kept]
            outlines = _outlines(specs, problems, folder, catalog)
            built = _built(index, pieces, outlines, claims)
            defs = whole(built)
        for piece in pieces:
            index_spec(index, piece.spec, digest=piece.job.tags[DIGEST_TAG])
        for outline in outlines:
            if outline.asset_defaults:
                index.add_broken_defaults(outline.broken, outline.selected)
            if outline.broken.automations:
                logger.error(
                    f"isolated (on_spec_error: isolate): {outline.broken.path}: not running while "
                    f"the spec has problems: {', '.join(outline.broken.automations)}"
                )
        remember(
            str(folder.resolve()),
            (SpecJob.of(piece.spec, piece.job.tags[DIGEST_TAG]) for piece in pieces),
        )
        if claims is not None:
            claims.record(good, owner)
        index.add_assets(
            {name: info.params for name, info in catalog.by_name.items()},
            {name: info.typed for name, info in catalog.by_name.items() if info.typed},
            {name: info.declared_by for name, info in catalog.by_name.items() if info.declared_by},
        )
        for problem in problems:
            logger.error(f"isolated (on_spec_error: isolate): {problem}")
    return built, defs


def _built(
    index: SpecIndex,
    pieces: Sequence[_SpecBuild],
    outlines: Sequence[_Outline],
    claims: NameClaims | None,
) -> Built:
    """What the good specs build, and a problem job per spec file with problems."""
    built = Built(index)
    for piece in pieces:
        built.jobs.append(piece.job)
        built.schedules.extend(piece.schedules)
        built.sensors.extend(piece.sensors)
    if outlines:
        taken = {job.name for job in built.jobs} | (claims.job_names() if claims else set())
        built.jobs.extend(_isolated_jobs(outlines, taken))
    return built


@dataclass(frozen=True)
class _Outline:
    """What a spec file with problems says of itself, as far as it can be read: whether it is
    an ``asset_defaults`` spec, the assets it selects, its schedules and sensors."""

    broken: BrokenSpec
    asset_defaults: bool
    selected: tuple[str, ...]


def _outlines(
    specs: Sequence[JobSpec], problems: Sequence[SpecProblem], folder: Path, catalog: Catalog
) -> list[_Outline]:
    """An outline of each spec file with problems (``problems`` of a folder: none)."""
    names = {str(spec.path): spec.name for spec in specs}
    return [
        _outline(Path(path), names.get(path), found, catalog)
        for path, found in _problem_lines(problems, folder).items()
    ]


def _outline(path: Path, name: str | None, lines: Sequence[str], catalog: Catalog) -> _Outline:
    # The file has problems, so only what plain YAML gives is trusted; text that is not YAML
    # is searched for the key and for the assets' names.
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        raw = None
    known = catalog.by_name
    if isinstance(raw, Mapping):
        defaults = raw.get("asset_defaults") is True
        selection = raw.get("selection")
        if isinstance(selection, list):
            selected = [str(a) for a in selection if str(a) in known]
        elif isinstance(selection, str):
            selected = _selected_by(selection, catalog)
        else:
            selected = []
        spec_name = raw.get("name") if isinstance(raw.get("name"), str) else None
        automations = _automations(raw, name or spec_name or path.stem)
    else:
        defaults = re.search(r"^\s*asset_defaults\s*:\s*true\b", text, re.MULTILINE) is not None
        selected = [a for a in known if re.search(rf"\b{re.escape(a)}\b", text)]
        automations = []
    broken = BrokenSpec(name or path.stem, str(path), tuple(lines), tuple(automations))
    return _Outline(broken, defaults, tuple(selected))


def _selected_by(selection: str, catalog: Catalog) -> list[str]:
    try:
        return catalog.resolve_selection(selection)
    except NexusError:  # a selection that does not resolve selects nothing we can tell
        return []


def _automations(raw: Mapping[str, Any], job: str) -> list[str]:
    """The schedules and sensors a spec would build, named as ``spec_entries`` names them."""
    found = []
    for kind, noun in (("schedules", "schedule"), ("sensors", "sensor")):
        entries = raw.get(kind)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            given = entry.get("name") if isinstance(entry, Mapping) else None
            default = f"{job}_{noun}" + (f"_{index + 1}" if index else "")
            found.append(f"{noun} `{given if isinstance(given, str) else default}`")
    return found


def _problem_lines(problems: Sequence[SpecProblem], folder: Path) -> dict[str, list[str]]:
    """The problem lines of each spec file (problems of the folder itself are not a file's)."""
    lines: dict[str, list[str]] = {}
    for problem in problems:
        for path in (problem.path, *problem.shared_with):
            if Path(path) != folder:
                lines.setdefault(path, []).append(str(problem))
    return dict(sorted(lines.items()))


def _without_problems(
    specs: Sequence[JobSpec],
    problems: Sequence[SpecProblem],
    isolate: bool,
    folder: Path,
    assets: Sequence[AssetLike],
) -> list[JobSpec]:
    """The specs of files with no problem; raises every problem unless ``isolate``."""
    if problems and not isolate:
        raise NexusSpecError(problems, specs_dir=str(folder)).with_assets(assets)
    broken = {path for p in problems for path in (p.path, *p.shared_with)}
    return [spec for spec in specs if str(spec.path) not in broken]


@dataclass
class _SpecBuild:
    """What one spec builds, and the ``run_config:`` sections Dagster must check."""

    spec: JobSpec
    job: Any
    schedules: list[dg.ScheduleDefinition]
    sensors: list[dg.SensorDefinition]
    sections: list[EntrySections]

    @classmethod
    def of(cls, spec: JobSpec) -> _SpecBuild:
        job = build_job(spec)
        return cls(
            spec,
            job,
            [build_schedule(s, spec, job) for s in spec.schedules],
            [build_sensor(s, spec, job) for s in spec.sensors],
            entry_sections(spec),
        )


def _isolated_jobs(outlines: Sequence[_Outline], taken: set[str]) -> list[dg.JobDefinition]:
    """One job per spec file with problems: named after the spec (its ``name:`` where it can be
    read and used, else the file's stem), its description and its run's failure holding the
    file's problem lines. Problems of the folder itself (not of a file) are only logged."""
    jobs = []
    for outline in outlines:
        broken = outline.broken
        name = _free_name([broken.name, Path(broken.path).stem], taken)
        taken.add(name)
        jobs.append(problem_job(name, broken.path, broken.problems, broken.automations))
    return jobs


def _free_name(candidates: Sequence[str | None], taken: set[str]) -> str:
    usable = [c for c in candidates if c and usable_job_name(c)] or [
        re.sub(r"[^A-Za-z0-9_]", "_", str(candidates[-1])).lstrip("_") or "spec"
    ]
    for name in usable:
        if name not in taken:
            return name
    number = 2
    while f"{usable[-1]}_{number}" in taken:
        number += 1
    return f"{usable[-1]}_{number}"


def problem_job(
    name: str, path: str, lines: Sequence[str], lost: Sequence[str] = ()
) -> dg.JobDefinition:
    """The job that stands for a spec file with problems: it fails as its run starts, before
    any asset's code runs, with the file's problem lines; its description also names the
    schedules and sensors (``lost``) that do not run while the spec has problems."""
    text = "\n".join(lines)
    not_running = f"\n\nNot running while the spec has problems: {', '.join(lost)}." if lost else ""

    @dg.op(name=f"nexus_spec_problems__{name}")
    def report_problems() -> None:
        raise dg.Failure(
            description=f"the spec {path} has problems; fix them and reload the code "
            f"location:\n{text}",
            allow_retries=False,
        )

    @dg.job(
        name=name,
        description=(
            f"**This spec has problems and was not built** (`on_spec_error: isolate`). "
            f"Fix `{path}` and reload the code location:\n\n```\n{text}\n```{not_running}"
        ),
        tags={"nexus/spec_problems": "true"},
    )
    def isolated() -> None:
        report_problems()

    return isolated


def index_spec(
    index: SpecIndex, spec: JobSpec, path: str | None = None, digest: str | None = None
) -> None:
    """Record a loaded spec in ``index`` (``path``: its file as messages show it; ``digest``:
    its fields', when its job has it)."""
    asset_defaults = spec.model.asset_defaults
    index.add_spec(
        spec.name,
        path if path is not None else str(spec.path),
        spec.selected,
        spec.fields,
        partitioned=spec.partitions_def is not None,
        asset_defaults=asset_defaults,
        # An `asset_defaults` spec's file is looked at again by the first step of a run that
        # resolves it: a process that loaded it before an edit must not claim its version.
        stat=file_stat(str(spec.path)) if asset_defaults else None,
        file=str(spec.path),
        digest=digest,
    )


def _params(resources: Mapping[str, Any] | None, index: SpecIndex) -> Any:
    # A `params` the caller binds is kept, but a `NexusParams` of theirs still has to know the
    # spec jobs, or a partitioned job's values would be read as nothing at all.
    given = (resources or {}).get(RESOURCE_KEY)
    if given is None:
        return NexusParams.bound_to(index)
    if isinstance(given, NexusParams):
        values = {name: getattr(given, name) for name in NexusParams.model_fields}
        return type(given).bound_to(index, **values)
    return given


def _from_caller(path: Path) -> Path:
    if path.is_absolute():
        return path
    caller_file = sys._getframe(2).f_globals.get("__file__")
    return Path(caller_file).resolve().parent / path if caller_file else path
