"""Safe YAML loading that keeps where every key and item stands in the file.

Dagster's own ``parse_yaml_with_source_position`` keeps positions but lets a duplicate key
silently win and sets no size limits; spec files need both refused, so this small loader walks
PyYAML's safe node graph itself. Only the safe tags are constructed: ``!!python/...`` and other
tags are errors, never executed.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

KeyPath = tuple[Any, ...]

MAX_FILE_BYTES = 1_000_000
"""Largest spec file read, in bytes."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists."""
MAX_NODES = 100_000
"""Most values in one file, counting each use of an alias again (defuses alias bombs)."""


class YamlSyntaxError(Exception):
    """The text is not YAML a spec can hold; ``line`` and ``col`` are 1-based."""

    def __init__(self, line: int, col: int, message: str) -> None:
        self.line, self.col, self.message = line, col, message
        super().__init__(f"{line}:{col}: {message}")


@dataclass
class YamlDocument:
    """A loaded document, the position of every key and list item, and its duplicate keys."""

    value: Any
    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[KeyPath, int, int]] = field(default_factory=list)

    def position(self, key: KeyPath) -> tuple[int, int]:
        """Where ``key`` stands, or its closest enclosing key that exists; ``(1, 1)`` at worst."""
        for end in range(len(key), 0, -1):
            found = self.positions.get(tuple(key[:end]))
            if found:
                return found
        return (1, 1)


class _Loader(yaml.SafeLoader):
    pass


# Like Dagster's loader: dates stay strings rather than becoming datetime objects.
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _at(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_yaml(text: str) -> YamlDocument:
    """Load one YAML document safely, keeping positions; raise :class:`YamlSyntaxError`.

    >>> doc = load_yaml("a:\\n  b: [1, 2]\\n")
    >>> doc.value, doc.positions[("a", "b", 1)]
    ({'a': {'b': [1, 2]}}, (2, 10))
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise YamlSyntaxError(1, 1, f"file is larger than the limit of {MAX_FILE_BYTES} bytes")
    tab_line = _first_tab_indent(text)
    if tab_line:
        raise YamlSyntaxError(tab_line, 1, "tab character used for indentation; use spaces")
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        doc = YamlDocument(None)
        if root is not None:
            doc.value = _Walker(loader, doc).build(root, (), 0)
        return doc
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSyntaxError(line, col, f"invalid YAML: {err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise YamlSyntaxError(1, 1, f"invalid YAML: {err}") from None
    finally:
        loader.dispose()


def _first_tab_indent(text: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if "\t" in line[: len(line) - len(line.lstrip(" \t"))]:
            return number
    return None


@dataclass
class _Walker:
    loader: _Loader
    doc: YamlDocument
    nodes: int = 0

    def build(self, node: Node, path: KeyPath, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlSyntaxError(
                *_at(node), f"more than {MAX_NODES} values (counting aliases); refused"
            )
        if depth > MAX_DEPTH:
            raise YamlSyntaxError(*_at(node), f"nested deeper than {MAX_DEPTH} levels; refused")
        if isinstance(node, MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise YamlSyntaxError(*_at(node), f"unsupported tag `{node.tag}`")
            self.loader.flatten_mapping(node)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    raise YamlSyntaxError(*_at(key_node), "a key must be a plain scalar")
                key = self.loader.construct_object(key_node)
                if not isinstance(key, Hashable):
                    raise YamlSyntaxError(*_at(key_node), "a key must be a plain scalar")
                if key in result:
                    self.doc.duplicates.append((path + (key,), *_at(key_node)))
                self.doc.positions.setdefault(path + (key,), _at(key_node))
                result[key] = self.build(value_node, path + (key,), depth + 1)
            return result
        if isinstance(node, SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise YamlSyntaxError(*_at(node), f"unsupported tag `{node.tag}`")
            items = []
            for index, item in enumerate(node.value):
                self.doc.positions.setdefault(path + (index,), _at(item))
                items.append(self.build(item, path + (index,), depth + 1))
            return items
        return self.loader.construct_object(node)
