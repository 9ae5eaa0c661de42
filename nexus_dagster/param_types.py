"""The parameter type grammar: ``string``, ``int``, ``float``, ``bool``, ``any``, ``secret``,
``[T]`` for a list of T, and a trailing ``!`` for required.

Pure: no Dagster, no YAML.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from nexus_dagster.naming import non_ascii_note

SCALAR_KINDS = ("string", "int", "float", "bool", "any", "secret")


class TypeStringError(ValueError):
    """A type string that is not in the grammar; the message names the closest valid type."""


@dataclass(frozen=True)
class ParamType:
    """A parsed type string.

    >>> parse_type("[int]!")
    ParamType(kind='list', required=True, item=ParamType(kind='int', required=False, item=None))
    >>> str(parse_type("string!"))
    'string!'
    """

    kind: str
    required: bool = False
    item: ParamType | None = None
    description: str = field(default="", compare=False, repr=False)
    """What the parameter means, as its declaration says (a typed parameter's field
    description); part of its launchpad field's description, never of its type."""

    def __str__(self) -> str:
        body = f"[{self.item}]" if self.item is not None else self.kind
        return body + ("!" if self.required else "")

    @property
    def optional(self) -> ParamType:
        """The same type without the trailing ``!``."""
        return ParamType(self.kind, False, self.item)

    @property
    def is_secret(self) -> bool:
        return self.kind == "secret" or (self.item is not None and self.item.is_secret)


def _all_spellings() -> list[str]:
    singles = [*SCALAR_KINDS, *(f"[{k}]" for k in SCALAR_KINDS)]
    return [*singles, *(s + "!" for s in singles)]


def parse_type(text: object) -> ParamType:
    """Parse a type string, raising :class:`TypeStringError` with a suggestion when it is wrong.

    >>> try:
    ...     parse_type("String!")
    ... except TypeStringError as err:
    ...     print(str(err).split(" Valid")[0])
    unknown type `String!`; did you mean `string!`?
    """
    if not isinstance(text, str):
        raise TypeStringError(
            f"a type must be a string such as `string!`, got {type(text).__name__}"
        )
    parsed = _parse(text.strip())
    if parsed is None:
        raise TypeStringError(_unknown_type_message(text))
    return parsed


@cache  # pure, and the same few type strings are parsed for every asset and every spec
def _parse(text: str) -> ParamType | None:
    required = text.endswith("!")
    body = text[:-1] if required else text
    if body in SCALAR_KINDS:
        return ParamType(body, required)
    if body.startswith("[") and body.endswith("]"):
        item = _parse(body[1:-1].strip())
        if item is not None:
            return ParamType("list", required, item)
    return None


def _unknown_type_message(text: str) -> str:
    spellings = _all_spellings()
    lowered = {s.lower(): s for s in spellings}
    guess = lowered.get(text.strip().lower())
    if guess is None:
        close = difflib.get_close_matches(text.strip().lower(), spellings, n=1, cutoff=0.5)
        guess = close[0] if close else None
    hint = f"; did you mean `{guess}`?" if guess else "."
    note = non_ascii_note(text)
    return (
        f"unknown type `{text}`{hint}{' ' + note if note else ''} Valid types: "
        f"{', '.join(SCALAR_KINDS)}, [T] for a list of T, with a trailing `!` for required"
    )


def _describe(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check_value(ptype: ParamType, value: Any) -> str | None:
    """Return why ``value`` does not fit ``ptype``, or ``None`` when it fits.

    The message never repeats the value itself, so it is safe for secrets.

    >>> check_value(parse_type("int"), 3) is None
    True
    >>> check_value(parse_type("int"), "3")
    'expected int, got str'
    """
    kind = ptype.kind
    if kind == "any":
        return None
    if kind == "secret":
        if (
            isinstance(value, Mapping)
            and set(value) == {"env"}
            and isinstance(value["env"], str)
            and value["env"]
        ):
            return None
        return "a secret takes only an environment reference such as `{env: MY_VAR}`"
    if kind == "list":
        if not isinstance(value, list):
            return f"expected a list ({ptype.optional}), got {_describe(value)}"
        assert ptype.item is not None
        for index, item in enumerate(value):
            if item is None and not ptype.item.required:
                continue
            problem = check_value(ptype.item, item)
            if problem:
                return f"item {index}: {problem}"
        return None
    expected: tuple[type, ...] = {
        "string": (str,),
        "int": (int,),
        "float": (int, float),
        "bool": (bool,),
    }[kind]
    if isinstance(value, bool) and kind != "bool":
        return f"expected {kind}, got bool"
    if isinstance(value, expected):
        return None
    return f"expected {kind}, got {_describe(value)}"
