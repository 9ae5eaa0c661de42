"""A cache of checked specs, so that a process loading a code location does not read and check
again a spec that an earlier process already checked against the same assets.

Every step process of a run (the multiprocess executor, a Celery worker, a Kubernetes step pod)
imports the code location again to run one step, and so loads every spec of the folder. With
the cache, a spec whose file and selected assets are unchanged costs a hash and a lookup instead
of YAML parsing, the model and the parameter rules.

An entry is found by a content key: the file's bytes, its path in the folder, and the version of
the code that checks it (this package's source, Dagster's and pydantic's versions). It is used
only when the assets the spec selects still resolve to the same names with the same
declarations (parameters, ``nexus/config`` template, partitions definition, backfill policy).
Only specs that passed every check of their own are stored, so every message about a broken
spec still comes from checking it. A missing, corrupt, stale or unreadable cache file is read as
an empty one, and a cache folder that cannot be written is left alone: the cache can make a load
faster, never change its result.

Where: ``$NEXUS_DAGSTER_CACHE_DIR``, else ``$XDG_CACHE_HOME/nexus-dagster``, else
``~/.cache/nexus-dagster``; one file per specs folder, replaced atomically, holding only the
entries of that folder's last load. ``NEXUS_DAGSTER_CACHE=off`` turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from nexus_dagster.catalog import AssetInfo
from nexus_dagster.param_types import parse_type
from nexus_dagster.rules import MISSING, JobField
from nexus_dagster.yaml_source import YamlDocument

FORMAT = 4
"""Bumped whenever the layout of an entry changes."""

_PLAIN_SCALARS = (str, int, float, bool, type(None))


def cache_dir() -> Path | None:
    """The folder the cache files go to, or ``None`` when the cache is turned off."""
    if os.environ.get("NEXUS_DAGSTER_CACHE", "").strip().lower() in ("off", "0", "false", "no"):
        return None
    given = os.environ.get("NEXUS_DAGSTER_CACHE_DIR")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nexus-dagster"


@cache
def code_version() -> str:
    """What checks the specs: this package's own source, and Dagster's and pydantic's versions.

    The source itself, not the package version, so that a changed rule in a development install
    is never answered from entries that an older rule wrote.
    """
    import pydantic
    from dagster.version import __version__ as dagster_version

    digest = hashlib.sha256(f"{FORMAT}|{dagster_version}|{pydantic.VERSION}".encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def is_plain(value: Any) -> bool:
    """Whether ``value`` survives JSON unchanged: ``str``, ``int``, ``float``, ``bool``,
    ``None``, and lists and string-keyed dicts of those. A YAML date, a set or an integer key
    would come back as something else, so a spec holding one is not stored.

    >>> is_plain({"a": [1, 2.5, None, True]}), is_plain({1: "a"}), is_plain({"d": {1, 2}})
    (True, False, False)
    """
    if type(value) in _PLAIN_SCALARS:
        return True
    if type(value) is list:
        return all(is_plain(item) for item in value)
    if type(value) is dict:
        return all(type(k) is str and is_plain(v) for k, v in value.items())
    return False


def declaration(info: AssetInfo, partitions_text: dict[int, str]) -> list[Any]:
    """What a spec's check reads of one selected asset, in a form that compares by value.

    ``partitions_text`` remembers the text of each partitions definition object met so far:
    the assets of a location usually share one, and building its text costs more than the rest.
    """
    partitions_def = info.partitions_def
    if partitions_def is None:
        partitions = ""
    else:
        partitions = partitions_text.get(id(partitions_def), "")
        if not partitions:
            partitions = f"{type(partitions_def).__qualname__}:{partitions_def!r}"
            partitions_text[id(partitions_def)] = partitions
    return [
        info.name,
        # A typed parameter's description is part of its fields' descriptions.
        {name: [str(ptype), ptype.description] for name, ptype in info.params.items()},
        json.dumps(info.config, sort_keys=True, default=repr),
        partitions,
        repr(info.backfill_policy),
    ]


def encode_field(f: JobField) -> list[Any]:
    """A field as a short list (a job has a field per asset parameter; a dict per field would
    make the cache file several times larger and slower to read)."""
    out = [f.name, f.param, str(f.type), f.required, f.scope, list(f.assets), f.key, f.overrides]
    out.append(list(f.notes))
    if f.has_default:
        out.append(f.default)
    return out


def decode_field(data: Sequence[Any]) -> JobField:
    name, param, ptype, required, scope, assets, key, overrides, notes, *default = data
    # Interned: the same few parameter names, scopes and asset names recur in every field.
    intern = sys.intern
    return JobField(
        name,
        intern(param),
        parse_type(ptype),
        required,
        intern(scope),
        tuple(map(intern, assets)),
        key,
        default[0] if default else MISSING,
        overrides,
        tuple(notes),
    )


class SpecCache:
    """The cache file of one specs folder: entries read at the start of a load, the ones this
    load used or added written back at its end.

    Each entry stays the JSON text it was written as until a load asks for it: a folder of
    1,000 specs would otherwise hold some 60 MB of decoded entries while it loads.

    Example::

        cache = SpecCache.open(Path("job_specs"))
        key = cache.key("sales_job.yaml", data)
        entry = cache.get(key)          # None: not seen, or stored by other code
        ...                             # if the entry fits: cache.keep(key)
        cache.put(key, new_entry)       # else, once the spec is checked
        cache.save()
    """

    def __init__(self, path: Path | None, entries: dict[str, str], root: Path) -> None:
        self.path = path
        self.root = root  # the specs folder whose files this cache holds
        self._entries = entries
        self._used: dict[str, str] = {}
        self._changed = False
        self._partitions_text: dict[int, str] = {}
        self._declarations: dict[str, str] = {}

    @classmethod
    def open(cls, specs_dir: Path) -> SpecCache:
        folder = cache_dir()
        if folder is None:
            return cls(None, {}, specs_dir)
        name = hashlib.sha256(str(specs_dir.resolve()).encode()).hexdigest()[:24]
        path = folder / f"specs-{name}.json"
        return cls(path, _read(path), specs_dir)

    def declaration_text(self, info: AssetInfo) -> str:
        """:func:`declaration` of an asset as text, computed once per asset and load."""
        text = self._declarations.get(info.name)
        if text is None:
            text = json.dumps(declaration(info, self._partitions_text), sort_keys=True)
            self._declarations[info.name] = text
        return text

    def key(self, relative_path: str, data: bytes) -> str:
        digest = hashlib.sha256(code_version().encode())
        digest.update(relative_path.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(data)
        return digest.hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        text = self._entries.get(key)
        if not isinstance(text, str):
            return None
        try:
            entry = json.loads(text)
        except ValueError:
            return None
        return entry if isinstance(entry, dict) else None

    def keep(self, key: str) -> None:
        """The entry of ``key`` fitted: written back as it was."""
        text = self._entries.get(key)
        if self.path is not None and isinstance(text, str):
            self._used[key] = text

    def put(self, key: str, entry: Mapping[str, Any]) -> None:
        if self.path is None:
            return
        self._used[key] = json.dumps(entry, separators=(",", ":"))
        self._changed = True

    def save(self) -> None:
        """Write the entries this load used, if they differ from the file's: atomically, and
        not at all when the folder cannot be written."""
        if self.path is None or not (self._changed or self._used.keys() != self._entries.keys()):
            return
        _write(self.path, self._used)


def _read(path: Path) -> dict[str, str]:
    # A header line, the entries (one JSON object), and a last line with their digest: a
    # file cut short or changed by a byte is read as empty.
    try:
        raw = path.read_bytes()
        header, _, rest = raw.partition(b"\n")
        body, _, trailer = rest.rpartition(b"\n")
        meta, check = json.loads(header), json.loads(trailer)
        if (
            not isinstance(meta, dict)
            or not isinstance(check, dict)
            or meta.get("format") != FORMAT
            or check.get("sha256") != hashlib.sha256(body).hexdigest()
        ):
            return {}
        entries = json.loads(body)
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def _write(path: Path, entries: Mapping[str, str]) -> None:
    # Written entry by entry, so that a large folder's cache is never one string in memory;
    # ASCII only (JSON escapes the rest), so that any text a spec holds reads back the same.
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            out.write(json.dumps({"format": FORMAT}).encode() + b"\n")

            def put(chunk: str) -> None:
                data = chunk.encode("ascii")
                digest.update(data)
                out.write(data)

            put("{")
            for index, (key, text) in enumerate(entries.items()):
                put(("," if index else "") + json.dumps(key) + ":" + json.dumps(text))
            put("}")
            out.write(b"\n" + json.dumps({"sha256": digest.hexdigest()}).encode())
        os.replace(tmp, path)
        tmp = None
    except (OSError, ValueError):
        pass  # a read-only or full disk: the next load checks the specs again
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


class CachedDocument(YamlDocument):
    """A document read back from the cache. Its positions, which only a message about the spec
    needs, stay packed as JSON text until one asks for a position."""

    def __init__(self, value: Any, packed: str) -> None:
        if not isinstance(packed, str):
            raise TypeError("packed positions must be JSON text")
        super().__init__(value)
        self._packed = packed

    def position(self, key: tuple[Any, ...]) -> tuple[int, int]:
        if self._packed:
            self.positions.update(positions_from_json(json.loads(self._packed), self.value))
            self._packed = ""
        return super().position(key)


def positions_to_json(positions: Mapping[tuple[Any, ...], tuple[int, int]]) -> list[Any]:
    return [[list(key), line, col] for key, (line, col) in positions.items()]


def positions_from_json(
    data: Iterable[Sequence[Any]], value: Any
) -> dict[tuple[Any, ...], tuple[int, int]]:
    """The positions of a document, their keys sharing the key strings of ``value``, as the
    YAML reader's do (JSON gives every occurrence of a key its own string: 1,000 specs would
    hold some 10 MB more)."""
    known: dict[str, str] = {}
    _keys_of(value, known)
    return {
        tuple(known.get(part, part) if type(part) is str else part for part in key): (line, col)
        for key, line, col in data
    }


def _keys_of(value: Any, known: dict[str, str]) -> None:
    if type(value) is dict:
        for key, item in value.items():
            known.setdefault(key, key)
            _keys_of(item, known)
    elif type(value) is list:
        for item in value:
            _keys_of(item, known)
