"""Naming of parameters (docs/parameters.md): prefixed names, op names and `__nexus_ops__` keys."""

from __future__ import annotations

import pytest

from nexus_dagster.naming import (
    OPS_PREFIX,
    is_param_name,
    non_ascii_note,
    op_name,
    ops_key,
    prefixed,
    split_name,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("target_bucket", (None, "target_bucket")),
        ("sales_ingestion_asset.source_bucket", ("sales_ingestion_asset", "source_bucket")),
        ("raw/sales.source_bucket", ("raw/sales", "source_bucket")),
        ("a/b/c.p", ("a/b/c", "p")),
        # a parameter name holds no dot, so the last dot separates it from the asset
        ("odd.asset.p", ("odd.asset", "p")),
        ("_", (None, "_")),
    ],
)
def test_split_name_simple_is_shared_prefixed_is_per_asset(
    name: str, expected: tuple[str | None, str]
) -> None:
    assert split_name(name) == expected


@pytest.mark.parametrize(
    ("asset", "param", "name"),
    [
        ("sales_ingestion_asset", "source_bucket", "sales_ingestion_asset.source_bucket"),
        ("raw/sales", "source_bucket", "raw/sales.source_bucket"),
    ],
)
def test_prefixed_names_asset_as_dagster_prints_its_key(asset: str, param: str, name: str) -> None:
    assert prefixed(asset, param) == name
    assert split_name(name) == (asset, param)


@pytest.mark.parametrize(
    ("asset", "op"),
    [
        ("sales_ingestion_asset", "sales_ingestion_asset"),
        ("raw/sales", "raw__sales"),
        ("a/b/c", "a__b__c"),
    ],
)
def test_op_name_joins_key_parts_with_double_underscore(asset: str, op: str) -> None:
    assert op_name(asset) == op


@pytest.mark.parametrize(
    ("asset", "param", "key"),
    [
        (
            "sales_ingestion_asset",
            "source_bucket",
            "__nexus_ops__sales_ingestion_asset__source_bucket",
        ),
        ("raw/sales", "p", "__nexus_ops__raw__sales__p"),
        ("raw/sales", "source_bucket", "__nexus_ops__raw__sales__source_bucket"),
        ("a/b/c", "x", "__nexus_ops__a__b__c__x"),
    ],
)
def test_ops_key_is_prefix_op_name_and_param(asset: str, param: str, key: str) -> None:
    assert ops_key(asset, param) == key
    assert key.startswith(OPS_PREFIX)


def test_ops_key_collision_asset_a__b_param_c_vs_asset_a_param_b__c() -> None:
    # The `__nexus_ops__` key scheme cannot tell these apart; the rules refuse such a job.
    assert ops_key("a__b", "c") == ops_key("a", "b__c") == "__nexus_ops__a__b__c"
    assert prefixed("a__b", "c") != prefixed("a", "b__c")


def test_ops_key_collision_prefixed_key_vs_underscored_asset() -> None:
    assert ops_key("raw/sales", "p") == ops_key("raw__sales", "p")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("source_bucket", True),
        ("_private", True),
        ("B2", True),
        ("x", True),
        ("1abc", False),
        ("source-bucket", False),
        ("a.b", False),
        ("a b", False),
        ("", False),
        ("s\u043eurce", False),  # Cyrillic о
        ("x\n", False),
        ("x\u200b", False),  # zero-width space
    ],
)
def test_param_names_match_identifier_pattern(name: str, valid: bool) -> None:
    assert is_param_name(name) is valid


@pytest.mark.parametrize(
    ("name", "note"),
    [
        ("orders", ""),
        ("\u043erders", "U+043E (CYRILLIC SMALL LETTER O)"),
        ("s\u0435lection", "U+0435 (CYRILLIC SMALL LETTER IE)"),
        ("bucket\u200b", "U+200B (ZERO WIDTH SPACE)"),
        ("\uff4frders", "U+FF4F (FULLWIDTH LATIN SMALL LETTER O)"),
    ],
)
def test_non_ascii_note_names_the_look_alike_character(name: str, note: str) -> None:
    if note:
        assert note in non_ascii_note(name)
        assert non_ascii_note(name).startswith(f"`{name}` holds the non-ASCII character")
    else:
        assert non_ascii_note(name) == ""
