"""Job spec files: the pydantic model of one file (contract §3), and loading a specs folder
into checked :class:`JobSpec` objects, with every problem of every file collected into one
:class:`NexusSpecError`.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import stat
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from dagster._utils.schedules import is_valid_cron_string
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from nexus_dagster.catalog import AssetInfo, AssetLike, Catalog
from nexus_dagster.errors import NexusSelectionError, NexusSpecError, SpecProblem
from nexus_dagster.naming import split_name
from nexus_dagster.param_types import TypeStringError, parse_type
from nexus_dagster.partitioned import (
    backfill_problem,
    describe,
    is_time_window,
    key_problem,
    placeholder_problems,
    selection_partitions,
)
from nexus_dagster.rules import (
    JobField,
    derive_fields,
    run_config_from_values,
    section_problems,
    suggest,
)
from nexus_dagster.spec_cache import (
    CachedDocument,
    SpecCache,
    decode_field,
    encode_field,
    is_plain,
    positions_to_json,
)
from nexus_dagster.templates import (
    SENSOR_FIELDS,
    partition_placeholders,
    sensor_placeholders,
    sensor_sample,
)
from nexus_dagster.yaml_source import MAX_FILE_BYTES, YamlDocument, YamlSyntaxError, load_yaml

JOB_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")  # Dagster's own rule for job and schedule names
DAGSTER_OWN_PREFIX = "__"  # Dagster's own jobs (`__ASSET_JOB`)


def usable_job_name(name: str) -> bool:
    """Whether a spec's job may be called ``name``: Dagster's rule for names, and not one of
    the names Dagster keeps for its own jobs."""
    return bool(JOB_NAME_RE.match(name)) and not name.startswith(DAGSTER_OWN_PREFIX)


SPEC_SUFFIXES = (".yaml", ".yml")


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
    """A schedule of a job: the full flat values each tick launches (``run_config``), Dagster's
    own sections added to each run, and for a partitioned job the partition it names (``None``:
    the latest complete time window)."""

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
            SpecProblem(str(self.path), line, col, dotted(key), _printable(message), others)
        )


def _printable(text: str) -> str:
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
            text += f".{_printable(str(part))}" if text else _printable(str(part))
    return text


def spec_files(specs_dir: Path) -> list[Path]:
    """Every ``*.yaml`` / ``*.yml`` file under ``specs_dir``, hidden folders skipped, sorted."""
    return sorted(
        p
        for p in specs_dir.rglob("*")
        if p.suffix in SPEC_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(specs_dir).parts)
        and (p.is_file() or p.is_symlink())
    )


def load_job_specs(
    specs_dir: str | Path, assets: Sequence[AssetLike] | None = None
) -> list[JobSpec]:
    """Load and check every spec under ``specs_dir``.

    Without ``assets`` only what the files alone can tell is checked (YAML, keys, types, cron,
    timezones, names); with the code location's assets, everything (contract §4).
    Raises :class:`NexusSpecError` listing every problem of every file.

    Example::

        specs = load_job_specs("job_specs", assets=[sales_ingestion_asset, report])
        [(f.name, f.required, f.default) for f in specs[0].fields]
    """
    with gc_paused():
        return _load_job_specs(Path(specs_dir), Catalog(assets) if assets is not None else None)


def load_checked_specs(
    specs_dir: Path,
    catalog: Catalog,
    *,
    texts: Mapping[Path, str] | None = None,
    whole_folder: bool = True,
) -> list[JobSpec]:
    """:func:`load_job_specs` with the code location's assets already read into ``catalog``.

    ``texts`` checks an edit before it is written: each path of ``specs_dir`` in it is read as
    that text instead of its file (a path with no file yet is a new file). The cache of checked
    specs is then read for the other files but not written: nothing of an edit that may be
    refused outlives the check. ``whole_folder=False`` checks only the files of ``texts``, out
    of their folder: the checks that need every spec of the folder (declarative automation's
    values) are left to the folder's check."""
    with gc_paused():
        return _load_job_specs(specs_dir, catalog, whole_folder, texts or {})


def check_specs_folder(
    specs_dir: Path, catalog: Catalog
) -> tuple[list[JobSpec], list[SpecProblem]]:
    """Every spec of ``specs_dir`` that could be read, and every problem of the folder, without
    raising for them (the specs with problems among the rest): what a code location that
    isolates broken specs builds from. Raises :class:`NexusSpecError` only when the folder is
    missing."""
    with gc_paused():
        return _specs_and_problems(specs_dir, catalog, True, {})


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the duration (unless it already was).

    Reading specs and building their jobs allocate hundreds of thousands of short-lived objects,
    which set off full collections that walk everything the code location holds (dagster and
    every asset): a third of the time of loading 500 specs. Reference counting frees these
    objects as usual; the collector resumes, and catches any cycle left, when this returns.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _load_job_specs(
    root: Path,
    catalog: Catalog | None,
    whole_folder: bool = True,
    texts: Mapping[Path, str] | None = None,
) -> list[JobSpec]:
    specs, problems = _specs_and_problems(root, catalog, whole_folder, texts or {})
    if problems:
        raise NexusSpecError(problems, specs_dir=str(root))
    return specs


def _specs_and_problems(
    root: Path, catalog: Catalog | None, whole_folder: bool, texts: Mapping[Path, str]
) -> tuple[list[JobSpec], list[SpecProblem]]:
    if not root.is_dir():
        raise NexusSpecError(
            [SpecProblem(str(root), 1, 1, "", "specs folder not found; create it or pass --specs")],
            specs_dir=str(root),
        )
    problems: list[SpecProblem] = []
    specs: list[JobSpec] = []
    cache = SpecCache.open(root) if catalog is not None else None
    real_root = root.resolve()
    paths = sorted({*spec_files(root), *texts}) if whole_folder else sorted(texts)
    for path in paths:
        text = texts.get(path)
        data = text.encode("utf-8") if text is not None else _read_file(path, real_root, problems)
        if data is None:
            continue
        if catalog is None:
            loaded = _parse_file(path, data, problems)
        else:
            loaded = _checked_file(path, data, catalog, cache if text is None else None, problems)
        if loaded is not None:
            specs.append(loaded)
    _check_unique_names(specs)
    if catalog is not None:
        _check_unique_schedule_names(specs)
        _check_asset_defaults(specs)
        if whole_folder:
            problems.extend(_check_automation(specs, catalog, root))
    else:
        for spec in specs:
            _check_types_alone(spec)
    if cache is not None and not texts:
        cache.save()
    problems.extend(p for spec in specs for p in spec.problems)
    return specs, problems


def _checked_file(
    path: Path,
    data: bytes,
    catalog: Catalog,
    cache: SpecCache | None,
    problems: list[SpecProblem],
) -> JobSpec | None:
    """One file checked against the assets, or taken from the cache (when given) if an earlier
    check of the same bytes against the same declarations passed."""
    if cache is None:
        spec = _parse_file(path, data, problems)
        if spec is not None:
            _check_against_assets(spec, catalog)
        return spec
    key = cache.key(path.relative_to(cache.root).as_posix(), data)
    entry = cache.get(key)
    if entry is not None:
        spec = _from_entry(entry, path, catalog, cache)
        if spec is not None:
            cache.keep(key)
            return spec
    reported = len(problems)
    spec = _parse_file(path, data, problems)
    if spec is None:
        return None
    _check_against_assets(spec, catalog)
    # Reading the file may report a problem outside the spec's own (a duplicate key): a file
    # with any problem is never cached, or its next check would pass it.
    if not spec.problems and len(problems) == reported:
        fresh = _entry(spec, catalog, cache)
        if fresh is not None:
            cache.put(key, fresh)
    return spec


def _declarations(selected: Sequence[str], catalog: Catalog, cache: SpecCache) -> str:
    digest = hashlib.sha256()
    for name in selected:
        digest.update(cache.declaration_text(catalog.by_name[name]).encode() + b"\n")
    return digest.hexdigest()


def _entry(spec: JobSpec, catalog: Catalog, cache: SpecCache) -> dict[str, Any] | None:
    """What the cache keeps of a spec that passed every check of its own."""
    fields = [encode_field(f) for f in spec.fields]
    if not (is_plain(spec.document.value) and is_plain(fields)):
        return None
    return {
        "value": spec.document.value,
        "positions": json.dumps(positions_to_json(spec.document.positions)),
        "selected": list(spec.selected),
        "declarations": _declarations(spec.selected, catalog, cache),
        "fields": fields,
    }


def _from_entry(
    entry: Mapping[str, Any], path: Path, catalog: Catalog, cache: SpecCache
) -> JobSpec | None:
    """The spec a cache entry stands for, if its assets still resolve to the same names with the
    same declarations; ``None`` otherwise (the file is then checked as if never seen)."""
    # Whatever is wrong with an entry (a cache file edited by hand, one written by other code),
    # it only means the file is checked again.
    try:
        model = JobSpecModel.model_validate(entry["value"])
        if isinstance(model.selection, str):
            selected = tuple(catalog.resolve_selection(model.selection))
        else:
            selected = tuple(dict.fromkeys(model.selection))
        if (
            list(selected) != entry["selected"]
            or not all(name in catalog.by_name for name in selected)
            or _declarations(selected, catalog, cache) != entry["declarations"]
        ):
            return None
        document = CachedDocument(entry["value"], entry["positions"])
        fields = tuple(decode_field(f) for f in entry["fields"])
    except Exception:
        return None
    spec = JobSpec(path, model.name or path.stem, model, document, selected, fields)
    spec.partitions_def, _ = selection_partitions([catalog.by_name[n] for n in selected])
    _check_entries(spec)
    return None if spec.problems else spec


def _file_problem(path: Path, line: int, col: int, message: str) -> SpecProblem:
    return SpecProblem(str(path), line, col, "", _printable(message))


def _read_file(path: Path, real_root: Path, problems: list[SpecProblem]) -> bytes | None:
    """The bytes of a spec file, or ``None`` with the problem when it may not or cannot be read.

    ``real_root`` is the specs folder with its links resolved (once per load)."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a link loop: RuntimeError before Python 3.13
        problems.append(_file_problem(path, 1, 1, "refused: a link that cannot be followed"))
        return None
    if not resolved.is_relative_to(real_root):
        problems.append(
            _file_problem(path, 1, 1, "refused: a link that leads outside the specs folder")
        )
        return None
    try:
        status = resolved.stat()
    except OSError:
        status = None
    if status is None or not stat.S_ISREG(status.st_mode):
        problems.append(_file_problem(path, 1, 1, "not a regular file"))
        return None
    if status.st_size > MAX_FILE_BYTES:
        problems.append(
            _file_problem(path, 1, 1, f"file is larger than the limit of {MAX_FILE_BYTES} bytes")
        )
        return None
    try:
        return resolved.read_bytes()
    except OSError as err:
        problems.append(_file_problem(path, 1, 1, f"cannot be read: {err.strerror}"))
        return None


def _parse_file(path: Path, data: bytes, problems: list[SpecProblem]) -> JobSpec | None:
    """A spec file's bytes read into a :class:`JobSpec`, with the checks of the file alone."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        problems.append(_file_problem(path, line, col, "not valid UTF-8 text; save it as UTF-8"))
        return None
    try:
        document = load_yaml(text)
    except YamlSyntaxError as err:
        problems.append(_file_problem(path, err.line, err.col, err.message))
        return None
    for key, line, col in document.duplicates:
        problems.append(
            SpecProblem(str(path), line, col, dotted(key), "duplicate key; keep only one")
        )
    if not isinstance(document.value, dict):
        kinds = {type(None): "an empty file", list: "a list", str: "text", bool: "a boolean"}
        what = kinds.get(type(document.value), "a number")
        problems.append(
            _file_problem(
                path, 1, 1, f"a job spec must be a mapping with at least `selection:`, got {what}"
            )
        )
        return None
    try:
        model = JobSpecModel.model_validate(document.value)
    except ValidationError as err:
        return _partial_spec(path, document, err, problems)
    spec = JobSpec(path, model.name or path.stem, model, document)
    _check_alone(spec)
    return spec


def _partial_spec(
    path: Path, document: YamlDocument, err: ValidationError, problems: list[SpecProblem]
) -> JobSpec | None:
    """A file whose model did not validate, still checked for everything else: each top-level
    key with a problem is reported and left out, and the rest is read and checked as usual (so
    a misspelled key does not hide an unknown asset or a value of the wrong type). ``None``
    when what is left is not a spec (no usable ``selection:``)."""
    errors = err.errors()
    reported = JobSpec(path, path.stem, JobSpecModel(selection=[]), document)
    for error in errors:
        _pydantic_problem(reported, error)
    bad = {error["loc"][0] for error in errors if error["loc"]}
    try:
        model = JobSpecModel.model_validate(
            {k: v for k, v in document.value.items() if k not in bad}
        )
    except ValidationError:
        problems.extend(reported.problems)
        return None
    spec = JobSpec(path, model.name or path.stem, model, document, problems=reported.problems)
    _check_alone(spec)
    return spec


_ENTRY_MODELS: dict[str, type[BaseModel]] = {"schedules": ScheduleModel, "sensors": SensorModel}


def _model_at(loc: list[Any]) -> type[BaseModel] | None:
    if not loc:
        return JobSpecModel
    if len(loc) == 2 and isinstance(loc[1], int):
        return _ENTRY_MODELS.get(str(loc[0]))
    return None


def _data_loc(value: Any, loc: Sequence[Any]) -> list[Any]:
    """pydantic's ``loc`` without the markers it adds (``[key]``, union members such as
    ``list[str]``); a key of the file that holds ``[`` stays."""
    kept = []
    for part in loc:
        in_dict = isinstance(value, dict) and part in value
        if in_dict or (isinstance(value, list) and type(part) is int and 0 <= part < len(value)):
            value = value[part]
        elif isinstance(part, str) and "[" in part:
            continue
        else:
            value = None
        kept.append(part)
    return kept


def _pydantic_problem(spec: JobSpec, error: Any) -> None:
    loc = _data_loc(spec.document.value, error["loc"])
    kind = error["type"]
    if kind == "invalid_key" or error["loc"][-1:] == ("[key]",):
        # pydantic shows a key `on` as 1 in `loc`; point at it as YAML read it.
        value = error.get("input")
        read_as = {bool: "a boolean", type(None): "null"}.get(type(value), "a number")
        spec.problem(
            [*loc[:-1], value],
            f"this key is read by YAML as {read_as}, not as a name; put it in quotes "
            '(YAML reads unquoted on/off/yes/no/true/false as booleans, e.g. write `"on":`)',
        )
    elif kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        key = str(loc[-1])
        valid = list(parent.model_fields) if parent else []
        hint = suggest(key, valid)
        spec.problem(loc, f"unknown key `{key}`{hint or '.'} Valid keys: {', '.join(valid)}")
    elif kind == "missing":
        parent_key, key = loc[:-1], str(loc[-1])
        spec.problem(parent_key, f"missing required key `{key}`")
    elif kind == "value_error":
        spec.problem(loc, str(error["ctx"]["error"]))
    elif kind == "literal_error":
        spec.problem(loc, f"must be one of {error['ctx']['expected']}")
    elif kind == "bool_type":
        got = type(error.get("input")).__name__
        spec.problem(loc, f"must be `true` or `false` (got {got})")
    else:
        got = type(error.get("input")).__name__
        spec.problem(loc, f"{error['msg'].lower().replace('input', 'value')} (got {got})")


def _check_alone(spec: JobSpec) -> None:
    """Checks that need nothing but the file."""
    model = spec.model
    if not JOB_NAME_RE.match(spec.name):
        if model.name is not None:
            spec.problem(
                ["name"], f"`{spec.name}` is not a valid job name: use letters, digits, `_`"
            )
        else:
            spec.problem(
                [],
                f"the file name `{spec.path.stem}` is not a valid job name (letters, digits, `_`); "
                "rename the file or set `name:`",
            )
    elif spec.name.startswith(DAGSTER_OWN_PREFIX):
        # Dagster's own jobs (`__ASSET_JOB`): a spec of that name would replace the job behind
        # every Materialize button of the location.
        where: list[Any] = ["name"] if model.name is not None else []
        spec.problem(
            where,
            f"`{spec.name}`: names starting with `__` are Dagster's own (`__ASSET_JOB` runs "
            f"the asset graph); {'choose another name' if where else 'rename the file or set `name:`'}",
        )
    if isinstance(model.selection, list) and not model.selection:
        spec.problem(["selection"], "selection is empty; list at least one asset key")
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


def _check_types_alone(spec: JobSpec) -> None:
    """Without assets: type strings and name forms (with assets, the rules check these)."""
    for name, text in spec.model.params_schema.items():
        try:
            parse_type(text)
        except TypeStringError as err:
            spec.problem(["params_schema", name], str(err))
    for name in spec.model.parameter_values:
        asset, param = split_name(name)
        if asset is not None:
            spec.problem(
                ["parameter_values", name],
                f"prefixed name `{name}` in `parameter_values`: a value for one asset goes "
                f"under `ops_config: {{{asset}: {{{param}: ...}}}}`",
            )


def _check_unique_names(specs: list[JobSpec]) -> None:
    seen: dict[str, JobSpec] = {}
    for spec in specs:
        first = seen.setdefault(spec.name, spec)
        if first is not spec:
            spec.problem(
                ["name"] if spec.model.name else [],
                f"job name `{spec.name}` is already used by {first.path}; give one a "
                "different `name:`",
                shared_with=[first.path],
            )


def entry_names(spec: JobSpec) -> list[tuple[str, int, str]]:
    """``(section, index, name)`` of each schedule and sensor of a checked spec: they share
    one namespace in a code location."""
    entries = [("schedules", i, s.name) for i, s in enumerate(spec.schedules)]
    return entries + [("sensors", i, s.name) for i, s in enumerate(spec.sensors)]


def _check_unique_schedule_names(specs: list[JobSpec]) -> None:
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


def _check_asset_defaults(specs: list[JobSpec]) -> None:
    """At most one ``asset_defaults`` spec may select an asset."""
    by_asset: dict[str, list[JobSpec]] = {}
    for spec in specs:
        if spec.model.asset_defaults:
            for asset in spec.selected:
                by_asset.setdefault(asset, []).append(spec)
    for asset, owners in by_asset.items():
        if len(owners) < 2:
            continue
        files = ", ".join(str(spec.path) for spec in owners)
        for spec in owners:
            spec.problem(
                ["asset_defaults"],
                f"asset `{asset}` is selected by {len(owners)} `asset_defaults` specs ({files}); "
                "its values outside spec jobs must come from one: set `asset_defaults: true` in "
                "only one of them",
            )


def defaults_specs(specs: Sequence[JobSpec]) -> dict[str, JobSpec]:
    """The ``asset_defaults`` spec of each asset that has one."""
    return {asset: spec for spec in specs if spec.model.asset_defaults for asset in spec.selected}


def unfilled_params(spec: JobSpec | None, asset: AssetInfo) -> list[str]:
    """The required parameters of ``asset`` that a run outside spec jobs with no run config
    leaves without a value: those its ``asset_defaults`` spec (``spec``) gives no value."""
    given = set()
    if spec is not None:
        for f in spec.fields:
            if f.has_default and asset.name in f.assets:
                given.add(f.param)
    return [p for p, ptype in asset.params.items() if ptype.required and p not in given]


def _check_automation(specs: list[JobSpec], catalog: Catalog, root: Path) -> list[SpecProblem]:
    """An asset with an ``automation_condition`` runs with no run config: each required
    parameter it reads must have a value in its ``asset_defaults`` spec. Returns the problems
    of assets that no spec selects (those of the folder, not of a file)."""
    unselected: list[SpecProblem] = []
    defaults = defaults_specs(specs)
    selecting: dict[str, list[JobSpec]] = {}
    for spec in specs:
        for asset in spec.selected:
            selecting.setdefault(asset, []).append(spec)
    for info in catalog.by_name.values():
        if not info.automated:
            continue
        owner = defaults.get(info.name)
        missing = unfilled_params(owner, info)
        if not missing:
            continue
        listed = ", ".join(f"`{p}`" for p in missing)
        head = (
            f"asset `{info.name}` has an `automation_condition`, and declarative automation "
            f"launches its runs with no run config, so they need a value for {listed}"
        )
        if owner is not None:
            owner.problem(
                ["asset_defaults"],
                f"{head}, which this spec does not give: set "
                + " or ".join(f"`ops_config: {{{info.name}: {{{p}: ...}}}}`" for p in missing),
            )
            continue
        users = selecting.get(info.name, [])
        if users:
            names = ", ".join(f"`{s.name}` ({s.path})" for s in users)
            for spec in users:
                spec.problem(
                    _selection_key(spec, info.name),
                    f"{head}, and no `asset_defaults` spec selects it (specs that select it: "
                    f"{names}): add `asset_defaults: true` to one of them and give the values "
                    "there",
                )
        else:
            message = (
                f"{head}, and no spec selects it: add a spec with `asset_defaults: true` that "
                "selects it and gives the values"
            )
            unselected.append(SpecProblem(str(root), 1, 1, "", message))
    return unselected


def _selection_key(spec: JobSpec, asset: str) -> list[Any]:
    listed = spec.model.selection
    if isinstance(listed, list) and asset in listed:
        return ["selection", listed.index(asset)]
    return ["selection"]


def _check_against_assets(spec: JobSpec, catalog: Catalog) -> None:
    model = spec.model
    unknown: set[str] = set()
    if isinstance(model.selection, str):
        try:
            selected = catalog.resolve_selection(model.selection)
        except NexusSelectionError as err:
            spec.problem(["selection"], str(err))
            return
        if not selected:
            spec.problem(["selection"], f"selection `{model.selection}` selects no asset")
            return
    else:
        # The assets that exist are still checked when another is unknown, so that one typo
        # does not hide the file's other problems.
        selected = []
        for index, name in enumerate(model.selection):
            if name in catalog.by_name:
                selected.append(name)
            else:
                hint = suggest(name, catalog.by_name)
                spec.problem(["selection", index], f"unknown asset `{name}`{hint}")
                unknown.add(name)
        if not selected:
            return
    spec.selected = tuple(dict.fromkeys(selected))
    infos = [catalog.by_name[name] for name in spec.selected]
    partitions_def, mixed = selection_partitions(infos)
    if mixed:
        spec.problem(["selection"], mixed)
        return
    spec.partitions_def = partitions_def
    several = backfill_problem(infos)
    if several:
        spec.problem(["selection"], several)
        return
    used = {info.name: partition_placeholders(info.config) for info in infos}
    for asset, message in placeholder_problems(infos, used):
        listed = spec.model.selection
        at: list[Any] = ["selection"]
        if isinstance(listed, list) and asset in listed:
            at.append(listed.index(asset))
        spec.problem(at, message)
    fields, rule_problems = derive_fields(
        {name: catalog.by_name[name].params for name in spec.selected},
        params_schema=model.params_schema,
        parameter_values=model.parameter_values,
        ops_config=model.ops_config,
        known_assets=catalog.by_name,
    )
    for problem in rule_problems:
        key = list(problem.key)
        if key[:1] == ["ops_config"] and len(key) > 1 and key[1] in unknown:
            continue  # that asset's name is already reported in `selection`
        spec.problem(problem.key, problem.message)
    if rule_problems or unknown:
        return
    spec.fields = tuple(fields)
    _check_entries(spec)


def _check_entries(spec: JobSpec) -> None:
    """The schedules and sensors of a spec whose fields are known, checked against them."""
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
        _, config_problems = run_config_from_values(fields, sample)
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
