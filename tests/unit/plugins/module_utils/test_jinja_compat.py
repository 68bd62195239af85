"""plugins/module_utils/jinja_compat.py: what the Jinja/Ansible filters it stands for do."""

from __future__ import annotations

from collections import UserDict

import pytest

from ansible_collections.csc.mlflow.plugins.module_utils import jinja_compat as jc


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


def test_plain_copies_through_the_containers_own_methods():
    class Lazy(UserDict):
        def items(self):
            return [(k, v.upper()) for k, v in self.data.items()]

    class Tagged(str):
        pass

    out = jc.plain({"x": Lazy({"k": "v"}), "l": (1, Tagged("t"), [2.5, None, True])})
    assert out == {"x": {"k": "V"}, "l": [1, "t", [2.5, None, True]]}
    assert out["l"][1].__class__ is str and out["x"].__class__ is dict


def test_plain_reads_ansibles_lazy_containers_as_a_template_would():
    """Through a real ansible-core templar: data (a fact read from the cluster) is copied as stored, items that
    are templates (role variables) are rendered, and the result equals reading every item through its container."""
    template = pytest.importorskip("ansible.template")
    if not hasattr(template, "trust_as_template"):
        pytest.skip("ansible-core < 2.19 hands filters plain containers")
    from ansible.parsing.dataloader import DataLoader

    seen = []

    def probe(*args):
        # the data is copied without its container rendering anything; the templates cannot be
        assert jc._stored_copy(args[0]) == fact
        with pytest.raises(jc._NeedsRendering):
            jc._stored_copy(args[1])
        seen.append(([type(a).__name__ for a in args], [jc.plain(a) for a in args], [jc._read_copy(a) for a in args]))
        return True

    trusted = template.trust_as_template
    fact = {"Secret/x": {"metadata": {"name": "x", "labels": {"a": "b"}}, "data": {"k": "{{ not rendered }}"}},
            "items": [1, 2.5, None, True, {"q": "r"}]}
    names = {"tracking": trusted("{{ app }}"), "models": trusted("{{ app }}-models"), "n": [trusted("{{ app }}-1"), "x"]}
    templar = template.Templar(loader=DataLoader(), variables={"probe": probe, "fact": fact, "names": names, "app": "demo"})
    assert templar.template(trusted("{{ probe(fact, names, [fact, names]) }}")) is True
    (types, fast, read), = seen
    assert types == ["_AnsibleLazyTemplateDict", "_AnsibleLazyTemplateDict", "_AnsibleLazyTemplateList"]
    assert fast == read
    assert fast[0] == fact and fast[1] == {"tracking": "demo", "models": "demo-models", "n": ["demo-1", "x"]}
    assert fast[0]["items"][4].__class__ is dict and fast[2].__class__ is list
