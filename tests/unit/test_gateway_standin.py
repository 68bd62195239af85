"""The pure logic of the test cluster's Gateway API stand-in (tests/cluster/gateway_standin.py): hostname
intersection (Gateway API httproute_types.go), allowedRoutes, backend references, and the AllowlistEnforced reading
of Envoy Gateway SecurityPolicies and Istio AuthorizationPolicies. No cluster."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))

import gateway_standin as gs  # noqa: E402  pylint: disable=wrong-import-position

GW = {"metadata": {"namespace": "gateway-system", "name": "platform"}}
ROUTE = {"metadata": {"namespace": "app", "name": "mlflow"}}


def meta(ns, name, created="2026-01-01T00:00:00Z"):
    return {"namespace": ns, "name": name, "creationTimestamp": created}


# ---------------------------------------------------------------------------------------------- hostnames
@pytest.mark.parametrize("listener, route, expected", [
    ("*.example.com", ["test.example.com"], ["test.example.com"]),
    ("*.example.com", ["foo.test.example.com"], ["foo.test.example.com"]),
    ("*.example.com", ["example.com"], []),
    ("*.example.com", ["test.example.net"], []),
    ("*.example.com", ["test.example.com", "test.example.net"], ["test.example.com"]),
    ("test.example.com", ["*.example.com"], ["test.example.com"]),
    ("test.example.com", ["test.example.com"], ["test.example.com"]),
    ("test.example.com", ["other.example.com"], []),
    ("*.example.com", ["*.example.com"], ["*.example.com"]),
    ("*.example.com", ["*.a.example.com"], ["*.a.example.com"]),
    ("*.a.example.com", ["*.example.com"], ["*.a.example.com"]),
    ("*.example.com", ["*.example.net"], []),
    ("Test.Example.com", ["test.example.COM"], ["test.example.com"]),
    (None, ["a.example.org"], ["a.example.org"]),
    ("*.example.com", [], ["*.example.com"]),
    (None, None, ["*"]),
])
def test_hostname_intersection(listener, route, expected):
    assert gs.hostname_intersection(listener, route) == expected


@pytest.mark.parametrize("allowed, route_ns, labels, ok", [
    (None, "gateway-system", {}, True),  # Same is the default
    (None, "app", {}, False),
    ({"namespaces": {"from": "All"}}, "app", {}, True),
    ({"namespaces": {"from": "Same"}}, "app", {}, False),
    ({"namespaces": {"from": "Selector", "selector": {"matchLabels": {"a": "b"}}}}, "app", {"a": "b"}, True),
    ({"namespaces": {"from": "Selector", "selector": {"matchLabels": {"a": "b"}}}}, "app", {"a": "c"}, False),
    ({"namespaces": {"from": "Selector", "selector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["app"]}]}}}, "app",
     {"kubernetes.io/metadata.name": "app"}, True),
    ({"namespaces": {"from": "Selector", "selector": {"matchExpressions": [
        {"key": "x", "operator": "DoesNotExist"}]}}}, "app", {"x": "1"}, False),
])
def test_namespace_allowed(allowed, route_ns, labels, ok):
    assert gs.namespace_allowed(allowed, route_ns, "gateway-system", labels) is ok


def test_listener_kinds():
    carried = [{"group": gs.GROUP, "kind": "HTTPRoute"}, {"group": gs.GROUP, "kind": "GRPCRoute"}]
    assert gs.listener_kinds({"protocol": "HTTPS"})[0] == carried
    asked = [{"kind": "HTTPRoute"}, {"kind": "TCPRoute"}]
    ok, bad = gs.listener_kinds({"protocol": "HTTP", "allowedRoutes": {"kinds": asked}})
    assert ok == [{"group": gs.GROUP, "kind": "HTTPRoute"}] and bad == [{"group": gs.GROUP, "kind": "TCPRoute"}]


def _route(listeners_ref=None, hostnames=("mlflow.apps.gateway.test",)):
    return {"metadata": {"namespace": "app", "name": "mlflow"},
            "spec": {"parentRefs": [listeners_ref or {"name": "platform", "namespace": "gateway-system"}],
                     "hostnames": list(hostnames)}}


GATEWAY = {"metadata": {"namespace": "gateway-system", "name": "platform"}, "spec": {"listeners": [
    {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "*.apps.gateway.test",
     "allowedRoutes": {"namespaces": {"from": "All"}}},
    {"name": "http", "protocol": "HTTP", "port": 80, "hostname": "*.apps.gateway.test"}]}}


@pytest.mark.parametrize("ref, hostnames, reason, attached", [
    ({}, ["mlflow.apps.gateway.test"], "Accepted", ["https"]),  # http: namespace Same only
    ({"sectionName": "https"}, ["mlflow.apps.gateway.test"], "Accepted", ["https"]),
    ({"sectionName": "grpc"}, ["mlflow.apps.gateway.test"], "NoMatchingParent", []),
    ({"sectionName": "http"}, ["mlflow.apps.gateway.test"], "NotAllowedByListeners", []),
    ({"port": 8443}, ["mlflow.apps.gateway.test"], "NoMatchingParent", []),
    ({}, ["mlflow.example.org"], "NoMatchingListenerHostname", []),
])
def test_evaluate_parent(ref, hostnames, reason, attached):
    ref = {"name": "platform", "namespace": "gateway-system", **ref}
    accepted, listeners, _hosts = gs.evaluate_parent(_route(ref, hostnames), ref, GATEWAY, {})
    assert accepted["reason"] == reason
    assert [lsn["name"] for lsn in listeners] == attached


def test_resolved_refs():
    route = {"metadata": {"namespace": "app", "name": "r"},
             "spec": {"rules": [{"backendRefs": [{"name": "svc", "port": 80}]}]}}
    assert gs.resolved_refs(route, set(), [])["reason"] == "BackendNotFound"
    assert gs.resolved_refs(route, {("app", "svc")}, [])["reason"] == "ResolvedRefs"
    route["spec"]["rules"][0]["backendRefs"][0]["namespace"] = "other"
    assert gs.resolved_refs(route, {("other", "svc")}, [])["reason"] == "RefNotPermitted"
    grant = {"metadata": {"namespace": "other", "name": "g"}, "spec": {
        "from": [{"group": gs.GROUP, "kind": "HTTPRoute", "namespace": "app"}], "to": [{"group": "", "kind": "Service"}]}}
    assert gs.resolved_refs(route, {("other", "svc")}, [grant])["reason"] == "ResolvedRefs"
    route["spec"]["rules"][0]["backendRefs"][0].update(group="example.test", kind="Bucket")
    assert gs.resolved_refs(route, {("other", "svc")}, [grant])["reason"] == "InvalidKind"


# ---------------------------------------------------------------------------------------------- CIDRs
def test_cidr_union_keeps_order_and_drops_repeats():
    assert gs.cidr_union([["192.0.2.0/24", "198.51.100.7"], ["198.51.100.7", "2001:db8::/32"]]) == [
        "192.0.2.0/24", "198.51.100.7", "2001:db8::/32"]
    assert gs.cidr_union([]) == []


@pytest.mark.parametrize("a, b, same", [
    (["192.0.2.0/24"], ["192.0.2.0/24"], True),
    (["192.0.2.0/25", "192.0.2.128/25"], ["192.0.2.0/24"], True),
    (["198.51.100.7"], ["198.51.100.7/32"], True),
    (["192.0.2.0/24", "2001:db8::/32"], ["2001:db8::/32", "192.0.2.0/24"], True),
    (["192.0.2.0/24"], ["203.0.113.0/24"], False),
])
def test_same_cidrs(a, b, same):
    assert gs.same_cidrs(a, b) is same


# ---------------------------------------------------------------------------------------------- Envoy Gateway
def sp(name, kind, target, authorization=None, ns="app", created="2026-01-01T00:00:00Z"):
    spec = {"targetRefs": [{"group": gs.GROUP, "kind": kind, "name": target}]}
    if authorization is not None:
        spec["authorization"] = authorization
    return {"metadata": meta(ns, name, created), "spec": spec}


def allow(*cidrs, default="Deny"):
    return {"defaultAction": default, "rules": [{"action": "Allow", "principal": {"clientCIDRs": list(cidrs)}}]}


def test_envoy_route_policy():
    c = gs.envoy_allowlist(ROUTE, GW, None, [sp("p", "HTTPRoute", "mlflow", allow("192.0.2.0/24"))])
    assert (c["reason"], c["message"]) == ("Enforced", "192.0.2.0/24")


def test_envoy_union_of_allow_rules_and_deny_rules_ignored():
    authz = {"defaultAction": "Deny", "rules": [
        {"action": "Deny", "principal": {"clientCIDRs": ["192.0.2.128/25"]}},
        {"action": "Allow", "principal": {"clientCIDRs": ["192.0.2.0/24"]}},
        {"action": "Allow", "principal": {"clientCIDRs": ["198.51.100.0/24"], "headers": [{"name": "x"}]}}]}
    c = gs.envoy_allowlist(ROUTE, GW, None, [sp("p", "HTTPRoute", "mlflow", authz)])
    assert c["message"] == "192.0.2.0/24 198.51.100.0/24"


@pytest.mark.parametrize("authz, why", [
    (None, "has no authorization"),
    (allow("192.0.2.0/24", default="Allow"), "defaultAction Allow"),
    ({"rules": [{"action": "Allow", "principal": {"jwt": {"provider": "x"}}}]}, "allows without clientCIDRs"),
])
def test_envoy_open(authz, why):
    c = gs.envoy_allowlist(ROUTE, GW, None, [sp("p", "HTTPRoute", "mlflow", authz)])
    assert c["reason"] == "OpenToAll" and why in c["message"]


def test_envoy_default_action_defaults_to_deny():
    c = gs.envoy_allowlist(ROUTE, GW, None, [sp("p", "HTTPRoute", "mlflow", {"rules": [
        {"action": "Allow", "principal": {"clientCIDRs": ["192.0.2.0/24"]}}]})])
    assert c["reason"] == "Enforced"
    c = gs.envoy_allowlist(ROUTE, GW, None, [sp("p", "HTTPRoute", "mlflow", {})])
    assert c["reason"] == "Enforced" and c["message"].startswith("no address")


def test_envoy_gateway_policy_and_route_override():
    gw_policy = sp("gw", "Gateway", "platform", allow("198.51.100.0/24"), ns="gateway-system")
    assert gs.envoy_allowlist(ROUTE, GW, None, [gw_policy])["message"] == "198.51.100.0/24"
    route_policy = sp("r", "HTTPRoute", "mlflow", allow("192.0.2.0/24"))
    assert gs.envoy_allowlist(ROUTE, GW, None, [gw_policy, route_policy])["message"] == "192.0.2.0/24"
    assert gs.envoy_allowlist(ROUTE, GW, None, [gw_policy, sp("r", "HTTPRoute", "mlflow")])["reason"] == "OpenToAll"
    # a Gateway policy of another namespace or Gateway, a listener policy of another listener: not this route's
    assert gs.envoy_allowlist(ROUTE, GW, None, [sp("gw", "Gateway", "platform", allow("1.2.3.4"))])["reason"] == \
        "OpenToAll"
    listener_policy = gw_policy | {"spec": {**gw_policy["spec"], "targetRefs": [
        {"group": gs.GROUP, "kind": "Gateway", "name": "platform", "sectionName": "https"}]}}
    assert gs.envoy_allowlist(ROUTE, GW, "https", [listener_policy])["reason"] == "Enforced"
    assert gs.envoy_allowlist(ROUTE, GW, "http", [listener_policy])["reason"] == "OpenToAll"


def test_envoy_several_route_policies():
    a = sp("a", "HTTPRoute", "mlflow", allow("192.0.2.0/24"), created="2026-01-01T00:00:00Z")
    b = sp("b", "HTTPRoute", "mlflow", allow("192.0.2.0/25", "192.0.2.128/25"), created="2026-01-02T00:00:00Z")
    assert gs.envoy_allowlist(ROUTE, GW, None, [b, a])["message"] == "192.0.2.0/24"  # agree: the oldest's list
    c = gs.envoy_allowlist(ROUTE, GW, None, [a, sp("c", "HTTPRoute", "mlflow", allow("203.0.113.0/24"))])
    assert c["reason"] == "Differs" and "app/a" in c["message"] and "app/c" in c["message"]


# ---------------------------------------------------------------------------------------------- Istio
def ap(name, action, rules, ns="gateway-system", target="platform"):
    return {"metadata": meta(ns, name), "spec": {"targetRefs": [{"group": gs.GROUP, "kind": "Gateway", "name": target}],
                                                 "action": action, "rules": rules}}


def deny_except(hosts, cidrs, field="notRemoteIpBlocks"):
    rule = {"from": [{"source": {field: cidrs}}]}
    if hosts is not None:
        rule["to"] = [{"operation": {"hosts": hosts}}]
    return rule


@pytest.mark.parametrize("pattern, host, ok", [
    ("mlflow.apps.gateway.test", "mlflow.apps.gateway.test", True),
    ("MLflow.apps.gateway.test", "mlflow.apps.gateway.test", True),
    ("*.apps.gateway.test", "mlflow.apps.gateway.test", True),
    ("*.gateway.test", "*.apps.gateway.test", True),
    ("mlflow.apps.gateway.test", "*.apps.gateway.test", False),
    ("mlflow.*", "mlflow.apps.gateway.test", True),
    ("*", "*", True),
    ("other.apps.gateway.test", "mlflow.apps.gateway.test", False),
])
def test_istio_host_match(pattern, host, ok):
    assert gs.istio_host_match(pattern, host) is ok


HOSTS = ["mlflow.apps.gateway.test"]
WITH_PORT = HOSTS + ["mlflow.apps.gateway.test:*"]


def test_istio_deny_policy():
    c = gs.istio_allowlist(GW, HOSTS, [ap("p", "DENY", [deny_except(WITH_PORT, ["192.0.2.0/24"])])])
    assert (c["reason"], c["message"]) == ("Enforced", "192.0.2.0/24")
    c = gs.istio_allowlist(GW, HOSTS, [ap("p", "DENY", [deny_except(None, ["192.0.2.0/24"], "notIpBlocks")])])
    assert (c["reason"], c["message"]) == ("Enforced", "192.0.2.0/24")


@pytest.mark.parametrize("policies, why", [
    ([], "no AuthorizationPolicy targets Gateway gateway-system/platform"),
    ([ap("p", "DENY", [deny_except(["other.apps.gateway.test"], ["192.0.2.0/24"])])], "no AuthorizationPolicy restricts"),
    ([ap("p", "DENY", [deny_except(HOSTS, ["192.0.2.0/24"])], target="other")], "no AuthorizationPolicy targets"),
    ([ap("p", "DENY", [deny_except(HOSTS, ["192.0.2.0/24"])], ns="app")], "no AuthorizationPolicy targets"),
    ([ap("p", "DENY", [{"from": [{"source": {"notRemoteIpBlocks": ["192.0.2.0/24"]}}],
                        "to": [{"operation": {"hosts": HOSTS, "paths": ["/admin*"]}}]}])], "no AuthorizationPolicy restricts"),
    ([ap("p", "ALLOW", [{"from": [{"source": {"namespaces": ["x"]}}]}])], "admits any address"),
])
def test_istio_open(policies, why):
    c = gs.istio_allowlist(GW, HOSTS, policies)
    assert c["reason"] == "OpenToAll" and why in c["message"], c


def test_istio_allow_policy():
    rules = [{"from": [{"source": {"remoteIpBlocks": ["192.0.2.0/24"]}}], "to": [{"operation": {"hosts": HOSTS}}]},
             {"from": [{"source": {"ipBlocks": ["203.0.113.0/24"]}}], "to": [{"operation": {"hosts": ["other.test"]}}]}]
    c = gs.istio_allowlist(GW, HOSTS, [ap("p", "ALLOW", rules)])
    assert (c["reason"], c["message"]) == ("Enforced", "192.0.2.0/24")


def test_istio_deny_policy_without_the_host_with_a_port_is_bypassed():
    c = gs.istio_allowlist(GW, HOSTS, [ap("p", "DENY", [deny_except(HOSTS, ["192.0.2.0/24"])])])
    assert c["reason"] == "OpenToAll" and c["message"].startswith("host mlflow.apps.gateway.test:443"), c
    wider = ap("w", "DENY", [deny_except(["mlflow.apps.gateway.test:*"], ["0.0.0.0/0"])])
    c = gs.istio_allowlist(GW, HOSTS, [ap("p", "DENY", [deny_except(HOSTS, ["192.0.2.0/24"])]), wider])
    assert c["reason"] == "Differs", c


def test_istio_allow_policy_for_the_host_only_denies_it_with_a_port():
    rules = [{"from": [{"source": {"remoteIpBlocks": ["192.0.2.0/24"]}}], "to": [{"operation": {"hosts": HOSTS}}]}]
    c = gs.istio_allowlist(GW, HOSTS, [ap("p", "ALLOW", rules)])
    assert (c["reason"], c["message"]) == ("Enforced", "192.0.2.0/24")


def test_istio_policies_that_agree_or_differ():
    deny = ap("d", "DENY", [deny_except(WITH_PORT, ["192.0.2.0/24"])])
    same = ap("a", "ALLOW", [{"from": [{"source": {"remoteIpBlocks": ["192.0.2.0/24"]}}]}])
    assert gs.istio_allowlist(GW, HOSTS, [deny, same])["reason"] == "Enforced"
    other = ap("o", "DENY", [deny_except(["*.apps.gateway.test"], ["203.0.113.0/24"])])
    assert gs.istio_allowlist(GW, HOSTS, [deny, other])["reason"] == "Differs"


def test_istio_every_hostname_must_be_restricted():
    hosts = ["mlflow.apps.gateway.test", "other.apps.gateway.test"]
    c = gs.istio_allowlist(GW, hosts, [ap("p", "DENY", [deny_except(WITH_PORT, ["192.0.2.0/24"])])])
    assert c["reason"] == "OpenToAll" and "other.apps.gateway.test" in c["message"]
    wildcard = ["*.apps.gateway.test"]
    c = gs.istio_allowlist(GW, wildcard, [ap("p", "DENY", [deny_except(wildcard, ["192.0.2.0/24"])])])
    assert c["reason"] == "Enforced"


def test_unknown_implementation():
    c = gs.allowlist(gs.UNKNOWN, ROUTE, GW, None, HOSTS, [sp("p", "HTTPRoute", "mlflow", allow("192.0.2.0/24"))], [])
    assert c == {"type": "AllowlistEnforced", "status": "False", "reason": "OpenToAll",
                 "message": "implementation example.test/gateway-controller: no known policy"}


def test_stamp_keeps_the_transition_time_of_an_unchanged_status():
    old = [{"type": "Accepted", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    assert gs.stamp([{"type": "Accepted", "status": "True"}], old)[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert gs.stamp([{"type": "Accepted", "status": "False"}], old)[0]["lastTransitionTime"] != "2026-01-01T00:00:00Z"
