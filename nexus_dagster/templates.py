"""``{{params.NAME}}`` and ``{{partition.*}}`` placeholders in an asset's ``nexus/config``, and
``{{sensor.*}}`` placeholders in a file sensor's values.

Plain substitution in one pass: nothing is evaluated, and a substituted value is never scanned
again, so a value that itself holds ``{{...}}`` stays as it is. Pure: no Dagster, no YAML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

PLACEHOLDER_RE = re.compile(r"\{\{\s*params\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
PARTITION_RE = re.compile(r"\{\{\s*partition\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_CONFIG_RE = re.compile(r"\{\{\s*(params|partition)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SENSOR_RE = re.compile(r"\{\{\s*sensor\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SENSOR_FIELDS = ("path", "name", "stem")
"""What a file sensor's ``parameter_values`` and ``partition_key`` may use: ``{{sensor.path}}``,
``{{sensor.name}}`` and ``{{sensor.stem}}`` (the name without its last suffix)."""
PARTITION_FIELDS = ("key", "start", "end")
"""What ``nexus/config`` may use in a partitioned asset: the run's partition key, and for a
time-window partition the window's bounds in ISO 8601."""
TIME_WINDOW_FIELDS = ("start", "end")


def _strings(tree: Any) -> Iterator[str]:
    if isinstance(tree, str):
        yield tree
    elif isinstance(tree, Mapping):
        for value in tree.values():
            yield from _strings(value)
    elif isinstance(tree, (list, tuple)):
        for value in tree:
            yield from _strings(value)


def placeholders(tree: Any) -> list[str]:
    """The parameter names used by placeholders anywhere in ``tree``, in order of appearance.

    >>> placeholders({"uri": "s3://{{ params.bucket }}/{{params.prefix}}", "n": ["{{params.bucket}}"]})
    ['bucket', 'prefix']
    """
    seen: dict[str, None] = {}
    for text in _strings(tree):
        for match in PLACEHOLDER_RE.finditer(text):
            seen.setdefault(match.group(1), None)
    return list(seen)


def partition_placeholders(tree: Any) -> list[str]:
    """The names used by ``{{partition.NAME}}`` placeholders in ``tree``, in order of appearance.

    >>> partition_placeholders({"path": "{{params.bucket}}/{{ partition.key }}.csv"})
    ['key']
    """
    seen: dict[str, None] = {}
    for text in _strings(tree):
        for match in PARTITION_RE.finditer(text):
            seen.setdefault(match.group(1), None)
    return list(seen)


def as_text(value: Any) -> str:
    """How a value reads when inserted into a longer string (YAML's spelling for scalars).

    Lists and mappings read as JSON, which is also valid YAML.

    >>> as_text(True), as_text(None), as_text(2.5), as_text(["a", 1])
    ('true', '', '2.5', '["a", 1]')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


class NoPartitionError(ValueError):
    """A ``{{partition.*}}`` placeholder was met while rendering for no partition."""


def render(tree: Any, values: Mapping[str, Any], partition: Mapping[str, str] | None = None) -> Any:
    """Fill the placeholders of ``tree`` from ``values`` and the run's ``partition``.

    A placeholder that is the whole string yields the typed value; otherwise the value is
    inserted as text. An absent value renders as ``None`` (whole string) or as empty text.
    ``partition`` holds ``key`` (and ``start``/``end`` for a time window) for
    ``{{partition.*}}``; both kinds are filled in one pass, so nothing is rendered twice.
    Without a ``partition``, a ``{{partition.*}}`` placeholder raises :class:`NoPartitionError`
    rather than render as nothing.

    >>> render({"uri": "s3://{{params.bucket}}/x", "n": "{{ params.n }}"}, {"bucket": "b", "n": 3})
    {'uri': 's3://b/x', 'n': 3}
    >>> render("{{params.a}}", {"a": "{{params.b}}", "b": "never"})
    '{{params.b}}'
    >>> render("{{params.b}}/{{partition.key}}.csv", {"b": "raw"}, {"key": "2026-11-05"})
    'raw/2026-11-05.csv'
    """

    def lookup(match: re.Match[str]) -> Any:
        kind, name = match.group(1), match.group(2)
        if kind == "params":
            return values.get(name)
        if partition is None:
            raise NoPartitionError(f"`{{{{partition.{name}}}}}` needs a partition")
        return partition.get(name)

    return _map_strings(tree, lambda text: _render_string(text, lookup))


def _render_string(text: str, lookup: Callable[[re.Match[str]], Any]) -> Any:
    whole = _CONFIG_RE.fullmatch(text.strip()) if text.strip() == text else None
    if whole:
        return lookup(whole)
    return _CONFIG_RE.sub(lambda m: as_text(lookup(m)), text)


def _map_strings(tree: Any, fn: Callable[[str], Any]) -> Any:
    if isinstance(tree, str):
        return fn(tree)
    if isinstance(tree, Mapping):
        return {key: _map_strings(value, fn) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_map_strings(value, fn) for value in tree]
    return tree


def sensor_placeholders(tree: Any) -> list[str]:
    """The names used by ``{{sensor.NAME}}`` placeholders in ``tree``, in order of appearance."""
    seen: dict[str, None] = {}
    for text in _strings(tree):
        for match in SENSOR_RE.finditer(text):
            seen.setdefault(match.group(1), None)
    return list(seen)


def sensor_sample(tree: Any) -> Any:
    """``tree`` with every sensor placeholder filled with its own name, as a stand-in file, so a
    sensor's values can be checked before any file arrives.

    >>> sensor_sample({"key": "{{sensor.stem}}", "n": 3})
    {'key': '<stem>', 'n': 3}
    """
    return render_sensor(tree, {name: f"<{name}>" for name in SENSOR_FIELDS}, missing="")


def render_sensor(tree: Any, event: Mapping[str, str], missing: str | None = None) -> Any:
    """Fill ``{{sensor.path}}`` / ``{{sensor.name}}`` / ``{{sensor.stem}}`` as text, in one pass.

    >>> render_sensor({"key": "in/{{ sensor.name }}"}, {"path": "/d/in/a.csv", "name": "a.csv"})
    {'key': 'in/a.csv'}
    """

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in event:
            return event[name]
        if missing is None:
            raise KeyError(f"unknown sensor placeholder `{name}`")
        return missing

    return _map_strings(tree, lambda text: SENSOR_RE.sub(fill, text))
