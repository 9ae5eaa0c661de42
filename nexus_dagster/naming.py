"""How parameters are named: prefixed ``asset.param`` names, and the ``__nexus_ops__`` keys
the ``params`` resource holds per-asset values under.

Pure: no Dagster, no YAML.
"""

from __future__ import annotations

import re
import unicodedata

OPS_PREFIX = "__nexus_ops__"
RESOURCE_KEY = "params"
"""The resource key every spec job binds :class:`~nexus_dagster.NexusParams` to."""
PARAM_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def non_ascii_note(name: str) -> str:
    """Name the first non-ASCII character of ``name``, or ``""``: a look-alike letter (Cyrillic
    ``о`` for Latin ``o``) or an invisible one makes two names print the same.

    >>> non_ascii_note("s\u0430les")
    '`s\u0430les` holds the non-ASCII character U+0430 (CYRILLIC SMALL LETTER A).'
    """
    for char in name:
        if not char.isascii():
            label = unicodedata.name(char, "unnamed")
            return f"`{name}` holds the non-ASCII character U+{ord(char):04X} ({label})."
    return ""


def is_param_name(name: str) -> bool:
    """``True`` when ``name`` is a valid parameter name (``[A-Za-z_][A-Za-z0-9_]*``)."""
    return bool(PARAM_NAME_RE.match(name))


def split_name(name: str) -> tuple[str | None, str]:
    """Split a flat name into ``(asset, param)``; ``asset`` is ``None`` for a simple name.

    Parameter names hold no dot, so the last dot separates them from the asset name.

    >>> split_name("sales_ingestion_asset.source_bucket")
    ('sales_ingestion_asset', 'source_bucket')
    >>> split_name("raw/sales.source_bucket")
    ('raw/sales', 'source_bucket')
    >>> split_name("target_bucket")
    (None, 'target_bucket')
    """
    asset, dot, param = name.rpartition(".")
    return (asset, param) if dot else (None, name)


def prefixed(asset: str, param: str) -> str:
    """The launchpad name of ``param`` for ``asset`` alone.

    >>> prefixed("raw/sales", "source_bucket")
    'raw/sales.source_bucket'
    """
    return f"{asset}.{param}"


def op_name(asset: str) -> str:
    """The op name of an asset written as Dagster prints its key: parts joined by ``__``.

    >>> op_name("raw/sales")
    'raw__sales'
    """
    return "__".join(asset.split("/"))


def ops_key(asset: str, param: str) -> str:
    """The key under which the ``params`` resource holds ``asset``'s own value of ``param``.

    >>> ops_key("sales_ingestion_asset", "source_bucket")
    '__nexus_ops__sales_ingestion_asset__source_bucket'
    >>> ops_key("raw/sales", "source_bucket")
    '__nexus_ops__raw__sales__source_bucket'
    """
    return f"{OPS_PREFIX}{op_name(asset)}__{param}"
