"""plugins/plugin_utils/jinja_compat.py: what the Jinja/Ansible filters it stands for do."""

from __future__ import annotations


import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils import jinja_compat as jc


@pytest.mark.parametrize(
    "value,expected",
    [(True, True), (False, False), ("true", True), ("Yes", True), ("on", True), ("1", True), (1, True),
     ("false", False), ("no", False), ("OFF", False), ("0", False), (0, False), ("", False), (None, False),
     ("maybe", False), (1.0, True), (2, False)],
)
def test_to_bool_is_ansibles_bool(value, expected):
    assert jc.to_bool(value) is expected


@pytest.mark.parametrize(
    "value,expected", [("5", 5), (" 7 ", 7), ("42.9", 42), ("abc", 0), ("", 0), (None, 0), (3.7, 3), (True, 1), ("1e3", 1000)]
)
def test_to_int_is_jinjas_int(value, expected):
    assert jc.to_int(value) == expected


def test_default_true_replaces_every_empty_value():
    for empty in (None, "", 0, False, [], {}):
        assert jc.default_true(empty, "x") == "x"
    assert jc.default_true("v", "x") == "v"


def test_lookup_and_mapping():
    obj = {"a": {"b": None, "c": {"d": 1}}}
    assert jc.lookup(obj, "a", "c", "d") == 1
    assert jc.lookup(obj, "a", "b", "x") is None
    assert jc.lookup(obj, "z") is None
    assert jc.lookup(None, "a") is None
    assert jc.mapping(None) == {} and jc.mapping("s") == {} and jc.mapping({"a": 1}) == {"a": 1}


def test_match_and_search_read_values_as_text():
    assert jc.matches(r"^[0-9]+$", 12)
    assert jc.matches(r"^abc$", "abc\n")  # Python's $ before a final newline, as in Ansible
    assert not jc.matches(r"^a", "ba")
    assert jc.searches(r"a", "ba")


def test_to_json_is_ansibles_to_json():
    assert jc.to_json({"b": "ü", "a": [1, None]}) == '{"b": "\\u00fc", "a": [1, null]}'
