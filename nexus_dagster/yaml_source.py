"""Safe YAML loading that keeps where every key and item stands in the file.

Dagster's own ``parse_yaml_with_source_position`` keeps positions but lets a duplicate key
silently win and sets no size limits; spec files need both refused, so this small loader walks
PyYAML's safe node graph itself. Only the safe tags are constructed: ``!!python/...`` and other
tags are errors, never executed.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

KeyPath = tuple[Any, ...]

# The limits bound the time and memory one file can cost: PyYAML's pure-Python parser reads
# some 40,000 values a second, so the worst file is refused in about half a second, having held
# about 12 MB. A real spec holds a few hundred values.
MAX_FILE_BYTES = 1_000_000
"""Largest spec file read, in bytes."""
MAX_DEPTH = 64
"""Most mappings and lists nested in one another, the top-level mapping included."""
MAX_NODES = 20_000
"""Most values in one file, counting each use of an alias (and each entry a ``<<`` merge brings)
again: this is what defuses alias bombs."""


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
    """PyYAML's safe loader, with the limits enforced while the file is composed.

    PyYAML's composer recurses once per nesting level and holds every node of the file, so a
    deeply nested file would end in ``RecursionError`` and a large one would be composed in
    full before the walk below could count it.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._composed = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._composed += 1
        if self._composed > MAX_NODES:
            raise YamlSyntaxError(*_at(self.peek_event()), _too_many())
        # `_depth` counts the collections around this node: the root's is 0.
        if self._depth >= MAX_DEPTH and self.check_event(
            yaml.MappingStartEvent, yaml.SequenceStartEvent
        ):
            raise YamlSyntaxError(*_at(self.peek_event()), _too_deep())
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# Like Dagster's loader: dates stay strings rather than becoming datetime objects.
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# What libyaml reads differently from PyYAML: it accepts tabs, byte-order marks and `?` in more
# places, a comment right after a block scalar's `>` or `|`, other line breaks, and reads a bare
# `!` tag otherwise. A file holding any of these is read by PyYAML alone, so that both accept and
# refuse the same files and build the same values.
_PYYAML_ONLY = re.compile(
    r"[\t\ufeff?\u2028\u2029\x85]|[>|][-+0-9]*#|(?:^|(?<=[\s\[{,]))!(?=[\s\]},]|$)", re.M
)

if yaml.__with_libyaml__:
    from yaml.cyaml import CParser

    class _FastLoader(_Loader):
        """:class:`_Loader` reading its events from libyaml, several times faster than PyYAML's
        own scanner; the composer, its limits and the constructor stay the same. A file it
        fails on is read again by :class:`_Loader`, so every problem is told in the same words.
        """

        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self._events = CParser(stream)
            # Bound straight to libyaml's methods: the composer asks for each event several
            # times, and a Python method in between would cost a quarter of the time saved.
            self.check_event = self._events.check_event  # type: ignore[method-assign]
            self.peek_event = self._events.peek_event  # type: ignore[method-assign]
            self.get_event = self._events.get_event  # type: ignore[method-assign]

        def dispose(self) -> None:
            super().dispose()
            self._events.dispose()

else:  # pragma: no cover - PyYAML built without libyaml
    _FastLoader = None  # type: ignore[assignment,misc]


def _at(node: Node | yaml.Event) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _too_many() -> str:
    return f"more than {MAX_NODES} values (counting aliases); refused"


def _too_deep() -> str:
    return f"nested deeper than {MAX_DEPTH} levels; refused"


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
    if _FastLoader is not None and not _PYYAML_ONLY.search(text):
        try:
            return _load(_FastLoader, text)
        except Exception:  # read again below, so that every problem is told in the same words
            pass
    return _load(_Loader, text)


def _load(loader_class: type[_Loader], text: str) -> YamlDocument:
    try:
        loader = loader_class(text)
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        col = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        raise YamlSyntaxError(
            line, col, f"character U+{err.character:04X} is not allowed in YAML; remove it"
        ) from None
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
    except RecursionError:
        # The limits keep recursion shallow; this is a last guard for a caller already deep.
        raise YamlSyntaxError(1, 1, _too_deep()) from None
    finally:
        loader.dispose()


def _first_tab_indent(text: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if "\t" in line[: len(line) - len(line.lstrip(" \t"))]:
            return number
    return None


_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# YAML's core schema; timestamps are read as strings by the resolver above.
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null")
)


@dataclass
class _Walker:
    """Builds Python values from the composed node graph, counting every value it builds.

    Merge keys (``<<: *base``) are resolved here rather than by PyYAML's ``flatten_mapping``,
    which rewrites the shared nodes in place and puts merged keys first, so a key that overrides
    a merged one would look like a duplicate. YAML's rule: a mapping's own keys win over merged
    ones, and an earlier merged mapping wins over a later one.
    """

    loader: _Loader
    doc: YamlDocument
    nodes: int = 0
    merged_entries: dict[int, list[tuple[Any, Node]]] = field(default_factory=dict)
    merging: set[int] = field(default_factory=set)

    def charge(self, node: Node | None = None) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlSyntaxError(*(_at(node) if node is not None else (1, 1)), _too_many())

    def key(self, key_node: Node) -> Any:
        if not isinstance(key_node, ScalarNode):
            raise YamlSyntaxError(*_at(key_node), "a key must be a plain scalar")
        key = self.scalar(key_node)
        if not isinstance(key, Hashable):
            raise YamlSyntaxError(*_at(key_node), "a key must be a plain scalar")
        return key

    def scalar(self, node: ScalarNode) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise YamlSyntaxError(*_at(node), f"unsupported tag `{node.tag}`")
        try:
            value = self.loader.construct_object(node)
        except ValueError:  # Python refuses to convert an integer of thousands of digits
            value = None
            too_large = True
        else:
            too_large = type(value) is int and not -(2**63) <= value < 2**63
        if too_large:
            # Larger integers cannot be printed or stored reliably downstream (Python refuses
            # to print one of thousands of digits); `0b111...` reaches that size in few bytes.
            raise YamlSyntaxError(
                *_at(node), "integer out of the 64-bit range; put it in quotes if it is text"
            )
        return value

    def build(self, node: Node, path: KeyPath, depth: int) -> Any:
        self.charge(node)
        if depth >= MAX_DEPTH and not isinstance(node, ScalarNode):
            raise YamlSyntaxError(*_at(node), _too_deep())
        if isinstance(node, MappingNode):
            if node.tag != _MAP_TAG:
                raise YamlSyntaxError(*_at(node), f"unsupported tag `{node.tag}`")
            result: dict[Any, Any] = {}
            merges: list[tuple[Node, Node]] = []
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    merges.append((key_node, value_node))
                    continue
                key = self.key(key_node)
                if key in result:
                    self.doc.duplicates.append((path + (key,), *_at(key_node)))
                self.doc.positions.setdefault(path + (key,), _at(key_node))
                result[key] = self.build(value_node, path + (key,), depth + 1)
            for merge_key, merge_value in merges:
                for key, value_node in self.merged(merge_value):
                    if key not in result:
                        # A merged key has no line of its own here; point at the `<<`.
                        self.doc.positions.setdefault(path + (key,), _at(merge_key))
                        result[key] = self.build(value_node, path + (key,), depth + 1)
            return result
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ_TAG:
                raise YamlSyntaxError(*_at(node), f"unsupported tag `{node.tag}`")
            items = []
            for index, item in enumerate(node.value):
                self.doc.positions.setdefault(path + (index,), _at(item))
                items.append(self.build(item, path + (index,), depth + 1))
            return items
        assert isinstance(node, ScalarNode)
        return self.scalar(node)

    def merged(self, value: Node) -> list[tuple[Any, Node]]:
        """The entries a ``<<`` value brings: one mapping, or a list of them (earlier wins)."""
        sources = value.value if isinstance(value, SequenceNode) else [value]
        entries: dict[Any, Node] = {}
        for source in sources:
            if not isinstance(source, MappingNode) or source.tag != _MAP_TAG:
                raise YamlSyntaxError(*_at(source), "`<<` merges only mappings")
            for key, value_node in self.entries(source):
                # Charged so that merging a large mapping many times stays within the limit.
                self.charge(source)
                entries.setdefault(key, value_node)
        return list(entries.items())

    def entries(self, node: MappingNode) -> list[tuple[Any, Node]]:
        """A merge source's entries, its own merges applied; computed once per node."""
        known = self.merged_entries.get(id(node))
        if known is not None:
            return known
        if id(node) in self.merging:
            raise YamlSyntaxError(*_at(node), "a mapping merges itself through `<<`; refused")
        self.merging.add(id(node))
        own: dict[Any, Node] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
            else:
                own[self.key(key_node)] = value_node
        for value_node in merges:
            for key, item in self.merged(value_node):
                own.setdefault(key, item)
        self.merging.discard(id(node))
        self.merged_entries[id(node)] = list(own.items())
        return self.merged_entries[id(node)]
