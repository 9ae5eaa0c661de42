"""Edits to job spec files: create a spec, update one in place, migrate older-form specs.

These are the operations behind ``nexus-dagster create|update|migrate``, for teams that script
them. Every edit goes the same way:

1. take the specs folder's lock (``<specs>/.nexus-dagster.lock``), so that concurrent edits
   of the folder run one after the other and none is lost;
2. read the file with ruamel.yaml's round-trip loader, so comments, key order, quoting and
   the formatting of every part the edit does not touch survive;
3. apply the edit, then check the result against the code location's assets: the edited file
   must load without a problem, and no other file may get a problem it did not have. The check
   runs on the specs folder itself, with the edited text read in place of the file
   (``load_checked_specs(..., texts={path: new_text})``): nothing is copied or written for it;
4. write a temporary file beside the spec and ``os.replace`` it over the spec (``create``
   links it into place instead, so it never overwrites a file).

This module says what each operation means and runs those steps in order; what each edit does
to the document is in :mod:`nexus_dagster.spec_edits`, the comment-keeping YAML surgery in
:mod:`nexus_dagster.yaml_edit`, and the lock, the checks and the write (steps 1, 3 and 4) in
:mod:`nexus_dagster.edit_transaction`.

A refused edit raises :class:`NexusEditError` and leaves the file byte-identical. The change
lists in :class:`EditResult` name keys, never values (a value may be a secret's reference).

Example::

    from nexus_dagster.authoring import create_spec, update_spec

    create_spec("job_specs", "sales_only", assets=assets,
                select=["sales_ingestion_asset"],
                set_values={"sales_ingestion_asset.source_bucket": "sales-raw"})
    update_spec("job_specs", "sales_only", assets=assets, set_values={"target_bucket": "lake"})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from nexus_dagster.catalog import AssetLike, Catalog
from nexus_dagster.edit_transaction import (
    check_folder,
    check_written,
    folder_lock,
    load_alone,
    read_text,
    write_atomically,
)
from nexus_dagster.errors import NexusEditError
from nexus_dagster.rules import suggest
from nexus_dagster.spec import JobSpec
from nexus_dagster.spec_edits import (
    EditContext,
    deselect_asset,
    migrate,
    same_meaning,
    select_asset,
    set_value,
    unset_value,
)
from nexus_dagster.spec_model import JOB_NAME_RE
from nexus_dagster.spec_reading import spec_files
from nexus_dagster.yaml_edit import Style, load_doc
from nexus_dagster.yaml_source import YamlSyntaxError, load_yaml

__all__ = [
    "EditResult",
    "create_spec",
    "find_spec_file",
    "migrate_spec",
    "migrate_specs",
    "parse_assignment",
    "parse_value",
    "update_spec",
]


@dataclass
class EditResult:
    """What an edit did (or, with ``check=True``, would do) to one spec file.

    ``changes`` has one line per change, naming keys and never values; ``notes`` holds
    remarks that are not changes (a value already there, problems left in other files).
    """

    path: Path
    changed: bool
    text: str
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- reading values -------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """Read a ``--set`` VALUE as YAML, the way spec files are read.

    >>> parse_value("500"), parse_value("sales-raw"), parse_value("[a, b]"), parse_value("{env: KEY}")
    (500, 'sales-raw', ['a', 'b'], {'env': 'KEY'})
    """
    try:
        return load_yaml(text).value
    except YamlSyntaxError as err:
        raise ValueError(f"not a YAML value ({err.message}); quote it") from None


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split ``NAME=VALUE`` and read VALUE with :func:`parse_value`.

    >>> parse_assignment("sales_ingestion_asset.batch_size=500")
    ('sales_ingestion_asset.batch_size', 500)
    """
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise ValueError("expected NAME=VALUE, e.g. `target_bucket=lake`")
    return name.strip(), parse_value(value)


# --- finding a spec -------------------------------------------------------------------------


def find_spec_file(specs_dir: str | Path, job: str) -> Path:
    """The spec file of ``job`` (its ``name:``, else its file stem), even in a broken folder.

    Raises :class:`NexusEditError` naming the jobs there are, and the closest one.
    """
    root = Path(specs_dir)
    names = job_names(root)
    if job in names:
        return names[job]
    hint = suggest(job, names) or "."
    raise NexusEditError(
        str(root),
        [f"no job named `{job}` in this folder{hint} Jobs: {', '.join(sorted(names)) or 'none'}"],
    )


def job_names(root: Path) -> dict[str, Path]:
    """Each job of a specs folder and its file, from the files alone (even broken ones)."""
    names: dict[str, Path] = {}
    for path in spec_files(root) if root.is_dir() else []:
        try:
            value = load_yaml(path.read_text(encoding="utf-8")).value
        except (OSError, UnicodeDecodeError, YamlSyntaxError):
            value = None
        name = value.get("name") if isinstance(value, dict) else None
        names.setdefault(name if isinstance(name, str) else path.stem, path)
    return names


# --- the operations -------------------------------------------------------------------------


def create_spec(
    specs_dir: str | Path,
    job: str,
    *,
    assets: Sequence[AssetLike],
    select: Sequence[str],
    set_values: Mapping[str, Any] | None = None,
    description: str | None = None,
    schema: str | None = None,
) -> EditResult:
    """Write a new spec ``<specs_dir>/<job>.yaml`` selecting ``select``; never overwrites.

    Prefixed names in ``set_values`` go to ``ops_config`` and ``params_schema`` (with the
    asset's declared type), simple names to ``parameter_values``. ``schema`` (a URL or a path
    relative to the file) starts the file with ``# yaml-language-server: $schema=...``, the
    line VS Code's YAML extension and other yaml-language-server editors read.

    Example::

        create_spec("job_specs", "sales_only", assets=assets, select=["sales_ingestion_asset"],
                    set_values={"sales_ingestion_asset.batch_size": 500})
    """
    root = Path(specs_dir)
    if not JOB_NAME_RE.match(job):
        raise NexusEditError(
            str(root / f"{job}.yaml"),
            [f"`{job}` is not a valid job name: use letters, digits, `_`"],
        )
    if not select:
        raise NexusEditError(str(root / f"{job}.yaml"), ["select at least one asset"])

    def change(doc: CommentedMap, ctx: EditContext) -> None:
        if schema:
            doc.yaml_set_start_comment(f"yaml-language-server: $schema={schema}")
        if description:
            doc["description"] = description
        doc["selection"] = CommentedSeq()
        for asset in select:
            select_asset(doc, ctx, asset)
        for name, value in (set_values or {}).items():
            set_value(doc, ctx, name, value)

    return _edit(root, root / f"{job}.yaml", assets, change, create=True)


def update_spec(
    specs_dir: str | Path,
    job: str,
    *,
    assets: Sequence[AssetLike],
    set_values: Mapping[str, Any] | None = None,
    unset: Sequence[str] = (),
    select: Sequence[str] = (),
    deselect: Sequence[str] = (),
) -> EditResult:
    """Edit the spec of ``job`` in place, in this order: select, deselect, unset, set.

    - ``set_values={"A.p": v}`` puts ``v`` under ``ops_config: {A: {p: v}}`` and, when
      ``params_schema`` has no ``A.p`` yet, adds it with the field's type;
      ``{"p": v}`` puts ``v`` under ``parameter_values``.
    - ``unset=["A.p"]`` removes that value from ``ops_config``, and the ``params_schema``
      entry ``A.p`` when it says nothing the declaration does not (its type is the one the
      field has without it); ``unset=["p"]`` removes ``p`` from ``parameter_values``.
    - ``deselect=["A"]`` removes ``A`` from the selection and every entry that names it
      (``params_schema``, ``ops_config``, schedules' and sensors' ``parameter_values``), and
      the shared entries no selected asset declares any more; ``changes`` lists them.
    - ``select=["A"]`` adds ``A`` to the selection.

    Example::

        update_spec("job_specs", "sales_job", assets=assets,
                    set_values={"sales_ingestion_asset.batch_size": 500}, unset=["target_bucket"])
    """
    root = Path(specs_dir)
    path = find_spec_file(root, job)

    def change(doc: CommentedMap, ctx: EditContext) -> None:
        for asset in select:
            select_asset(doc, ctx, asset)
        for asset in deselect:
            deselect_asset(doc, ctx, asset)
        for name in unset:
            unset_value(doc, ctx, name)
        for name, value in (set_values or {}).items():
            set_value(doc, ctx, name, value)

    return _edit(root, path, assets, change)


def migrate_spec(
    specs_dir: str | Path, job: str, *, assets: Sequence[AssetLike], check: bool = False
) -> EditResult:
    """Rewrite the spec of ``job`` from the older form into the prefixed form (docs/spec-format.md).

    The rule, for each simple name ``p`` in ``params_schema`` (type ``T``) such that some
    selected asset that declares ``p`` has its own value ``ops_config: {A: {p: ...}}``:

    1. ``A.p: T`` is added to ``params_schema`` for every such asset ``A`` that has no
       ``A.p`` entry yet, right after ``p`` (before migration the field ``A.p`` overrides
       the shared ``p`` and has ``p``'s type ``T``; after, it has the type ``T`` of its own).
    2. ``p`` itself is removed when every selected asset that declares ``p`` has its own value
       and no ``parameter_values`` (top-level, schedules', sensors') names ``p``: a per-asset
       value always wins over a shared one, so the shared field could never reach an asset.
       Otherwise ``p`` stays, as it still feeds the assets without a value of their own.

    Every other field keeps its name, type, default and required-ness, so each asset resolves
    the same values from the same launch values (a launch value for a removed, dead ``p``
    was ignored before, and is refused as unknown after). Comments stay: ``p``'s end-of-line
    comment moves to the first entry that replaces it. Migrating twice changes nothing.
    With ``check=True`` nothing is written; ``EditResult.changed`` tells whether it would be.

    Example::

        result = migrate_spec("job_specs", "legacy_ingest_job", assets=assets, check=True)
        result.changed, result.changes
    """
    root = Path(specs_dir)
    path = find_spec_file(root, job)

    def change(doc: CommentedMap, ctx: EditContext) -> None:
        if ctx.spec is None:
            ctx.refuse(
                "the spec has problems; fix them first (see `nexus-dagster validate`)",
                *ctx.spec_problems,
            )
            return
        migrate(doc, ctx, ctx.spec)

    return _edit(root, path, assets, change, check_only=check, guard=same_meaning)


def migrate_specs(
    specs_dir: str | Path, *, assets: Sequence[AssetLike], check: bool = False
) -> list[EditResult]:
    """:func:`migrate_spec` for every spec of the folder, in file order.

    Example::

        [r.path for r in migrate_specs("job_specs", assets=assets, check=True) if r.changed]
    """
    root = Path(specs_dir)
    return [
        migrate_spec(root, job, assets=assets, check=check)
        for job, _ in sorted(job_names(root).items(), key=lambda item: str(item[1]))
    ]


# --- one edit, from lock to write -----------------------------------------------------------


def _edit(
    root: Path,
    path: Path,
    assets: Sequence[AssetLike],
    change: Callable[[CommentedMap, EditContext], None],
    *,
    create: bool = False,
    check_only: bool = False,
    guard: Callable[[JobSpec | None, JobSpec | None], list[str]] | None = None,
) -> EditResult:
    """Apply ``change`` to the document of ``path`` under the folder's lock, check the result,
    and write it (unless ``check_only``); ``guard`` compares the spec before and after."""
    if not root.is_dir():
        raise NexusEditError(str(path), [f"specs folder {root} not found"])
    catalog = Catalog(assets)
    with folder_lock(root, path):
        if create:
            existing = [
                p for p in (path.with_suffix(".yaml"), path.with_suffix(".yml")) if p.exists()
            ]
            if existing or path.stem in job_names(root):
                where = existing[0] if existing else job_names(root)[path.stem]
                raise NexusEditError(
                    str(path),
                    [f"job `{path.stem}` already exists in {where}; change it with `update`"],
                )
            old_text, newline = "", "\n"
        else:
            old_text, newline = read_text(path)
        spec, spec_problems = load_alone(path, old_text, assets) if old_text else (None, [])
        ctx = EditContext(catalog, spec, spec_problems)
        style = Style.guess(old_text)
        doc = load_doc(path, old_text, style)
        change(doc, ctx)
        if ctx.reasons:
            raise NexusEditError(str(path), ctx.reasons)
        new_text = style.dump(doc)
        if new_text == old_text:
            return EditResult(path, False, old_text, ctx.changes, [*ctx.notes, "nothing to change"])
        check_written(path, new_text, ctx.written)
        reasons, notes = check_folder(root, path, new_text, assets, ctx.origins)
        new_spec, _ = load_alone(path, new_text, assets)
        if not reasons and guard is not None:
            reasons = guard(spec, new_spec)
        if reasons:
            raise NexusEditError(str(path), reasons)
        if not check_only:
            write_atomically(path, new_text.replace("\n", newline), exclusive=create)
        return EditResult(path, True, new_text, ctx.changes, [*ctx.notes, *notes])
