"""Loading a specs folder into checked :class:`JobSpec` objects, with every problem of every
file collected into one :class:`NexusSpecError`: the public entry points, and the cache of
checked specs (:mod:`nexus_dagster.spec_cache`) wired in.

What a spec is lives in :mod:`nexus_dagster.spec_model` (``JobSpec`` is importable from here
too), reading its file in :mod:`nexus_dagster.spec_reading`, its checks in
:mod:`nexus_dagster.spec_checks` and those of its schedules and sensors in
:mod:`nexus_dagster.spec_entries`.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nexus_dagster.catalog import AssetLike, Catalog
from nexus_dagster.errors import NexusSpecError, SpecProblem
from nexus_dagster.partitioned import selection_partitions
from nexus_dagster.spec_cache import (
    CachedDocument,
    SpecCache,
    decode_field,
    encode_field,
    is_plain,
    positions_to_json,
)
from nexus_dagster.spec_checks import (
    check_against_assets,
    check_alone,
    check_asset_defaults,
    check_automation,
    check_typed_values,
    check_types_alone,
    check_unique_names,
)
from nexus_dagster.spec_entries import check_entries, check_unique_schedule_names
from nexus_dagster.spec_model import JobSpec, JobSpecModel
from nexus_dagster.spec_reading import read_file, read_spec, spec_files

__all__ = ["JobSpec", "check_specs_folder", "gc_paused", "load_checked_specs", "load_job_specs"]


def load_job_specs(
    specs_dir: str | Path, assets: Sequence[AssetLike] | None = None
) -> list[JobSpec]:
    """Load and check every spec under ``specs_dir``.

    Without ``assets`` only what the files alone can tell is checked (YAML, keys, types, cron,
    timezones, names); with the code location's assets, everything (docs/parameters.md).
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
        data = text.encode("utf-8") if text is not None else read_file(path, real_root, problems)
        if data is None:
            continue
        if catalog is None:
            loaded = _parse_file(path, data, problems)
        else:
            loaded = _checked_file(path, data, catalog, cache if text is None else None, problems)
        if loaded is not None:
            specs.append(loaded)
    check_unique_names(specs)
    if catalog is not None:
        for spec in specs:
            check_typed_values(spec, catalog)
        check_unique_schedule_names(specs)
        check_asset_defaults(specs)
        if whole_folder:
            problems.extend(check_automation(specs, catalog, root))
    else:
        for spec in specs:
            check_types_alone(spec)
    if cache is not None and not texts:
        cache.save()
    problems.extend(p for spec in specs for p in spec.problems)
    return specs, problems


def _parse_file(path: Path, data: bytes, problems: list[SpecProblem]) -> JobSpec | None:
    """A spec file's bytes read into a :class:`JobSpec`, with the checks of the file alone."""
    spec = read_spec(path, data, problems)
    if spec is not None:
        check_alone(spec)
    return spec


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
            check_against_assets(spec, catalog)
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
    check_against_assets(spec, catalog)
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
    check_entries(spec)
    return None if spec.problems else spec
