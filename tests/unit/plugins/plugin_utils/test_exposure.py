"""plugins/plugin_utils/gateway.py: the way in (mlflow_exposure), the Gateway checks and what the templates render
from them; and the filters over them (plugins/filter/gateway.py) with their documentation files."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.csc.mlflow.plugins.filter import gateway as gateway_filters
from ansible_collections.csc.mlflow.plugins.plugin_utils import gateway as gw

GATEWAY = {
    "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
    "metadata": {"name": "public", "namespace": "infra"},
    "spec": {"gatewayClassName": "eg", "listeners": [
        {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "*.apps.example.org",
         "allowedRoutes": {"namespaces": {"from": "All"}}},
        {"name": "http", "protocol": "HTTP", "port": 80, "hostname": "*.apps.example.org",
         "allowedRoutes": {"namespaces": {"from": "All"}}},
        {"name": "internal", "protocol": "HTTP", "port": 8080, "hostname": "*.internal.example.org"},
    ]},
}
FOUND = {"resources": [GATEWAY], "api_found": True}


# ---------------------------------------------------------------------------- the way in
def test_auto_is_route_on_openshift_httproute_on_kubernetes_and_an_ingress_stays():
    assert gw.exposure("auto", True, {}) == "route"
    assert gw.exposure("auto", False, {}) == "httproute"
    assert gw.exposure("", False, None) == "httproute"
    # a stack an earlier version exposed by an Ingress keeps it on a re-run: nothing lost
    assert gw.exposure("auto", False, {"Ingress/mlflow": {}, "Service/mlflow": {}}) == "ingress"
    assert gw.exposure("auto", True, {"Ingress/mlflow": {}}) == "route"
    for chosen in ("route", "httproute", "ingress", "none"):
        assert gw.exposure(chosen, False, {"Ingress/mlflow": {}}) == chosen


def test_route_off_openshift_and_httproute_without_gateway_or_host_are_refused_naming_the_variables():
    assert gw.exposure_problems("route", True) == []
    [route] = gw.exposure_problems("route", False)
    assert "mlflow_exposure=route" in route and "httproute" in route and "none" in route
    problems = gw.exposure_problems("httproute", False, gateway_name="", route_host="")
    assert len(problems) == 2
    assert "mlflow_gateway_name" in problems[0] and "mlflow_exposure=ingress" in problems[0] and "none" in problems[0]
    assert "mlflow_route_host" in problems[1]
    assert gw.exposure_problems("httproute", False, "public", "ml.apps.example.org") == []
    assert gw.exposure_problems("ingress", False) == [] and gw.exposure_problems("none", False) == []
    assert "not one of" in gw.exposure_problems("gateway", False)[0]


def test_a_whitelist_nothing_enforces_is_refused_unless_opted_out():
    args = ("httproute", False, "public", "ml.apps.example.org")
    [problem] = gw.exposure_problems(*args, implementation="", whitelist=["192.0.2.0/24"])
    assert "mlflow_gateway_whitelist_unenforced" in problem and "envoy-gateway" in problem and "istio" in problem
    assert gw.exposure_problems(*args, implementation="", whitelist=["192.0.2.0/24"], whitelist_unenforced=True) == []
    assert gw.exposure_problems(*args, implementation="", whitelist=[]) == []  # mlflow_route_allow_all
    for impl in ("envoy-gateway", "istio"):
        assert gw.exposure_problems(*args, implementation=impl, whitelist=["192.0.2.0/24"]) == []
    assert "mlflow_gateway_implementation" in gw.exposure_problems(*args, implementation="nginx")[0]


# ---------------------------------------------------------------------------- the Gateway
def check(read=None, hosts=("ml.apps.example.org",), section="", allow=False, route_ns="ml"):
    read = FOUND if read is None else read
    return gw.gateway_check(gw.gateway_read(read), "infra", "public", route_ns, list(hosts), section, allow)


def test_a_plain_http_listener_the_routes_attach_to_is_refused_naming_it():
    got = check()
    assert got["listeners"] == ["https", "http"]
    [problem] = got["problems"]
    assert "'http' (port 80)" in problem and "clear text" in problem and "mlflow_gateway_listener" in problem
    assert "mlflow_gateway_allow_plain_http" in problem and "internal" not in problem
    assert check(section="https") == {"problems": [], "tls": True, "listeners": ["https"]}
    plain = check(section="http", allow=True)
    assert plain["problems"] == [] and plain["tls"] is False
    assert check(allow=True)["tls"] is True  # https there too


def test_listeners_attach_by_hostname_namespace_and_kind():
    assert gw._hostname_matches("*.apps.example.org", "a.b.apps.example.org")
    assert not gw._hostname_matches("*.apps.example.org", "apps.example.org")
    assert gw._hostname_matches("", "anything") and gw._hostname_matches("ML.example.org", "ml.example.org")
    assert not gw._hostname_matches("ml.example.org", "other.example.org")
    # a host no listener admits: the controller says NoMatchingListenerHostname after the apply
    assert check(hosts=["ml.elsewhere.org"]) == {"problems": [], "tls": True, "listeners": []}
    # 'internal' admits routes of its own namespace only (allowedRoutes default Same)
    assert check(hosts=["x.internal.example.org"])["listeners"] == []
    assert check(hosts=["x.internal.example.org"], route_ns="infra")["listeners"] == ["internal"]
    tls_only = {"name": "tls", "protocol": "TLS", "port": 443, "allowedRoutes": {"namespaces": {"from": "All"}}}
    grpc = {"name": "grpc", "protocol": "HTTPS", "port": 8443, "allowedRoutes": {
        "namespaces": {"from": "Selector"}, "kinds": [{"kind": "GRPCRoute"}]}}
    selected = {"name": "sel", "protocol": "HTTP", "port": 81, "allowedRoutes": {"namespaces": {"from": "Selector"}}}
    gateway = dict(GATEWAY, spec={"listeners": [tls_only, grpc, selected]})
    assert [item["name"] for item in gw.attached_listeners(gateway, "ml", ["ml.example.org"])] == ["sel"]


def test_a_gateway_missing_unreadable_or_not_served_is_refused_before_any_change():
    [missing] = check(read={"resources": [], "api_found": True})["problems"]
    assert missing.startswith("Gateway infra/public not found")
    forbidden = {"failed": True, "msg": "Exception '(403)\\nReason: Forbidden ...' raised while trying to get resource"}
    [denied] = check(read=forbidden)["problems"]
    assert "cannot be read (403 Forbidden)" in denied and "mlflow_gateway_allow_plain_http" in denied
    assert check(read=forbidden, allow=True) == {"problems": [], "tls": True, "listeners": []}
    unserved = {"resources": [], "api_found": False, "msg": 'Failed to find API for resource with apiVersion "x"'}
    assert "does not serve the Gateway API" in check(read=unserved)["problems"][0]
    assert "could not be read: boom" in check(read={"failed": True, "msg": "boom"})["problems"][0]
    assert check(read={"skipped": True}) == {"problems": [], "tls": True, "listeners": []}
    assert gw.gateway_read({"failed": True, "status": 403, "msg": "x"})["state"] == "forbidden"


# ---------------------------------------------------------------------------- rendered values
@pytest.mark.parametrize("nginx, duration", [
    ("600s", "10m"), ("600", "10m"), ("90s", "1m30s"), ("1h 30m", "1h30m"), ("1h30m", "1h30m"), ("2d", "48h"),
    ("1500ms", "1s500ms"), ("0", "0s"), ("45s", "45s"), ("1w", "168h"), ("99999h", "99999h"),
])
def test_nginx_times_become_gateway_api_durations(nginx, duration):
    import re
    got = gw.gateway_duration(nginx)
    assert got == duration
    assert re.match(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$", got)  # gateway-api v1.6.3 Duration


@pytest.mark.parametrize("bad", ["", "ten", "10x", "-5s", "100000h"])
def test_times_a_duration_cannot_say_are_refused(bad):
    with pytest.raises(ValueError):
        gw.gateway_duration(bad)


def test_whitelist_entries_become_cidrs():
    assert gw.policy_cidrs(["192.0.2.0/24", "198.51.100.7", "2001:db8::1", "10.1.2.3/8"]) == [
        "192.0.2.0/24", "198.51.100.7/32", "2001:db8::1/128", "10.0.0.0/8"]
    assert gw.policy_cidrs([]) == []


def test_the_network_policies_admit_what_carries_the_traffic_of_the_way_in():
    ingress = {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    assert gw.exposure_namespace_selector("route", ingress, {}) == gw.OPENSHIFT_ROUTER_SELECTOR
    assert gw.exposure_namespace_selector("ingress", ingress, {}) == ingress
    assert gw.exposure_namespace_selector("none", ingress, {"x": 1}) == {}  # no rule (an empty selector admits all)
    envoy = gw.gateway_namespace_selector({}, "envoy-gateway", "infra")
    assert envoy == {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}}
    assert gw.gateway_namespace_selector({}, "istio", "infra") == {"matchLabels": {"kubernetes.io/metadata.name": "infra"}}
    assert gw.gateway_namespace_selector({}, "", "infra") == {"matchLabels": {"kubernetes.io/metadata.name": "infra"}}
    given = {"matchLabels": {"team": "edge"}}
    assert gw.gateway_namespace_selector(given, "istio", "infra") == given
    assert gw.exposure_namespace_selector("httproute", ingress, envoy) == envoy


def test_public_tls_and_the_gateways_undeploy_looks_in():
    assert gw.public_tls("route") and gw.public_tls("httproute") and not gw.public_tls("none")
    assert not gw.public_tls("ingress", "") and gw.public_tls("ingress", "tls")
    assert not gw.public_tls("httproute", gateway_tls=False)
    routes = [{"metadata": {"namespace": "ml"}, "spec": {"parentRefs": [{"name": "a", "namespace": "infra"}, {"name": "b"}]}},
              {"metadata": {"namespace": "ml"}, "spec": {"parentRefs": [{"name": "c", "namespace": "infra"}]}}]
    assert gw.gateway_namespaces(routes, "ml") == ["infra"]
    assert gw.gateway_namespaces([], "ml") == []


# ---------------------------------------------------------------------------- the filters
FILTER_DIR = Path(gateway_filters.__file__).resolve().parent
FILTERS = gateway_filters.FilterModule().filters()


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_gateway_filter_has_its_documentation_file(name):
    doc = yaml.safe_load((FILTER_DIR / (name + ".yml")).read_text())
    assert doc["DOCUMENTATION"]["name"] == name and set(doc) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    params = list(inspect.signature(FILTERS[name]).parameters)
    assert list(doc["DOCUMENTATION"]["options"])[1:] == params[1:]


def test_the_filters_decide_as_the_module_and_word_errors():
    assert FILTERS["exposure"]("auto", False, {}) == "httproute"
    assert FILTERS["gateway_check"](FOUND, "infra", "public", "ml", ["ml.apps.example.org"], "https")["problems"] == []
    assert FILTERS["exposure_namespace_selector"]("httproute", {}, {}, "istio", "infra") == {
        "matchLabels": {"kubernetes.io/metadata.name": "infra"}}
    with pytest.raises(AnsibleFilterError, match="gateway_duration"):
        FILTERS["gateway_duration"]("soon")
