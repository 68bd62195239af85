"""plugin_utils/plain.py: filter arguments as plain values, from Ansible 2.19's lazy containers too."""

from __future__ import annotations

from collections import UserDict

import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils import plain as plain_utils


def test_plain_copies_through_the_containers_own_methods():
    class Lazy(UserDict):
        def items(self):
            return [(k, v.upper()) for k, v in self.data.items()]

    class Tagged(str):
        pass

    out = plain_utils.plain({"x": Lazy({"k": "v"}), "l": (1, Tagged("t"), [2.5, None, True])})
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
        assert plain_utils._stored_copy(args[0]) == fact
        with pytest.raises(plain_utils._NeedsRendering):
            plain_utils._stored_copy(args[1])
        seen.append(([type(a).__name__ for a in args], [plain_utils.plain(a) for a in args], [plain_utils._read_copy(a) for a in args]))
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
