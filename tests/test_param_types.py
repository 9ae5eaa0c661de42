"""Type strings (docs/parameters.md) and value checks against them."""

from __future__ import annotations

from typing import Any

import pytest

from nexus_dagster.param_types import ParamType, TypeStringError, check_value, parse_type

STRING = ParamType("string")
SECRET_ONLY = "a secret takes only an environment reference such as `{env: MY_VAR}`"
INT = ParamType("int")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("string", STRING),
        ("string!", ParamType("string", True)),
        ("int", INT),
        ("float!", ParamType("float", True)),
        ("bool", ParamType("bool")),
        ("any", ParamType("any")),
        ("secret!", ParamType("secret", True)),
        ("[string]", ParamType("list", False, STRING)),
        ("[int]!", ParamType("list", True, INT)),
        ("[int!]", ParamType("list", False, ParamType("int", True))),
        ("[[int]]", ParamType("list", False, ParamType("list", False, INT))),
        (" string! ", ParamType("string", True)),
        ("[ int ]", ParamType("list", False, INT)),
    ],
)
def test_type_strings_of_the_grammar_parse(text: str, expected: ParamType) -> None:
    assert parse_type(text) == expected


@pytest.mark.parametrize(
    "text", ["string", "string!", "[int]", "[int]!", "[int!]", "secret!", "[[bool]]"]
)
def test_type_string_round_trips_through_str(text: str) -> None:
    assert str(parse_type(text)) == text


# (type string, fragment the message must hold)
BAD_TYPES = [
    ("String!", "unknown type `String!`; did you mean `string!`?"),
    ("STRING", "did you mean `string`?"),
    ("[String]", "did you mean `[string]`?"),
    ("Int!", "did you mean `int!`?"),
    ("str", "did you mean `string`?"),
    ("integer", "did you mean `int`?"),
    ("boolean!", "did you mean `bool!`?"),
    ("int!!", "unknown type `int!!`"),
    ("!", "unknown type `!`"),
    ("[]", "unknown type `[]`"),
    ("[int", "unknown type `[int`"),
    ("list[int]", "unknown type `list[int]`"),
    ("", "unknown type ``."),
    ("xyzzy", "unknown type `xyzzy`. Valid types: string, int, float, bool, any, secret"),
    ("\u0455tring", "U+0455 (CYRILLIC SMALL LETTER DZE)"),  # a look-alike `s`
]


@pytest.mark.parametrize(("text", "fragment"), BAD_TYPES)
def test_rule2_types_unknown_type_names_closest_valid_type(text: str, fragment: str) -> None:
    with pytest.raises(TypeStringError) as caught:
        parse_type(text)
    assert fragment in str(caught.value)
    assert "[T] for a list of T, with a trailing `!` for required" in str(caught.value)


@pytest.mark.parametrize("value", [5, None, ["string"], {"type": "string"}, True])
def test_type_must_be_a_string(value: Any) -> None:
    with pytest.raises(TypeStringError, match="a type must be a string such as `string!`"):
        parse_type(value)


def test_optional_drops_required_mark_only() -> None:
    assert parse_type("[int!]!").optional == parse_type("[int!]")


@pytest.mark.parametrize(
    ("text", "secret"), [("secret", True), ("[secret]!", True), ("string", False), ("any", False)]
)
def test_is_secret_sees_through_lists(text: str, secret: bool) -> None:
    assert parse_type(text).is_secret is secret


# (type string, value, None when it fits or the expected message)
VALUE_CASES: list[tuple[str, Any, str | None]] = [
    ("string", "x", None),
    ("string", "", None),
    ("string", 1, "expected string, got int"),
    ("string", None, "expected string, got null"),
    ("string", True, "expected string, got bool"),
    ("int", 3, None),
    ("int", -(2**63), None),
    ("int", 3.0, "expected int, got float"),
    ("int", "3", "expected int, got str"),
    ("int", True, "expected int, got bool"),
    ("float", 2.5, None),
    ("float", 2, None),
    ("float", True, "expected float, got bool"),
    ("float", "2.5", "expected float, got str"),
    ("bool", False, None),
    ("bool", 0, "expected bool, got int"),
    ("bool", "true", "expected bool, got str"),
    ("any", None, None),
    ("any", {"nested": [1, {"x": None}]}, None),
    ("secret", {"env": "TOKEN"}, None),
    ("secret", "plain-text", SECRET_ONLY),
    ("secret", {"env": ""}, SECRET_ONLY),
    ("secret", {"env": "A", "default": "x"}, SECRET_ONLY),
    ("secret", {"env": 5}, SECRET_ONLY),
    ("[int]", [1, 2], None),
    ("[int]", [], None),
    ("[int]", [1, None], None),
    ("[int!]", [1, None], "item 1: expected int, got null"),
    ("[int]", [1, "2"], "item 1: expected int, got str"),
    ("[int]", 1, "expected a list ([int]), got int"),
    ("[int]!", "1,2", "expected a list ([int]), got str"),
    ("[[int]]", [[1], [2, "x"]], "item 1: item 1: expected int, got str"),
    ("[secret]", [{"env": "A"}, "raw"], "item 1: " + SECRET_ONLY),
]


@pytest.mark.parametrize(("text", "value", "expected"), VALUE_CASES)
def test_check_value_against_type(text: str, value: Any, expected: str | None) -> None:
    assert check_value(parse_type(text), value) == expected


SECRET_VALUE = "hunter2-very-secret"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("int", SECRET_VALUE),
        ("float", SECRET_VALUE),
        ("bool", SECRET_VALUE),
        ("secret", SECRET_VALUE),
        ("secret", {"env": "X", "value": SECRET_VALUE}),
        ("[int]", SECRET_VALUE),
        ("[int]", [1, SECRET_VALUE]),
        ("[secret]", [SECRET_VALUE]),
        ("string", [SECRET_VALUE]),
        ("string", {"key": SECRET_VALUE}),
    ],
)
def test_check_value_never_repeats_the_value(text: str, value: Any) -> None:
    message = check_value(parse_type(text), value)
    assert message is not None
    assert "hunter2" not in message
