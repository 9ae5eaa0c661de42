"""``{{params.NAME}}`` placeholders in an asset's ``nexus/config``.

Plain substitution in one pass: nothing is evaluated, and a substituted value is never scanned
again, so a value that itself holds ``{{...}}`` stays as it is. Pure: no Dagster, no YAML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

PLACEHOLDER_RE = re.compile(r"\{\{\s*params\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SENSOR_RE = re.compile(r"\{\{\s*sensor\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SENSOR_FIELDS = ("path", "name")
"""What a file sensor's ``parameter_values`` may use: ``{{sensor.path}}``, ``{{sensor.name}}``."""


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


def render(tree: Any, values: Mapping[str, Any]) -> Any:
    """Fill the placeholders of ``tree`` from ``values``.

    A placeholder that is the whole string yields the typed value; otherwise the value is
    inserted as text. An absent value renders as ``None`` (whole string) or as empty text.

    >>> render({"uri": "s3://{{params.bucket}}/x", "n": "{{ params.n }}"}, {"bucket": "b", "n": 3})
    {'uri': 's3://b/x', 'n': 3}
    >>> render("{{params.a}}", {"a": "{{params.b}}", "b": "never"})
    '{{params.b}}'
    """
    return _map_strings(tree, lambda text: _render_string(text, values))


def _render_string(text: str, values: Mapping[str, Any]) -> Any:
    whole = PLACEHOLDER_RE.fullmatch(text.strip()) if text.strip() == text else None
    if whole:
        return values.get(whole.group(1))
    return PLACEHOLDER_RE.sub(lambda m: as_text(values.get(m.group(1))), text)


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


def render_sensor(tree: Any, event: Mapping[str, str], missing: str | None = None) -> Any:
    """Fill ``{{sensor.path}}`` / ``{{sensor.name}}`` placeholders as text, in one pass.

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
