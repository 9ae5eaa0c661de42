"""Round-trip YAML surgery for spec edits: change a document loaded with ruamel.yaml so that
its comments, key order, quoting and the layout of every part the edit does not touch survive.

ruamel.yaml keeps a comment with the key or item before it, as a comment token holding the
end-of-line comment and the comment lines that follow. Adding, replacing or deleting an entry
therefore moves those lines by hand: :func:`insert`, :func:`append`, :func:`remove` and
:func:`put_path` keep each comment line where it stood in the file. :class:`Style` guesses the
file's indentation, so that what an edit writes looks like what was there, and dumps the
document back to text; :func:`to_node` writes a value the way the spec loader will read it back.

Nothing here knows what a spec means: :mod:`nexus_dagster.authoring` decides what to change.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from nexus_dagster.errors import NexusEditError

_KEY_ONLY_LINE = re.compile(r"^( *)(?!- )[^#\s][^#]*:\s*(#.*)?$")


@dataclass(frozen=True)
class Style:
    """The file's indentation, so that what the edit writes looks like what was there."""

    mapping: int = 2
    offset: int = 2

    @classmethod
    def guess(cls, text: str) -> Style:
        """Indentation of nested mappings, and of a list's dashes under their key.

        >>> Style.guess("a:\\n    b: 1\\nc:\\n- x\\n")
        Style(mapping=4, offset=0)
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


def load_doc(path: Path, text: str, style: Style) -> CommentedMap:
    """``text`` as a round-trip document (empty text is an empty mapping); refuses text that
    is not YAML or not a mapping, naming ``path``."""
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


def to_node(value: Any) -> Any:
    """A value as it will be written: strings quoted when YAML 1.1 would read them otherwise,
    lists and mappings in flow style (``[a, b]``, ``{env: KEY}``)."""
    if isinstance(value, str):
        return value if _reads_back(value) else DoubleQuotedScalarString(value)
    if isinstance(value, list):
        seq = CommentedSeq(to_node(v) for v in value)
        seq.fa.set_flow_style()
        return seq
    if isinstance(value, dict):
        cm = CommentedMap((k, to_node(v)) for k, v in value.items())
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


def comment_token(container: CommentedMap | CommentedSeq, key: Any) -> CommentToken | None:
    """The comment token after ``key``'s value: its end-of-line comment and the lines after."""
    entry = container.ca.items.get(key)
    slot = 2 if isinstance(container, CommentedMap) else 0
    return entry[slot] if entry and len(entry) > slot else None


def set_comment_token(
    container: CommentedMap | CommentedSeq, key: Any, token: CommentToken
) -> None:
    """Make ``token`` the comment after ``key``'s value, in place of the one there was."""
    slot = 2 if isinstance(container, CommentedMap) else 0
    container.ca.items.setdefault(key, [None, None, None, None])[slot] = token


def _take_trailing(container: CommentedMap | CommentedSeq, key: Any) -> str:
    """Cut the comment lines that follow ``key`` (ruamel keeps them with it) and return them."""
    value = container[key]
    if _is_block(value):
        return _take_trailing(value, _last_key(value))
    token = comment_token(container, key)
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
    token = comment_token(container, key)
    if token is not None:
        token.value = token.value + rest
    else:
        set_comment_token(container, key, CommentToken("\n" + rest, CommentMark(0), None))


def insert(container: CommentedMap, pos: int, key: str, value: Any) -> None:
    """Insert ``key: value`` at ``pos``; comment lines above the entry at ``pos`` stay there."""
    keys = list(container)
    rest = _take_trailing(container, keys[pos - 1]) if pos > 0 else ""
    container.insert(pos, key, value)
    _give_trailing(container, key, rest)


def append(container: CommentedMap | CommentedSeq, key: Any, value: Any) -> None:
    """Add ``value`` last to a list (``key`` unused), or ``key: value`` last to a mapping;
    comment lines after the last entry stay last, after the new one."""
    if isinstance(container, CommentedSeq):
        rest = _take_trailing(container, len(container) - 1) if container else ""
        container.append(value)
        _give_trailing(container, len(container) - 1, rest)
    else:
        insert(container, len(container), key, value)


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


def remove(doc: CommentedMap, keys: Sequence[Any], *, prune: bool = True) -> None:
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


def put_path(
    doc: CommentedMap, keys: Sequence[str], value: Any, *, key_order: Sequence[str] = ()
) -> bool:
    """Set ``doc[k0][k1]... = value``, creating the mappings on the way, each complete before
    it is inserted (so the comment lines that follow a key stay after its new content). A new
    top-level key listed in ``key_order`` goes to its place in that order, after the listed
    keys before it; any other new key goes last. ``False`` when a key on the way holds
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
        elif node is doc and key in key_order:
            order = key_order.index(key)
            before = [
                i for i, k in enumerate(node) if k in key_order and key_order.index(k) < order
            ]
            insert(node, before[-1] + 1 if before else 0, key, built)
        else:
            append(node, key, built)
        return True
    return True  # pragma: no cover - the loop always returns


def flow_text(value: Any) -> str:
    """How a scalar is written on its line (quotes included), to measure it."""
    if isinstance(value, DoubleQuotedScalarString):
        return f'"{value}"'
    if isinstance(value, str) and type(value) is not str:
        return f"'{value}'"  # single-quoted
    return str(value)
