"""Render the package's reStructuredText-flavoured docstrings as Markdown on the API page.

The docstrings use a few reST habits that Markdown would show as they are: a paragraph ending in
``::`` before an indented literal block, ``>>>`` doctest lines (Markdown reads ``>`` as a quote)
and roles such as :class:`NexusSpecError`. This griffe extension rewrites them when the package
is loaded for the API page: each literal block becomes a fenced block (YAML when the paragraph
that introduces it names YAML, Python otherwise), each doctest a ``pycon`` block, and each role a
link to the name's entry when the package exports it, a code span otherwise. The source files
are not changed.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path
from typing import Any

import griffe

_INIT = Path(__file__).resolve().parent.parent / "nexus_dagster" / "__init__.py"
_ROLE = re.compile(r":(?:class|func|meth|attr|exc|obj|data|mod):`~?([^`]+)`")


def _exported() -> frozenset[str]:
    for node in ast.parse(_INIT.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    return frozenset()


_EXPORTED = _exported()


def _role(match: re.Match[str]) -> str:
    name = match.group(1).rsplit(".", 1)[-1]
    if name in _EXPORTED:
        return f"[`{name}`][nexus_dagster.{name}]"
    return f"`{name}`"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def to_markdown(text: str) -> str:
    """The docstring ``text`` (already dedented) with its reST habits written as Markdown."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += ["```pycon", *textwrap.dedent("\n".join(block)).splitlines(), "```"]
            continue
        if line.rstrip().endswith("::"):
            intro = line.rstrip()[:-2].rstrip()
            language = "yaml" if "yaml" in intro.lower() else "python"
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            base = _indent(line)
            block = []
            while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > base):
                block.append(lines[j])
                j += 1
            while block and not block[-1].strip():
                block.pop()
            if block:
                if intro:
                    out += [_ROLE.sub(_role, intro + ":"), ""]
                out += [f"```{language}", *textwrap.dedent("\n".join(block)).splitlines(), "```"]
                i = j
                continue
        out.append(_ROLE.sub(_role, line))
        i += 1
    return "\n".join(out)


class RstDocstrings(griffe.Extension):
    """Rewrite each docstring of the loaded package with :func:`to_markdown`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
