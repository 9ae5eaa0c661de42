"""Edits to job spec files: create a spec, update one in place, migrate older-form specs.

These are the operations behind ``nexus-dagster create|update|migrate``, for teams that script
them. Every edit goes the same way:

1. take the specs folder's lock (``<specs>/.nexus-dagster.lock``), so that concurrent edits
   of the folder run one after the other and none is lost;
2. read the file with ruamel.yaml's round-trip loader, so comments, key order, quoting and
   the formatting of every part the edit does not touch survive;
3. apply the edit, then check the result against the code location's assets: the edited file
   must load without a problem, and no other file may get a problem it did not have (the
   folder is checked in a temporary copy with ``load_job_specs``);
4. write a temporary file beside the spec and ``os.replace`` it over the spec (``create``
   links it into place instead, so it never overwrites a file).

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

import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock, Timeout
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from nexus_dagster.catalog import AssetLike, Catalog
from nexus_dagster.errors import NexusEditError, NexusSpecError, SpecProblem
from nexus_dagster.naming import prefixed, split_name
from nexus_dagster.param_types import ParamType, TypeStringError, parse_type
from nexus_dagster.rules import JobField, suggest
from nexus_dagster.spec import (
    JOB_NAME_RE,
    JobSpec,
    load_checked_specs,
    spec_files,
)
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

LOCK_NAME = ".nexus-dagster.lock"
LOCK_TIMEOUT_SECONDS = 60.0
TOP_LEVEL_ORDER = (
    "name",
    "description",
    "selection",
    "params_schema",
    "parameter_values",
    "ops_config",
    "tags",
    "schedules",
    "sensors",
)
_VALUE_SECTIONS = ("schedules", "sensors")  # lists whose items carry their own parameter_values


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

    def change(doc: CommentedMap, ctx: _Context) -> None:
        if schema:
            doc.yaml_set_start_comment(f"yaml-language-server: $schema={schema}")
        if description:
            doc["description"] = description
        doc["selection"] = CommentedSeq()
        for asset in select:
            _select(doc, ctx, asset)
        for name, value in (set_values or {}).items():
            _set(doc, ctx, name, value)

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

    def change(doc: CommentedMap, ctx: _Context) -> None:
        for asset in select:
            _select(doc, ctx, asset)
        for asset in deselect:
            _deselect(doc, ctx, asset)
        for name in unset:
            _unset(doc, ctx, name)
        for name, value in (set_values or {}).items():
            _set(doc, ctx, name, value)

    return _edit(root, path, assets, change)


def migrate_spec(
    specs_dir: str | Path, job: str, *, assets: Sequence[AssetLike], check: bool = False
) -> EditResult:
    """Rewrite the spec of ``job`` from the older form into the prefixed form of contract §3.

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

    def change(doc: CommentedMap, ctx: _Context) -> None:
        if ctx.spec is None:
            ctx.refuse(
                "the spec has problems; fix them first (see `nexus-dagster validate`)",
                *ctx.spec_problems,
            )
            return
        _migrate(doc, ctx, ctx.spec)

    return _edit(root, path, assets, change, check_only=check, guard=_same_meaning)


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


@dataclass
class _Context:
    """What an edit knows and has done so far."""

    catalog: Catalog
    spec: JobSpec | None  # the file as loaded with the assets before the edit, when it loads
    spec_problems: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    written: list[tuple[tuple[Any, ...], Any]] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)  # dotted key -> the option behind it

    def refuse(self, *reasons: str) -> None:
        self.reasons.extend(reasons)

    def field_named(self, name: str) -> JobField | None:
        fields = self.spec.fields if self.spec else ()
        return next((f for f in fields if f.name == name), None)

    def declared(self, asset: str, param: str) -> ParamType | None:
        info = self.catalog.by_name.get(asset)
        return info.params.get(param) if info else None


def _edit(
    root: Path,
    path: Path,
    assets: Sequence[AssetLike],
    change: Callable[[CommentedMap, _Context], None],
    *,
    create: bool = False,
    check_only: bool = False,
    guard: Callable[[JobSpec | None, JobSpec | None], list[str]] | None = None,
) -> EditResult:
    if not root.is_dir():
        raise NexusEditError(str(path), [f"specs folder {root} not found"])
    catalog = Catalog(assets)
    with _folder_lock(root, path):
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
            old_text, newline = _read_text(path)
        spec, spec_problems = _load_alone(path, old_text, assets) if old_text else (None, [])
        ctx = _Context(catalog, spec, spec_problems)
        style = _Style.guess(old_text)
        doc = _load_doc(path, old_text, style)
        change(doc, ctx)
        if ctx.reasons:
            raise NexusEditError(str(path), ctx.reasons)
        new_text = style.dump(doc)
        if new_text == old_text:
            return EditResult(path, False, old_text, ctx.changes, [*ctx.notes, "nothing to change"])
        _check_written(path, new_text, ctx)
        reasons, notes = _check_folder(root, path, new_text, assets, ctx)
        new_spec, _ = _load_alone(path, new_text, assets)
        if not reasons and guard is not None:
            reasons = guard(spec, new_spec)
        if reasons:
            raise NexusEditError(str(path), reasons)
        if not check_only:
            _write(path, new_text.replace("\n", newline), exclusive=create)
        return EditResult(path, True, new_text, ctx.changes, [*ctx.notes, *notes])


@contextmanager
def _folder_lock(root: Path, path: Path) -> Iterator[None]:
    lock = FileLock(str(root / LOCK_NAME), timeout=LOCK_TIMEOUT_SECONDS)
    try:
        with lock:
            yield
    except Timeout:
        raise NexusEditError(
            str(path),
            [
                f"another edit of {root} has held its lock for {LOCK_TIMEOUT_SECONDS:.0f} s; "
                f"try again (the lock is {root / LOCK_NAME})"
            ],
        ) from None


def _read_text(path: Path) -> tuple[str, str]:
    resolved = path.resolve()
    try:
        raw = resolved.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise NexusEditError(str(path), [f"cannot read the file: {err}"]) from None
    newline = "\r\n" if b"\r\n" in raw else "\n"
    return text.replace("\r\n", "\n"), newline


def _load_alone(
    path: Path, text: str, assets: Sequence[AssetLike]
) -> tuple[JobSpec | None, list[str]]:
    """The file loaded on its own with the assets, as ``text``: its spec, or its problems."""
    try:
        spec = load_checked_specs(
            path.parent, Catalog(assets), texts={path: text}, whole_folder=False
        )[0]
    except NexusSpecError as err:
        return None, [str(p) for p in err.problems]
    return spec, []


def _check_folder(
    root: Path, path: Path, new_text: str, assets: Sequence[AssetLike], ctx: _Context
) -> tuple[list[str], list[str]]:
    """Reasons to refuse the edit, and notes: the edited file must load without a problem;
    other files may keep the problems they had, but get no new one. The folder is checked with
    the edited text in place of the file; nothing is copied or written."""
    before = _folder_problems(root, assets)
    after = _folder_problems(root, assets, {path: new_text})
    reasons = []
    for p in after:
        if p.path == str(path):
            origin = ctx.origins.get(p.key) or _closest_origin(p.key, ctx.origins)
            reasons.append(
                f"{origin}: {p.message}" if origin else f"{p.key or path.name}: {p.message}"
            )
        elif p not in before:
            reasons.append(f"the edit would make {p}")
    others = [p for p in after if p.path != str(path)]
    notes = (
        [f"{len(others)} problem(s) remain in other spec files; run `nexus-dagster validate`"]
        if others and not reasons
        else []
    )
    return list(dict.fromkeys(reasons)), notes


def _closest_origin(key: str, origins: Mapping[str, str]) -> str | None:
    best = [k for k in origins if key.startswith(k + ".") or k.startswith(key + ".")]
    return origins[max(best, key=len)] if best else None


def _folder_problems(
    root: Path, assets: Sequence[AssetLike], texts: Mapping[Path, str] | None = None
) -> list[SpecProblem]:
    try:
        load_checked_specs(root, Catalog(assets), texts=texts)
    except NexusSpecError as err:
        return list(err.problems)
    return []


def _check_written(path: Path, new_text: str, ctx: _Context) -> None:
    """The values written must read back as the same values with the spec loader (YAML 1.1),
    whatever ruamel.yaml (YAML 1.2) chose to write."""
    try:
        value = load_yaml(new_text).value
    except YamlSyntaxError as err:
        raise NexusEditError(str(path), [f"the edit would not be valid YAML: {err}"]) from None
    for keys, expected in ctx.written:
        got: Any = value
        for key in keys:
            got = got.get(key) if isinstance(got, dict) else None
        if got != expected or type(got) is not type(expected):
            raise NexusEditError(
                str(path), [f"{'.'.join(map(str, keys))}: the value would not read back as given"]
            )


def _write(path: Path, text: str, *, exclusive: bool) -> None:
    target = path.resolve() if path.is_symlink() else path
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            try:
                os.link(tmp, target)  # fails if the file exists: create never overwrites
            except FileExistsError:
                raise NexusEditError(str(path), [f"{path} already exists"]) from None
        else:
            os.chmod(tmp, target.stat().st_mode & 0o7777)
            os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --- round-trip YAML ------------------------------------------------------------------------

_KEY_ONLY_LINE = re.compile(r"^( *)(?!- )[^#\s][^#]*:\s*(#.*)?$")


@dataclass(frozen=True)
class _Style:
    """The file's indentation, so that what the edit writes looks like what was there."""

    mapping: int = 2
    offset: int = 2

    @classmethod
    def guess(cls, text: str) -> _Style:
        """Indentation of nested mappings, and of a list's dashes under their key.

        >>> _Style.guess("a:\\n    b: 1\\nc:\\n- x\\n")
        _Style(mapping=4, offset=0)
        """
        mapping = offset = None
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        for prev, line in zip(lines, lines[1:], strict=False):
            match = _KEY_ONLY_LINE.match(prev)
            if not match:
                continue
            base, indent = len(match.group(1)), len(line) - len(line.lstrip(" "))
            if line.lstrip().startswith("-") and indent >= base:
                offset = indent - base if offset is None else offset
            elif indent > base and mapping is None:
                mapping = indent - base
        return cls(mapping or 2, 2 if offset is None else offset)

    def yaml(self) -> YAML:
        rt = YAML()
        rt.preserve_quotes = True
        rt.width = 4096  # never re-wrap long lines
        rt.indent(mapping=self.mapping, sequence=self.offset + 2, offset=self.offset)
        return rt

    def dump(self, doc: CommentedMap) -> str:
        out = io.StringIO()
        self.yaml().dump(doc, out)
        return out.getvalue()


def _load_doc(path: Path, text: str, style: _Style) -> CommentedMap:
    if not text.strip():
        return CommentedMap()
    try:
        doc = style.yaml().load(text)
    except YAMLError as err:
        raise NexusEditError(
            str(path), [f"cannot edit: not valid YAML ({str(err).splitlines()[0]})"]
        ) from None
    if not isinstance(doc, CommentedMap):
        raise NexusEditError(str(path), ["cannot edit: the file is not a mapping"])
    return doc


def _node(value: Any) -> Any:
    """A value as it will be written: strings quoted when YAML 1.1 would read them otherwise,
    lists and mappings in flow style (``[a, b]``, ``{env: KEY}``)."""
    if isinstance(value, str):
        return value if _reads_back(value) else DoubleQuotedScalarString(value)
    if isinstance(value, list):
        seq = CommentedSeq(_node(v) for v in value)
        seq.fa.set_flow_style()
        return seq
    if isinstance(value, dict):
        cm = CommentedMap((k, _node(v)) for k, v in value.items())
        cm.fa.set_flow_style()
        return cm
    return value


def _reads_back(text: str) -> bool:
    try:
        return bool(yaml.safe_load(text) == text) and "\n" not in text
    except yaml.YAMLError:
        return False


def _is_block(value: Any) -> bool:
    return (
        isinstance(value, (CommentedMap, CommentedSeq))
        and len(value) > 0
        and not value.fa.flow_style()
    )


def _last_key(container: CommentedMap | CommentedSeq) -> Any:
    return list(container)[-1] if isinstance(container, CommentedMap) else len(container) - 1


def _token(container: CommentedMap | CommentedSeq, key: Any) -> CommentToken | None:
    entry = container.ca.items.get(key)
    slot = 2 if isinstance(container, CommentedMap) else 0
    return entry[slot] if entry and len(entry) > slot else None


def _set_token(container: CommentedMap | CommentedSeq, key: Any, token: CommentToken) -> None:
    slot = 2 if isinstance(container, CommentedMap) else 0
    container.ca.items.setdefault(key, [None, None, None, None])[slot] = token


def _take_trailing(container: CommentedMap | CommentedSeq, key: Any) -> str:
    """Cut the comment lines that follow ``key`` (ruamel keeps them with it) and return them."""
    value = container[key]
    if _is_block(value):
        return _take_trailing(value, _last_key(value))
    token = _token(container, key)
    if token is None or "\n" not in token.value:
        return ""
    head, _, rest = token.value.partition("\n")
    token.value = head + "\n"
    return rest


def _give_trailing(container: CommentedMap | CommentedSeq, key: Any, rest: str) -> None:
    """Put comment lines back after ``key`` (after its last nested item)."""
    if not rest:
        return
    value = container[key]
    if _is_block(value):
        _give_trailing(value, _last_key(value), rest)
        return
    token = _token(container, key)
    if token is not None:
        token.value = token.value + rest
    else:
        _set_token(container, key, CommentToken("\n" + rest, CommentMark(0), None))


def _insert(container: CommentedMap, pos: int, key: str, value: Any) -> None:
    keys = list(container)
    rest = _take_trailing(container, keys[pos - 1]) if pos > 0 else ""
    container.insert(pos, key, value)
    _give_trailing(container, key, rest)


def _append(container: CommentedMap | CommentedSeq, key: Any, value: Any) -> None:
    if isinstance(container, CommentedSeq):
        rest = _take_trailing(container, len(container) - 1) if container else ""
        container.append(value)
        _give_trailing(container, len(container) - 1, rest)
    else:
        _insert(container, len(container), key, value)


def _delete(container: CommentedMap | CommentedSeq, key: Any, carry: str = "") -> str:
    """Delete ``key``, keeping the comment lines that followed it (and ``carry``); returns
    the lines that found no place because the container is now empty. The key's own
    end-of-line comment goes with it."""
    rest = _take_trailing(container, key) + carry
    keys = list(container) if isinstance(container, CommentedMap) else list(range(len(container)))
    pos = keys.index(key)
    del container[key]
    if isinstance(container, CommentedMap):
        container.ca.items.pop(key, None)
    if not rest:
        return ""
    if pos > 0:
        _give_trailing(container, keys[pos - 1], rest)
        return ""
    if len(container):
        first = list(container)[0] if isinstance(container, CommentedMap) else 0
        entry = container.ca.items.setdefault(first, [None, None, None, None])
        entry[1] = [CommentToken(rest, CommentMark(0), None), *(entry[1] or [])]
        return ""
    return rest


def _remove(doc: CommentedMap, keys: Sequence[Any], *, prune: bool = True) -> None:
    """Delete the entry at ``keys``, then (with ``prune``) every mapping left empty above it."""
    chain: list[tuple[Any, Any]] = []
    node: Any = doc
    for key in keys:
        chain.append((node, key))
        node = node[key]
    container, key = chain.pop()
    carry = _delete(container, key)
    while chain:
        container, key = chain.pop()
        child = container[key]
        if not (prune and isinstance(child, CommentedMap) and len(child) == 0):
            _give_trailing(container, key, carry)
            return
        carry = _delete(container, key, carry)


def _put_path(doc: CommentedMap, keys: Sequence[str], value: Any) -> bool:
    """Set ``doc[k0][k1]... = value``, creating the mappings on the way, each complete before
    it is inserted (so the comment lines that follow a key stay after its new content). A new
    top-level key goes to its place in the usual order. ``False`` when a key on the way holds
    something that is not a mapping (the file is broken there)."""
    node: CommentedMap = doc
    for depth, key in enumerate(keys):
        current = node.get(key)
        if depth < len(keys) - 1 and isinstance(current, CommentedMap):
            node = current
            continue
        if depth < len(keys) - 1 and current is not None:
            return False
        built = value
        for inner in reversed(keys[depth + 1 :]):
            built = CommentedMap([(inner, built)])
        if key in node:
            rest = _take_trailing(node, key)
            node[key] = built
            _give_trailing(node, key, rest)
        elif node is doc and key in TOP_LEVEL_ORDER:
            order = TOP_LEVEL_ORDER.index(key)
            before = [
                i
                for i, k in enumerate(node)
                if k in TOP_LEVEL_ORDER and TOP_LEVEL_ORDER.index(k) < order
            ]
            _insert(node, before[-1] + 1 if before else 0, key, built)
        else:
            _append(node, key, built)
        return True
    return True  # pragma: no cover - the loop always returns


# --- the edits ------------------------------------------------------------------------------


def _selection_list(doc: CommentedMap, ctx: _Context, option: str) -> CommentedSeq | None:
    selection = doc.get("selection")
    if isinstance(selection, CommentedSeq):
        return selection
    if isinstance(selection, str):
        ctx.refuse(
            f"{option}: `selection` is a Dagster selection string (`{selection}`); "
            "change it by hand"
        )
    else:
        ctx.refuse(f"{option}: `selection` is not a list of asset keys; fix it by hand")
    return None


def _select(doc: CommentedMap, ctx: _Context, asset: str) -> None:
    selection = _selection_list(doc, ctx, f"--select {asset}")
    if selection is None:
        return
    if asset in selection:
        ctx.notes.append(f"`{asset}` is already selected")
        return
    _append(selection, None, asset)
    ctx.origins[f"selection[{len(selection) - 1}]"] = f"--select {asset}"
    ctx.changes.append(f"selected {asset}")


def _deselect(doc: CommentedMap, ctx: _Context, asset: str) -> None:
    option = f"--deselect {asset}"
    selection = _selection_list(doc, ctx, option)
    if selection is None:
        return
    if asset not in selection:
        hint = suggest(asset, [str(a) for a in selection]) or "."
        ctx.refuse(
            f"{option}: `{asset}` is not selected{hint} Selected: "
            + ", ".join(str(a) for a in selection)
        )
        return
    _remove(doc, ("selection", list(selection).index(asset)), prune=False)
    ctx.changes.append(f"removed selection: {asset}")
    remaining = [str(a) for a in selection]
    still_declared = {
        p for a in remaining if a in ctx.catalog.by_name for p in ctx.catalog.by_name[a].params
    }
    knows_all = all(a in ctx.catalog.by_name for a in remaining)

    def named(name: Any) -> str | None:
        owner, param = split_name(str(name))
        if owner == asset:
            return ""
        if owner is None and knows_all and param not in still_declared:
            return " (no selected asset declares it any more)"
        return None

    for section in ("params_schema", "parameter_values"):
        entries = doc.get(section)
        if isinstance(entries, CommentedMap):
            for name in list(entries):
                why = named(name)
                if why is not None:
                    _remove(doc, (section, name))
                    ctx.changes.append(f"removed {section}.{name}{why}")
    ops = doc.get("ops_config")
    if isinstance(ops, CommentedMap) and asset in ops:
        _remove(doc, ("ops_config", asset))
        ctx.changes.append(f"removed ops_config.{asset}")
    for section in _VALUE_SECTIONS:
        items = doc.get(section)
        if not isinstance(items, CommentedSeq):
            continue
        for index, item in enumerate(items):
            values = item.get("parameter_values") if isinstance(item, CommentedMap) else None
            if not isinstance(values, CommentedMap):
                continue
            for name in list(values):
                why = named(name)
                if why is not None:
                    _remove(doc, (section, index, "parameter_values", name))
                    ctx.changes.append(f"removed {section}[{index}].parameter_values.{name}{why}")


def _set(doc: CommentedMap, ctx: _Context, name: str, value: Any) -> None:
    option = f"--set {name}"
    asset, param = split_name(name)
    if asset is None:
        if not _put_path(doc, ("parameter_values", param), _node(value)):
            ctx.refuse(f"{option}: `parameter_values` is not a mapping; fix it by hand")
            return
        ctx.written.append((("parameter_values", param), value))
        ctx.origins[f"parameter_values.{param}"] = option
        ctx.changes.append(f"set parameter_values.{param}")
        return
    if not _put_path(doc, ("ops_config", asset, param), _node(value)):
        ctx.refuse(f"{option}: `ops_config` is not a mapping of asset to values; fix it by hand")
        return
    ctx.written.append((("ops_config", asset, param), value))
    ctx.origins[f"ops_config.{asset}.{param}"] = option
    ctx.origins.setdefault(f"ops_config.{asset}", option)
    ctx.changes.append(f"set ops_config.{asset}.{param}")
    schema = doc.get("params_schema")
    if isinstance(schema, CommentedMap) and name in schema:
        return
    known = ctx.field_named(name)
    ptype = known.type if known else ctx.declared(asset, param)
    if ptype is None:
        return  # unknown asset or parameter: the check after the edit says which
    if not _put_path(doc, ("params_schema", name), DoubleQuotedScalarString(str(ptype))):
        ctx.refuse(f"{option}: `params_schema` is not a mapping; fix it by hand")
        return
    ctx.origins[f"params_schema.{name}"] = option
    ctx.changes.append(f'added params_schema.{name}: "{ptype}"')


def _unset(doc: CommentedMap, ctx: _Context, name: str) -> None:
    option = f"--unset {name}"
    asset, param = split_name(name)
    if asset is None:
        values = doc.get("parameter_values")
        present = list(values) if isinstance(values, CommentedMap) else []
        if param not in present:
            ctx.refuse(
                f"{option}: `parameter_values` has no `{param}`{suggest(param, present)} "
                f"(a value for one asset is unset as `ASSET.{param}`)"
            )
            return
        _remove(doc, ("parameter_values", param))
        ctx.changes.append(f"removed parameter_values.{param}")
        return
    ops = doc.get("ops_config")
    own = ops.get(asset) if isinstance(ops, CommentedMap) else None
    present = list(own) if isinstance(own, CommentedMap) else []
    if param not in present:
        where = f"`ops_config.{asset}`" if present else f"`ops_config` for `{asset}`"
        ctx.refuse(f"{option}: {where} has no value `{param}`{suggest(param, present)}")
        return
    _remove(doc, ("ops_config", asset, param))
    ctx.changes.append(f"removed ops_config.{asset}.{param}")
    schema = doc.get("params_schema")
    if (
        isinstance(schema, CommentedMap)
        and name in schema
        and _says_nothing(ctx, name, schema[name])
    ):
        _remove(doc, ("params_schema", name))
        ctx.changes.append(f"removed params_schema.{name} (its type is the field's type anyway)")


def _says_nothing(ctx: _Context, name: str, text: Any) -> bool:
    """Whether the ``params_schema`` entry ``A.p`` gives the type the field has without it."""
    asset, param = split_name(name)
    assert asset is not None
    try:
        written = parse_type(text)
    except TypeStringError:
        return False
    shared = ctx.field_named(param)
    without = shared.type if shared is not None else ctx.declared(asset, param)
    return without == written


def _migrate(doc: CommentedMap, ctx: _Context, spec: JobSpec) -> None:
    schema = doc.get("params_schema")
    if not isinstance(schema, CommentedMap):
        return
    decls = {a: ctx.catalog.by_name[a].params for a in spec.selected}
    ops = spec.model.ops_config
    named_elsewhere = set(spec.model.parameter_values)
    for section in _VALUE_SECTIONS:
        for item in doc.get(section) or []:
            if isinstance(item, Mapping) and isinstance(item.get("parameter_values"), Mapping):
                named_elsewhere.update(item["parameter_values"])
    for param in [k for k in schema if split_name(str(k))[0] is None]:
        owners = [a for a, params in decls.items() if param in params]
        own = [a for a in owners if param in ops.get(a, {})]
        if not own:
            continue
        text = schema[param]
        added = [prefixed(a, param) for a in own if prefixed(a, param) not in schema]
        pos = list(schema).index(param)
        for offset, name in enumerate(added, start=1):
            _insert(
                schema, pos + offset, name, type(text)(str(text)) if isinstance(text, str) else text
            )
        drop = len(own) == len(owners) and param not in named_elsewhere
        if drop:
            token = _token(schema, param)
            if added and token is not None and token.value.startswith("#"):
                eol = token.value.partition("\n")[0]
                first = _token(schema, added[0])
                # Keep the gap between value and comment that the line had.
                width = len(_flow_text(text)) + 2 + getattr(schema.lc, "col", 0) or 0
                gap = max(token.start_mark.column - width - len(str(param)), 1)
                column = width + len(added[0]) + gap
                _set_token(
                    schema,
                    added[0],
                    CommentToken(eol + (first.value if first else "\n"), CommentMark(column), None),
                )
            _remove(doc, ("params_schema", param))
        listed = ", ".join(added) or "nothing"
        if drop:
            ctx.changes.append(
                f"params_schema.{param} -> {listed} (every asset that reads `{param}` has its "
                "own value, which always wins: the shared field could reach none)"
            )
        elif added:
            kept = ", ".join(a for a in owners if a not in own) or "the values that name it"
            ctx.changes.append(
                f"params_schema: added {listed} beside the shared `{param}`, kept for {kept}"
            )


def _flow_text(value: Any) -> str:
    """How a scalar is written on its line (quotes included), to measure it."""
    if isinstance(value, DoubleQuotedScalarString):
        return f'"{value}"'
    if isinstance(value, str) and type(value) is not str:
        return f"'{value}'"  # single-quoted
    return str(value)


def _same_meaning(before: JobSpec | None, after: JobSpec | None) -> list[str]:
    """A migration keeps every field but the dead shared ones it drops, unchanged."""
    if before is None or after is None:
        return ["the migrated spec does not load; please report this"]
    old = {f.name: f for f in before.fields}
    changed = [
        f.name
        for f in after.fields
        if f.name not in old
        or (f.type.optional, f.required, f.default, f.assets)
        != (
            old[f.name].type.optional,
            old[f.name].required,
            old[f.name].default,
            old[f.name].assets,
        )
    ]
    if changed:
        return [f"migrating would change the fields {', '.join(changed)}; please report this"]
    return []
