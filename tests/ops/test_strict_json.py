"""The one reader of JSON request bodies (core/strict_json.py) both doors share."""

import pytest

from core import strict_json
from core.strict_json import MAX_DEPTH, InvalidJSON


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("[" * 1000 + "]" * 1000, "syntax"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "syntax"),
        ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "syntax"),
        ("NaN", "syntax"),
        ('{"x": Infinity}', "syntax"),
        ('{"x": 1e400}', "syntax"),
        ('"\\ud800"', "syntax"),
        ('{"x": 1', "syntax"),
        ('{"x": "a\\u0000"}', "value"),
        ('{"\\u0000": 1}', "value"),
        ('[[["\\u0000"]]]', "value"),
    ],
)
def test_what_is_refused_and_how(raw, kind):
    with pytest.raises(InvalidJSON) as caught:
        strict_json.loads(raw.encode())
    assert caught.value.kind == kind
    assert caught.value.message


def test_the_deepest_nesting_allowed_and_ordinary_bodies_read_as_written():
    deepest = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert strict_json.loads(deepest.encode()) is not None
    assert strict_json.loads(b'{"a": [1, "b", null, true, 2.5], "c": {"d": "e"}}') == {
        "a": [1, "b", None, True, 2.5],
        "c": {"d": "e"},
    }
