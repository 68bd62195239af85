"""Pure logic of plugins/module_utils/ip_whitelist.py (parsing and normalising)."""

from __future__ import annotations

import pytest

from ansible_collections.csc.mlflow.plugins.module_utils import ip_whitelist as w


@pytest.mark.parametrize(
    "value,expected",
    [
        (None, []),
        ("", []),
        ([], []),
        ("10.0.0.1", ["10.0.0.1"]),
        ("10.0.0.5/24", ["10.0.0.0/24"]),
        ("192.0.2.1/32", ["192.0.2.1"]),
        ("2001:DB8:0:0::1/128", ["2001:db8::1"]),
        ("2001:db8::1/64", ["2001:db8::/64"]),
        ("10.0.0.2 10.0.0.1,10.0.0.1;\n10.0.0.3|10.0.0.2\t", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
        (["2001:db8::/32", "10.0.0.0/8", "10.0.0.0/8 192.0.2.0/24"], ["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"]),
        (["10.0.0.0/8", None], ["10.0.0.0/8"]),
        ("0.0.0.0/0", ["0.0.0.0/0"]),
    ],
)
def test_normalize(value, expected):
    assert w.normalize(value) == expected


def test_bad_entries_are_all_named():
    with pytest.raises(w.WhitelistError) as err:
        w.normalize("10.0.0.0/33 1.2.3 example.com 10.0.0.1 fe80::1%eth0 10.0.0.0/255.255.255.0 010.0.0.1 10.0.0.0/08")
    msg = str(err.value)
    for bad in ["10.0.0.0/33", "1.2.3", "example.com", "fe80::1%eth0", "10.0.0.0/255.255.255.0", "010.0.0.1", "10.0.0.0/08"]:
        assert repr(bad) in msg
    assert "'10.0.0.1'" not in msg


def test_non_string_entries_are_rejected():
    with pytest.raises(w.WhitelistError) as err:
        w.normalize(["10.0.0.1", 167772161])
    assert "167772161" in str(err.value)
    with pytest.raises(w.WhitelistError):
        w.normalize({"a": 1})


def test_max_entries_and_collapse():
    many = ["10.0.%d.0/24" % i for i in range(64)]
    with pytest.raises(w.WhitelistError) as err:
        w.normalize(many, max_entries=61)
    assert "64 entries" in str(err.value) and "collapse" in str(err.value)
    assert w.normalize(many, collapse=True) == ["10.0.0.0/18"]
    assert len(w.normalize(many[:61], max_entries=61)) == 61


def test_no_limit_by_default():
    # The router writes long lists to a file (openshift/router 488120a38): a 62nd entry works.
    many = ["10.%d.%d.0/24" % (i // 200, i % 200) for i in range(300)]
    assert len(w.normalize(many)) == 300


def test_collapse_merges_contained_and_adjacent_only_when_asked():
    value = ["10.0.0.0/24", "10.0.0.7", "10.0.1.0/24", "2001:db8::/33", "2001:db8:8000::/33"]
    assert w.normalize(value) == ["10.0.0.0/24", "10.0.0.7", "10.0.1.0/24", "2001:db8::/33", "2001:db8:8000::/33"]
    assert w.normalize(value, collapse=True) == ["10.0.0.0/23", "2001:db8::/32"]


def test_annotation_format():
    entries = ["10.0.0.0/24", "2001:db8::1"]
    assert w.to_annotation(entries, "Route") == "10.0.0.0/24 2001:db8::1"
    assert w.to_annotation(entries, "Ingress") == "10.0.0.0/24,2001:db8::1"
    assert w.default_annotation_keys("Route") == ("haproxy.router.openshift.io/ip_allowlist",
                                                  "haproxy.router.openshift.io/ip_whitelist")
    assert w.default_annotation_keys("Ingress") == ("nginx.ingress.kubernetes.io/whitelist-source-range",)
