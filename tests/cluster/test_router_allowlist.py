"""The test cluster's reading of the router's allowlist grammar (router_allowlist.py), case by case as
openshift/router's template and parseIPList decide them."""

from __future__ import annotations

import pytest

from router_allowlist import ALLOWLIST, WHITELIST, admitted


@pytest.mark.parametrize("value, entries", [
    ("192.0.2.0/24", ["192.0.2.0/24"]),
    ("192.0.2.0/24 198.51.100.7 2001:db8::/32", ["192.0.2.0/24", "198.51.100.7", "2001:db8::/32"]),
    ("192.0.2.0/24  198.51.100.7\t203.0.113.1", ["192.0.2.0/24", "198.51.100.7", "203.0.113.1"]),  # fields
    ("192.0.2.1/24", ["192.0.2.1/24"]),  # net.ParseCIDR takes host bits
    ("192.0.2.0/24 nonsense 10.0.0.0/33", ["192.0.2.0/24"]),  # bad entries dropped one by one
])
def test_an_enforced_list(value, entries):
    assert admitted({ALLOWLIST: value})[0] == entries
    assert admitted({WHITELIST: value}, older_router=True)[0] == entries


@pytest.mark.parametrize("value, why", [
    ("192.0.2.0/24 ", "leading or trailing white space"),
    (" 192.0.2.0/24", "leading or trailing white space"),
    ("192.0.2.0/24\n", "no allowlist annotation the router reads"),  # firstMatch ".+" stops at the newline
    ("192.0.2.0/24,198.51.100.7", "no entry the router can parse"),
    ("fe80::1%eth0", "no entry the router can parse"),
    ("", "no allowlist annotation"),
    ("   ", "no allowlist annotation"),
])
def test_a_list_the_router_drops_opens_the_route(value, why):
    entries, reason = admitted({ALLOWLIST: value})
    assert entries is None and reason.startswith(why), reason


def test_the_newer_annotation_wins_and_older_routers_read_only_the_older_one():
    both = {ALLOWLIST: "192.0.2.0/24", WHITELIST: "198.51.100.0/24"}
    assert admitted(both)[0] == ["192.0.2.0/24"]
    assert admitted(both, older_router=True)[0] == ["198.51.100.0/24"]
    assert admitted({ALLOWLIST: "192.0.2.0/24"}, older_router=True)[0] is None


def test_an_allowlist_on_two_lines_falls_back_to_the_older_annotation():
    # firstMatch ".+": Go's '.' stops at a newline, so the value does not match and the next one is read
    assert admitted({ALLOWLIST: "192.0.2.0/24\n198.51.100.7", WHITELIST: "203.0.113.0/24"})[0] == ["203.0.113.0/24"]
