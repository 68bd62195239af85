"""Gateway API on the test cluster: the real CRDs (CEL validation), and the implementation stand-in
(tests/cluster/gateway_standin.py) writing GatewayClass, Gateway, HTTPRoute and SecurityPolicy status and the
test-only HTTPRoute parent condition AllowlistEnforced, for Envoy Gateway, Istio and an unknown implementation."""

from __future__ import annotations

import json
import secrets

import pytest

from harness.gateways import (GROUP, CONTROLLERS, allowlist_condition, condition, httproute_parent_conditions,
                              httproute_parents, platform_gateway, wait_for_allowlist, wait_for_condition,
                              wait_for_parent_condition)

pytestmark = pytest.mark.cluster

HOST = "mlflow.apps.gateway.test"
SP_API = "gateway.envoyproxy.io/v1alpha1"
AP_API = "security.istio.io/v1"


def create(cluster, *objs: dict, check: bool = True):
    return cluster.kubectl_run("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                     "items": list(objs)}), check=check)


def apply(cluster, *objs: dict):
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)})
    return cluster.kubectl_run("apply", "--server-side", "--force-conflicts", "-f", "-", input=body)


def route(ns: str, gateway: tuple[str, str], name: str, hostnames=(HOST,), section: str | None = "https",
          backend: dict | None = None, **spec) -> dict:
    ref = {"name": gateway[1], "namespace": gateway[0]}
    if section:
        ref["sectionName"] = section
    return {"apiVersion": f"{GROUP}/v1", "kind": "HTTPRoute", "metadata": {"name": name, "namespace": ns},
            "spec": {"parentRefs": [ref], "hostnames": list(hostnames),
                     "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                                "backendRefs": [backend or {"name": "mlflow", "port": 5000}]}], **spec}}


def service(ns: str, name: str = "mlflow") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"ports": [{"name": "http", "port": 5000}], "selector": {"app": name}}}


def security_policy(ns: str, name: str, target_kind: str, target: str, cidrs=None, default_action="Deny",
                    authorization: dict | None = None) -> dict:
    spec = {"targetRefs": [{"group": GROUP, "kind": target_kind, "name": target}]}
    if authorization is not None:
        spec["authorization"] = authorization
    elif cidrs is not None:
        spec["authorization"] = {"defaultAction": default_action, "rules": [
            {"name": "allowlist", "action": "Allow", "principal": {"clientCIDRs": list(cidrs)}}]}
    return {"apiVersion": SP_API, "kind": "SecurityPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def authorization_policy(gateway: tuple[str, str], name: str, hosts, cidrs, action="DENY",
                         field="notRemoteIpBlocks") -> dict:
    rule = {"from": [{"source": {field: list(cidrs)}}]}
    if hosts is not None:
        rule["to"] = [{"operation": {"hosts": list(hosts)}}]
    return {"apiVersion": AP_API, "kind": "AuthorizationPolicy", "metadata": {"name": name, "namespace": gateway[0]},
            "spec": {"targetRefs": [{"group": GROUP, "kind": "Gateway", "name": gateway[1]}], "action": action,
                     "rules": [rule]}}


def status_of(cluster, path: str, what: str, read) -> object:
    return wait_for_condition(cluster, path, read, what)


def cond_of(conditions, type_):
    found = condition(conditions or [], type_)
    assert found, f"no {type_} in {conditions}"
    return found


@pytest.fixture(scope="module")
def ns(cluster):
    """One namespace for the module's routes (each test names its own), with the Service ``mlflow``."""
    name = cluster.fresh_namespace("gw", profile="kubernetes")
    create(cluster, service(name))
    yield name
    cluster.delete_namespace(name)


@pytest.fixture(scope="module")
def envoy(cluster):
    """An Envoy Gateway Gateway shared by the tests that neither count its routes nor attach policies to it."""
    return platform_gateway(cluster, "envoy-gateway")


@pytest.fixture
def own_envoy(cluster):
    return platform_gateway(cluster, "envoy-gateway")


@pytest.fixture
def name():
    """The test's own HTTPRoute name."""
    return f"r-{secrets.token_hex(4)}"


# ---------------------------------------------------------------------------------------------- CRDs
def test_the_crds_are_the_pinned_releases(cluster):
    crds = {c["metadata"]["name"]: c for c in cluster.get_json(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")["items"]}
    for plural in ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants"):
        ann = crds[f"{plural}.{GROUP}"]["metadata"]["annotations"]
        assert ann["gateway.networking.k8s.io/bundle-version"] == "v1.6.3"
        assert ann["gateway.networking.k8s.io/channel"] == "standard"
    assert "securitypolicies.gateway.envoyproxy.io" in crds
    assert "authorizationpolicies.security.istio.io" in crds


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["spec"]["rules"][0]["matches"][0]["path"].update(value="no-leading-slash"),
     "value must be an absolute path and start with '/'"),
    (lambda r: r["spec"]["rules"][0]["backendRefs"][0].pop("port"), "Must have port for Service reference"),
    (lambda r: r["spec"]["rules"][0].update(timeouts={"request": "5 minutes"}), "spec.rules[0].timeouts.request"),
    (lambda r: r["spec"]["rules"][0].update(timeouts={"request": "1s", "backendRequest": "10s"}),
     "backendRequest timeout cannot be longer than request timeout"),
])
def test_the_apiserver_enforces_the_crds_validation(cluster, ns, mutate, message, name):
    bad = route(ns, ("gateway-system-none", "platform"), name)
    mutate(bad)
    out = create(cluster, bad, check=False)
    assert out.returncode != 0
    assert message in out.stderr, out.stderr


def test_a_security_policy_is_validated_too(cluster, ns, name):
    bad = security_policy(ns, f"{name}-bad", "Service", "mlflow", cidrs=["192.0.2.0/24"])
    out = create(cluster, bad, check=False)
    assert out.returncode != 0 and "targetRefs[*].kind of Gateway/ListenerSet/HTTPRoute" in out.stderr, out.stderr


# ---------------------------------------------------------------------------------------------- Gateways
@pytest.mark.parametrize("implementation", sorted(CONTROLLERS))
def test_the_gateway_class_and_gateway_are_accepted_and_programmed(cluster, implementation):
    gns, gname = platform_gateway(cluster, implementation)
    gw = status_of(cluster, f"/apis/{GROUP}/v1/namespaces/{gns}/gateways/{gname}", "Gateway status",
                   lambda o: o if len((o.get("status") or {}).get("listeners") or []) == 2 else None)
    gen = gw["metadata"]["generation"]
    for t in ("Accepted", "Programmed"):
        c = cond_of(gw["status"]["conditions"], t)
        assert (c["status"], c["reason"], c["observedGeneration"]) == ("True", t, gen)
    assert gw["status"]["addresses"] == [{"type": "IPAddress", "value": "192.0.2.10"}]
    assert [lsn["name"] for lsn in gw["status"]["listeners"]] == ["https", "http"]
    assert all(lsn["attachedRoutes"] == 0 for lsn in gw["status"]["listeners"])
    assert {"group": GROUP, "kind": "HTTPRoute"} in gw["status"]["listeners"][0]["supportedKinds"]
    gc = cluster.get_json(f"/apis/{GROUP}/v1/gatewayclasses/{gw['spec']['gatewayClassName']}")
    assert gc["spec"]["controllerName"] == CONTROLLERS[implementation]
    assert cond_of(gc["status"]["conditions"], "Accepted")["status"] == "True"


# ---------------------------------------------------------------------------------------------- HTTPRoutes
def test_a_good_route_is_accepted_and_counted(cluster, ns, own_envoy, name):
    envoy = own_envoy
    create(cluster, route(ns, envoy, name, section=None))
    parents = httproute_parents(cluster, ns, name)
    assert len(parents) == 1
    p = parents[0]
    assert p["controllerName"] == CONTROLLERS["envoy-gateway"]
    assert p["parentRef"]["name"] == envoy[1] and p["parentRef"]["namespace"] == envoy[0]
    accepted, resolved = cond_of(p["conditions"], "Accepted"), cond_of(p["conditions"], "ResolvedRefs")
    assert (accepted["status"], accepted["reason"]) == ("True", "Accepted")
    assert (resolved["status"], resolved["reason"]) == ("True", "ResolvedRefs")
    # no sectionName: attached to both listeners
    status_of(cluster, f"/apis/{GROUP}/v1/namespaces/{envoy[0]}/gateways/{envoy[1]}", "attachedRoutes 1, 1",
              lambda o: o if [lsn["attachedRoutes"] for lsn in (o.get("status") or {}).get("listeners") or []]
              == [1, 1] else None)


def test_observed_generation_follows_the_route(cluster, ns, envoy, name):
    create(cluster, route(ns, envoy, name))
    assert httproute_parent_conditions(cluster, ns, name)[0]["observedGeneration"] == 1
    cluster.kubectl_run("-n", ns, "patch", "httproute", name, "--type", "merge", "-p",
                        json.dumps({"spec": {"hostnames": ["other.apps.gateway.test"]}}))
    conds = httproute_parent_conditions(cluster, ns, name)  # waits for generation 2
    assert {c["observedGeneration"] for c in conds} == {2}


def reason(cluster, ns, name, type_="Accepted"):
    c = cond_of(httproute_parent_conditions(cluster, ns, name), type_)
    return c["status"], c["reason"]


def test_a_gateway_that_does_not_exist(cluster, ns, name):
    create(cluster, route(ns, (ns, "nowhere"), name))
    p = httproute_parents(cluster, ns, name)[0]
    assert p["controllerName"] == "csc-mlflow.test/gateway-standin"
    assert reason(cluster, ns, name) == ("False", "NoMatchingParent")


def test_a_section_name_that_names_no_listener(cluster, ns, envoy, name):
    create(cluster, route(ns, envoy, name, section="grpc"))
    assert reason(cluster, ns, name) == ("False", "NoMatchingParent")


def test_a_listener_of_the_same_namespace_only(cluster, ns, name):
    gw = platform_gateway(cluster, "envoy-gateway", allowed_namespaces="Same")
    create(cluster, route(ns, gw, name))
    assert reason(cluster, ns, name) == ("False", "NotAllowedByListeners")


def test_a_listener_that_selects_namespaces_by_label(cluster, make_namespace, name):
    ns = make_namespace("gw-selected", profile="kubernetes")  # labelled below
    listeners = [{"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "*.apps.gateway.test",
                  "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "gateway-tls"}]},
                  "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {
                      "matchLabels": {"gateway-access": "mlflow"}}}}}]
    gw = platform_gateway(cluster, "istio", listeners=listeners)
    create(cluster, route(ns, gw, name))
    assert reason(cluster, ns, name) == ("False", "NotAllowedByListeners")
    cluster.kubectl_run("label", "namespace", ns, "gateway-access=mlflow")
    c = wait_for_parent_condition(cluster, ns, name, "Accepted", "Accepted")
    assert c["status"] == "True", c


def test_a_listener_for_other_route_kinds(cluster, ns, name):
    listeners = [{"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "*.apps.gateway.test",
                  "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "gateway-tls"}]},
                  "allowedRoutes": {"namespaces": {"from": "All"}, "kinds": [{"kind": "GRPCRoute"}]}}]
    gw = platform_gateway(cluster, "envoy-gateway", listeners=listeners)
    create(cluster, route(ns, gw, name))
    assert reason(cluster, ns, name) == ("False", "NotAllowedByListeners")


@pytest.mark.parametrize("hostnames, accepted", [
    (["mlflow.example.org"], False),
    (["apps.gateway.test"], False),  # the wildcard needs a label of its own
    (["a.b.apps.gateway.test"], True),  # ... and takes any number
    (["*.apps.gateway.test"], True),
    (["*.gateway.test"], True),  # intersects: *.apps.gateway.test
    (["mlflow.example.org", HOST], True),  # one is enough
    ([], True),  # a route without hostnames takes the listener's
])
def test_listener_and_route_hostnames_must_intersect(cluster, ns, envoy, hostnames, accepted, name):
    create(cluster, route(ns, envoy, name, hostnames=hostnames))
    assert reason(cluster, ns, name) == (("True", "Accepted") if accepted else ("False", "NoMatchingListenerHostname"))


def test_a_missing_backend_then_its_service(cluster, ns, envoy, name):
    create(cluster, route(ns, envoy, name, backend={"name": f"{name}-svc", "port": 5000}))
    assert reason(cluster, ns, name, type_="ResolvedRefs") == ("False", "BackendNotFound")
    assert reason(cluster, ns, name) == ("True", "Accepted")  # refs do not decide acceptance
    create(cluster, service(ns, f"{name}-svc"))
    c = wait_for_parent_condition(cluster, ns, name, "ResolvedRefs", "ResolvedRefs")
    assert c["status"] == "True", c


def test_a_backend_of_another_namespace_needs_a_reference_grant(cluster, ns, make_namespace, envoy, name):
    other = make_namespace("gw-backend", profile="kubernetes")
    create(cluster, service(other), route(ns, envoy, name, backend={"name": "mlflow", "namespace": other, "port": 5000}))
    assert reason(cluster, ns, name, type_="ResolvedRefs") == ("False", "RefNotPermitted")
    grant = {"apiVersion": f"{GROUP}/v1", "kind": "ReferenceGrant", "metadata": {"name": "mlflow", "namespace": other},
             "spec": {"from": [{"group": GROUP, "kind": "HTTPRoute", "namespace": ns}],
                      "to": [{"group": "", "kind": "Service", "name": "mlflow"}]}}
    create(cluster, grant)
    c = wait_for_parent_condition(cluster, ns, name, "ResolvedRefs", "ResolvedRefs")
    assert c["status"] == "True", c


# ---------------------------------------------------------------------------------------------- AllowlistEnforced
def test_envoy_without_a_policy_is_open(cluster, ns, envoy, name):
    create(cluster, route(ns, envoy, name))
    c = allowlist_condition(cluster, ns, name)
    assert (c["status"], c["reason"]) == ("False", "OpenToAll")
    assert "no SecurityPolicy targets this HTTPRoute" in c["message"]


def test_envoy_security_policy_on_the_route(cluster, ns, envoy, name):
    create(cluster, route(ns, envoy, name),
           security_policy(ns, f"{name}-mlflow-allowlist", "HTTPRoute", name, ["192.0.2.0/24", "2001:db8::/32"]))
    c = wait_for_allowlist(cluster, ns, name, "Enforced")
    assert (c["status"], c["message"]) == ("True", "192.0.2.0/24 2001:db8::/32")
    sp = status_of(cluster, f"/apis/{SP_API}/namespaces/{ns}/securitypolicies/{name}-mlflow-allowlist", "ancestors",
                   lambda o: (o.get("status") or {}).get("ancestors"))
    assert sp == [{"ancestorRef": {"group": GROUP, "kind": "Gateway", "namespace": envoy[0], "name": envoy[1],
                                   "sectionName": "https"},
                   "controllerName": CONTROLLERS["envoy-gateway"], "conditions": sp[0]["conditions"]}]
    accepted = cond_of(sp[0]["conditions"], "Accepted")
    assert (accepted["status"], accepted["reason"], accepted["observedGeneration"]) == ("True", "Accepted", 1)


def test_envoy_default_action_allow_is_no_allowlist(cluster, ns, envoy, name):
    create(cluster, route(ns, envoy, name),
           security_policy(ns, f"{name}-p", "HTTPRoute", name, ["192.0.2.0/24"], default_action="Allow"))
    c = wait_for_allowlist(cluster, ns, name, "OpenToAll", message="defaultAction Allow")
    assert "defaultAction Allow" in c["message"], c


def test_envoy_gateway_policy_and_the_route_policy_that_overrides_it(cluster, ns, own_envoy, name):
    envoy = own_envoy
    create(cluster, security_policy(envoy[0], "platform", "Gateway", envoy[1], ["198.51.100.0/24"]))
    create(cluster, route(ns, envoy, name))
    c = wait_for_allowlist(cluster, ns, name, "Enforced")
    assert c["message"] == "198.51.100.0/24", c
    # a route's SecurityPolicy replaces the Gateway's wholly, also one without authorization (here: CORS only)
    cors_only = security_policy(ns, f"{name}-cors-only", "HTTPRoute", name)
    cors_only["spec"]["cors"] = {"allowOrigins": ["https://example.org"]}
    create(cluster, cors_only)
    c = wait_for_allowlist(cluster, ns, name, "OpenToAll", message="cors-only")
    assert "cors-only has no authorization" in c["message"], c
    gw_policy = status_of(cluster, f"/apis/{SP_API}/namespaces/{envoy[0]}/securitypolicies/platform", "Overridden",
                          lambda o: condition(((o.get("status") or {}).get("ancestors") or [{}])[0].get("conditions")
                                              or [], "Overridden"))
    assert gw_policy["status"] == "True" and f"{ns}/{name}" in gw_policy["message"]


def test_envoy_two_route_policies_that_disagree(cluster, ns, envoy, name):
    create(cluster, route(ns, envoy, name), security_policy(ns, f"{name}-first", "HTTPRoute", name, ["192.0.2.0/24"]))
    wait_for_allowlist(cluster, ns, name, "Enforced")
    create(cluster, security_policy(ns, f"{name}-second", "HTTPRoute", name, ["203.0.113.0/24"]))
    c = wait_for_allowlist(cluster, ns, name, "Differs")
    assert c["status"] == "False" and "192.0.2.0/24" in c["message"] and "203.0.113.0/24" in c["message"], c
    second = status_of(cluster, f"/apis/{SP_API}/namespaces/{ns}/securitypolicies/{name}-second", "ancestors",
                       lambda o: (o.get("status") or {}).get("ancestors"))
    accepted = cond_of(second[0]["conditions"], "Accepted")
    assert (accepted["status"], accepted["reason"]) == ("False", "Conflicted")


def test_istio_deny_policy_for_the_route_host(cluster, ns, name):
    gw = platform_gateway(cluster, "istio")
    create(cluster, route(ns, gw, name))
    c = allowlist_condition(cluster, ns, name)
    assert (c["reason"], c["message"]) == ("OpenToAll", f"no AuthorizationPolicy targets Gateway {gw[0]}/{gw[1]}")
    # hosts without "<host>:*": a client that sends "Host: <host>:443" is not denied
    create(cluster, authorization_policy(gw, "mlflow-allowlist", [HOST], ["192.0.2.0/24", "198.51.100.7"]))
    c = wait_for_allowlist(cluster, ns, name, "OpenToAll", message=f"host {HOST}:443")
    assert c["message"].startswith(f"host {HOST}:443"), c
    apply(cluster, authorization_policy(gw, "mlflow-allowlist", [HOST, f"{HOST}:*"], ["192.0.2.0/24", "198.51.100.7"]))
    c = wait_for_allowlist(cluster, ns, name, "Enforced")
    assert (c["status"], c["message"]) == ("True", "192.0.2.0/24 198.51.100.7")


def test_istio_deny_policy_for_another_host_leaves_the_route_open(cluster, ns, name):
    gw = platform_gateway(cluster, "istio")
    create(cluster, route(ns, gw, name),
           authorization_policy(gw, "other", ["other.apps.gateway.test"], ["192.0.2.0/24"]))
    c = wait_for_allowlist(cluster, ns, name, "OpenToAll", message=f"host {HOST}")
    assert f"host {HOST}" in c["message"], c


def test_istio_allow_policy_and_a_disagreeing_deny_policy(cluster, ns, name):
    gw = platform_gateway(cluster, "istio")
    create(cluster, route(ns, gw, name),
           authorization_policy(gw, "allow", None, ["192.0.2.0/24"], action="ALLOW", field="remoteIpBlocks"))
    c = wait_for_allowlist(cluster, ns, name, "Enforced")
    assert c["message"] == "192.0.2.0/24"
    create(cluster, authorization_policy(gw, "deny", [HOST], ["203.0.113.0/24"]))
    c = wait_for_allowlist(cluster, ns, name, "Differs")
    assert c["status"] == "False", c


def test_an_unknown_implementation_enforces_nothing(cluster, ns, name):
    gw = platform_gateway(cluster, "unknown")
    create(cluster, route(ns, gw, name), security_policy(ns, f"{name}-p", "HTTPRoute", name, ["192.0.2.0/24"]))
    c = allowlist_condition(cluster, ns, name)
    assert (c["status"], c["reason"]) == ("False", "OpenToAll")
    assert c["message"] == "implementation example.test/gateway-controller: no known policy"
    assert reason(cluster, ns, name) == ("True", "Accepted")
