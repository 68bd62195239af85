"""What real platforms enforce, and what the playbooks do about it (issue "Deploys on Rahti as it really is").

Every namespace here comes from ``cluster.fresh_namespace``, which applies the test cluster's
profile (``rahti`` by default: Rahti's LimitRange and CSC project quota, SCC-like UIDs, image
contracts, a router stand-in). Each test states the platform rule it exercises and checks that
the playbook either works within it or stops before changing anything, saying what to change.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from harness.gateways import (condition, httproute_parent_conditions, platform_gateway, wait_for_allowlist,
                              wait_for_parent_condition)

from deployment import (
    collection_at,
    commit_missing,
    contract_problems,
    default_vars,
    get,
    rerun_changes_nothing,
    unchanged,
    wait_until,
)

# main before the Versity S3 gateway: its stacks run MinIO.
MINIO_COMMIT = "ff680d14aee81bd9e3b2ddfea10ad6217e1c9d3d"

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def kubectl_apply(cluster, ns, obj):
    cluster.kubectl_run("apply", "--server-side", "-n", ns, "-f", "-", input=json.dumps(obj))


def refused_without_change(cluster, ns, playbook, extra_vars, *expected):
    """Run `playbook`: it must fail, say each of `expected`, and leave the namespace as it was."""
    before = cluster.snapshot(ns)
    r = cluster.run_playbook(playbook, extra_vars)
    assert r.rc != 0, str(r)
    out = " ".join(r.stdout.split())
    missing = [e for e in expected if e not in out]
    assert not missing, f"{missing} not in the output:\n{r}"
    ok, d = unchanged(before, cluster.snapshot(ns))
    assert ok, d
    return r


def test_defaults_fit_rahti_with_models_and_rerun_is_noop(cluster):
    """The default variables deploy into a Rahti-like namespace, Models can be enabled and disabled
    there, and a re-run changes nothing."""
    ns = cluster.fresh_namespace("fit-rahti", profile="rahti")
    v = default_vars(ns, "fit")
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0, str(r)
    assert contract_problems(cluster, ns) == []
    rerun_changes_nothing(cluster, ns, v)
    r = cluster.run_playbook("enable_models.yml", {**v, "models_uri": "models:/iris/1"})
    assert r.rc == 0, str(r)
    assert get(cluster, "Deployment", ns, "fit-models")["status"].get("readyReplicas") == 1
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0 and r.changed == 0, str(r)
    r = cluster.run_playbook("disable_models.yml", v)
    assert r.rc == 0, str(r)
    # The SCC stand-in assigned the namespace's UIDs: nothing of ours fixes one on OpenShift.
    for p in get(cluster, "Pod", ns):
        spec = p["spec"]
        assert "fsGroup" not in (spec.get("securityContext") or {}) or spec["securityContext"]["fsGroup"] >= 1000000000, p["metadata"]["name"]
        assert spec.get("automountServiceAccountToken") is False, p["metadata"]["name"]


def test_quota_too_small_stops_in_preflight_with_the_numbers(cluster):
    ns = cluster.fresh_namespace("small-quota", profile="rahti")
    kubectl_apply(cluster, ns, {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "tiny"},
                                "spec": {"hard": {"limits.cpu": "2", "limits.memory": "16Gi"}}})
    wait_until(lambda: (get(cluster, "ResourceQuota", ns, "tiny") or {}).get("status", {}).get("hard"), 30,
               what="quota tiny counted")
    r = refused_without_change(cluster, ns, "deploy.yml", default_vars(ns, "sq"), "nothing was changed", "limits.cpu", "tiny")
    # The generated hosts were learned first (the pods name them): the Routes it created went again.
    assert re.search(r"Remove the Routes this run created[^\n]*\n(changed|ok): ", r.stdout), str(r)


def test_cpu_ratio_over_five_is_refused_naming_the_variable(cluster):
    ns = cluster.fresh_namespace("ratio", profile="rahti")
    bad = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    refused_without_change(cluster, ns, "deploy.yml", default_vars(ns, "ra", mlflow_postgresql_resources=bad),
                           "ra-postgresql/postgresql", "mlflow_postgresql_resources", "5x")


def test_enable_models_over_quota_is_refused_before_scaling(cluster):
    ns = cluster.fresh_namespace("models-quota", profile="rahti")
    v = default_vars(ns, "mq")
    assert cluster.run_playbook("deploy.yml", v).rc == 0
    # Another workload of the CSC project takes most of what is left.
    kubectl_apply(cluster, ns, {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "other-use"},
                                "spec": {"hard": {"limits.cpu": "2500m"}}})
    wait_until(lambda: (get(cluster, "ResourceQuota", ns, "other-use") or {}).get("status", {}).get("used"), 30,
               what="quota other-use counted")
    refused_without_change(cluster, ns, "enable_models.yml", {**v, "models_uri": "models:/iris/1"}, "limits.cpu", "other-use")


def test_models_that_do_not_start_are_put_back(cluster):
    """A refusal the preflight cannot see (a platform policy on the Models pods): enable_models.yml
    fails with the ReplicaSet's reason in one line, Models goes back to 0 replicas and the old
    MODELS_URI, and deploy.yml keeps working."""
    ns = cluster.fresh_namespace("models-back", profile="rahti")
    v = default_vars(ns, "mb")
    assert cluster.run_playbook("deploy.yml", v).rc == 0
    policy = f"refuse-models-{ns}"
    cluster.kubectl_run("apply", "-f", "-", input=json.dumps({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": policy},
        "spec": {"failurePolicy": "Fail",
                 "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                         "operations": ["CREATE"], "resources": ["pods"]}]},
                 "validations": [{"expression": "!has(object.metadata.labels) || !('app.kubernetes.io/component' in object.metadata.labels)"
                                                " || object.metadata.labels['app.kubernetes.io/component'] != 'models'",
                                  "message": "models pods are not allowed in this project (test policy)"}]}}))
    cluster.kubectl_run("apply", "-f", "-", input=json.dumps({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": policy},
        "spec": {"policyName": policy, "validationActions": ["Deny"],
                 "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}}}))
    try:
        time.sleep(2)  # the apiserver picks policies up asynchronously
        start = time.monotonic()
        r = cluster.run_playbook("enable_models.yml", {**v, "models_uri": "models:/iris/2"})
        took = time.monotonic() - start
        assert r.rc != 0, str(r)
        out = " ".join(r.stdout.split())
        assert "FailedCreate" in out and "models pods are not allowed" in out and "put back" in out, str(r)
        assert took < 100, f"enable_models.yml took {took:.0f} s: it waited instead of failing at the refusal"
        d = get(cluster, "Deployment", ns, "mb-models")
        assert d["spec"]["replicas"] == 0
        assert get(cluster, "ConfigMap", ns, "models-cfg")["data"]["MODELS_URI"] == ""
        r = cluster.run_playbook("deploy.yml", v)
        assert r.rc == 0 and r.changed == 0, str(r)
    finally:
        cluster.kubectl_run("delete", "validatingadmissionpolicybinding", policy, "--ignore-not-found", check=False)
        cluster.kubectl_run("delete", "validatingadmissionpolicy", policy, "--ignore-not-found", check=False)


def test_route_host_claimed_by_another_namespace_fails_with_the_reason(cluster):
    other = cluster.fresh_namespace("claim-first", profile="rahti")
    host = f"taken-{other}.apps.kwok.test"
    kubectl_apply(cluster, other, {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "theirs"},
                                   "spec": {"host": host, "to": {"kind": "Service", "name": "theirs"}}})
    wait_until(lambda: ((get(cluster, "Route", other, "theirs") or {}).get("status") or {}).get("ingress"), 30,
               what="the older Route admitted")
    ns = cluster.fresh_namespace("claim-second", profile="rahti")
    r = cluster.run_playbook("deploy.yml", default_vars(ns, "hc", mlflow_route_host=host))
    assert r.rc != 0, str(r)
    out = " ".join(r.stdout.split())
    assert "Route/hc" in out and "HostAlreadyClaimed" in out and "mlflow_route_host" in out, str(r)
    # Nothing names the host before the router admitted it: no config, no server, no summary with it.
    assert not get(cluster, "Deployment", ns), [d["metadata"]["name"] for d in get(cluster, "Deployment", ns)]
    named = [c["metadata"]["name"] for c in get(cluster, "ConfigMap", ns) if host in json.dumps(c.get("data") or {})]
    assert not named, named
    assert f"https://{host}" not in r.stdout


def test_generated_host_label_over_63_is_refused_before_any_change(cluster):
    ns = cluster.fresh_namespace("a-namespace-with-a-rather-long-name-x", profile="rahti")
    refused_without_change(cluster, ns, "deploy.yml", default_vars(ns, "a-long-application-name"),
                           "63 characters", "a-long-application-name-models", "nothing was changed")


def test_whitelist_longer_than_61_entries_is_written_whole(cluster):
    ns = cluster.fresh_namespace("long-wl", profile="rahti")
    entries = [f"10.{i // 200}.{i % 200}.0/24" for i in range(80)]
    r = cluster.run_playbook("deploy.yml", default_vars(ns, "wl", mlflow_route_whitelist=entries))
    assert r.rc == 0, str(r)
    ann = get(cluster, "Route", ns, "wl")["metadata"]["annotations"]["haproxy.router.openshift.io/ip_whitelist"]
    assert len(ann.split(" ")) == 80


def test_direct_mode_admits_the_router_by_its_current_label(cluster, tmp_path):
    """Direct mode exists only on MinIO, in stacks deployed before the gateway: one is deployed by that commit."""
    ns = cluster.fresh_namespace("router-label", profile="rahti")
    assert commit_missing(MINIO_COMMIT) is None, commit_missing(MINIO_COMMIT)
    r = cluster.run_playbook("deploy.yml", default_vars(ns, "rl"), collection=collection_at(MINIO_COMMIT, tmp_path))
    assert r.rc == 0, str(r)
    r = cluster.run_playbook("deploy.yml", default_vars(ns, "rl", mlflow_artifact_mode="direct",
                                                        mlflow_accept_unfiltered_store_route=True))
    assert r.rc == 0, str(r)
    assert contract_problems(cluster, ns) == []  # the MinIO user Job calls mc, which the MinIO image has
    np = get(cluster, "NetworkPolicy", ns, "rl-minio")
    selectors = [f.get("namespaceSelector") for rule in np["spec"]["ingress"] for f in rule.get("from", [])]
    assert {"matchLabels": {"policy-group.network.openshift.io/ingress": ""}} in selectors, selectors


# --------------------------------------------------------------------------- plain Kubernetes


@pytest.fixture(scope="module")
def k8s_ns(cluster):
    ns = cluster.fresh_namespace("plain-k8s", profile="kubernetes")
    yield ns
    cluster.delete_namespace(ns)


GATEWAY_DOMAIN = "apps.gateway.test"   # the harness's default listeners' *.apps.gateway.test
CIDRS = "192.0.2.0/24 198.51.100.7/32"  # default_vars' whitelist as the policies carry it


def gateway_vars(ns, app, gateway, implementation="envoy-gateway", listener="https", **extra):
    """deploy.yml's variables for HTTPRoutes on the harness's Gateway `gateway` (namespace, name)."""
    return default_vars(ns, app, **{"mlflow_platform": "kubernetes", "mlflow_route_host": f"{app}-{ns}.{GATEWAY_DOMAIN}",
                                    "mlflow_gateway_name": gateway[1], "mlflow_gateway_namespace": gateway[0],
                                    "mlflow_gateway_listener": listener, "mlflow_gateway_implementation": implementation,
                                    **extra})


def assert_route_serves(cluster, ns, name, cidrs=CIDRS):
    """The stand-in accepted HTTPRoute `name`, resolved its Service, and enforces exactly `cidrs` on it."""
    conds = httproute_parent_conditions(cluster, ns, name)
    assert condition(conds, "Accepted")["status"] == "True", conds
    resolved = wait_for_parent_condition(cluster, ns, name, "ResolvedRefs", "ResolvedRefs")
    assert resolved["status"] == "True", resolved
    allow = wait_for_allowlist(cluster, ns, name, "Enforced")
    assert allow["status"] == "True" and allow["message"] == cidrs, allow


def test_kubernetes_profile_lifecycle(cluster, k8s_ns):
    """Plain Kubernetes assigns no UID: root images need runAsUser, fresh volumes an fsGroup. The default way in there
    is an HTTPRoute on the platform's Gateway (Envoy Gateway: the whitelist as a SecurityPolicy on each route).
    Deploy, re-run, Models on/off and undeploy."""
    gateway = platform_gateway(cluster, "envoy-gateway")
    v = gateway_vars(k8s_ns, "pk", gateway, mlflow_models_route_host=f"pk-models-{k8s_ns}.{GATEWAY_DOMAIN}",
                     mlflow_presigned_route_host=f"pk-files-{k8s_ns}.{GATEWAY_DOMAIN}")
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0, str(r)
    assert contract_problems(cluster, k8s_ns) == []
    for p in get(cluster, "Pod", k8s_ns):
        sc = p["spec"].get("securityContext") or {}
        assert sc.get("fsGroup") == 1001 and sc.get("fsGroupChangePolicy") == "OnRootMismatch", p["metadata"]["name"]
    routes = {route["metadata"]["name"]: route for route in get(cluster, "HTTPRoute", k8s_ns)}
    assert set(routes) == {"pk", "pk-presigned", "pk-models"}, sorted(routes)
    for name, route in routes.items():
        assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                                "name": gateway[1], "namespace": gateway[0], "sectionName": "https"}]
        assert route["spec"]["rules"][0]["timeouts"] == {"request": "10m", "backendRequest": "10m"}
        assert_route_serves(cluster, k8s_ns, name)
    assert {p["metadata"]["name"] for p in get(cluster, "SecurityPolicy", k8s_ns)} == {
        "pk-allowlist", "pk-presigned-allowlist", "pk-models-allowlist"}
    assert not get(cluster, "Ingress", k8s_ns)
    # only the Gateway's proxies (Envoy Gateway's namespace) reach the public pods
    np = get(cluster, "NetworkPolicy", k8s_ns, "pk")
    selectors = [f.get("namespaceSelector") for rule in np["spec"]["ingress"] for f in rule.get("from", [])]
    assert {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}} in selectors, selectors
    out = " ".join(r.stdout.split())
    assert f"https://pk-{k8s_ns}.{GATEWAY_DOMAIN}" in out and "enforced by Envoy Gateway" in out, str(r)
    rerun_changes_nothing(cluster, k8s_ns, v)
    r = cluster.run_playbook("enable_models.yml", {**v, "models_uri": "models:/iris/1"})
    assert r.rc == 0, str(r)
    assert_route_serves(cluster, k8s_ns, "pk-models")
    r = cluster.run_playbook("disable_models.yml", v)
    assert r.rc == 0, str(r)
    r = cluster.run_playbook("undeploy.yml", v)
    assert r.rc == 0, str(r)
    assert not get(cluster, "Deployment", k8s_ns)
    assert not get(cluster, "HTTPRoute", k8s_ns) and not get(cluster, "SecurityPolicy", k8s_ns)


def test_httproute_on_istio_whitelists_in_the_gateways_namespace_and_undeploy_removes_it(cluster):
    """Istio: the whitelist is an AuthorizationPolicy in the Gateway's namespace (DENY for our host from elsewhere),
    labelled with the stack's namespace; a re-run changes nothing there either, a whitelist change rewrites it, and
    undeploy removes it."""
    ns = cluster.fresh_namespace("gw-istio", profile="kubernetes")
    gateway = platform_gateway(cluster, "istio")
    v = gateway_vars(ns, "ist", gateway, implementation="istio")
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0, str(r)
    policy = get(cluster, "AuthorizationPolicy", gateway[0], f"{ns}-ist-allowlist")
    assert policy["metadata"]["labels"]["csc.mlflow/namespace"] == ns, policy["metadata"]
    host = f"ist-{ns}.{GATEWAY_DOMAIN}"
    assert policy["spec"]["rules"] == [{"to": [{"operation": {"hosts": [host, host + ":*"]}}],
                                        "from": [{"source": {"notRemoteIpBlocks": CIDRS.split()}}]}]
    assert_route_serves(cluster, ns, "ist")
    np = get(cluster, "NetworkPolicy", ns, "ist")
    selectors = [f.get("namespaceSelector") for rule in np["spec"]["ingress"] for f in rule.get("from", [])]
    assert {"matchLabels": {"kubernetes.io/metadata.name": gateway[0]}} in selectors, selectors
    assert "enforced by Istio" in " ".join(r.stdout.split())
    before = cluster.snapshot(gateway[0])
    rerun_changes_nothing(cluster, ns, v)
    ok, d = unchanged(before, cluster.snapshot(gateway[0]))
    assert ok, d
    r = cluster.run_playbook("deploy.yml", {**v, "mlflow_route_whitelist": ["203.0.113.0/24"]})
    assert r.rc == 0, str(r)
    assert wait_for_allowlist(cluster, ns, "ist", "Enforced", message="203.0.113.0/24")["status"] == "True"
    r = cluster.run_playbook("undeploy.yml", v)
    assert r.rc == 0, str(r)
    assert not get(cluster, "HTTPRoute", ns) and not get(cluster, "AuthorizationPolicy", gateway[0])
    cluster.delete_namespace(ns)


def test_httproute_refusals_before_any_change(cluster):
    """What a Gateway cannot be trusted with is refused before anything changes, naming the variable to set: no
    Gateway named, no host, a whitelist nothing would enforce, a plain-HTTP listener, a Gateway that does not exist."""
    ns = cluster.fresh_namespace("gw-refused", profile="kubernetes")
    gateway = platform_gateway(cluster, "unknown")
    v = gateway_vars(ns, "gr", gateway, implementation="", listener="")
    refused_without_change(cluster, ns, "deploy.yml", {**v, "mlflow_gateway_name": ""}, "mlflow_gateway_name",
                           "mlflow_exposure=ingress", "mlflow_exposure=none", "nothing was changed")
    refused_without_change(cluster, ns, "deploy.yml", {**v, "mlflow_route_host": ""},
                           "mlflow_exposure=httproute needs mlflow_route_host")
    refused_without_change(cluster, ns, "deploy.yml", v, "mlflow_route_whitelist would not be enforced",
                           "mlflow_gateway_whitelist_unenforced", "envoy-gateway", "istio")
    accepted = {**v, "mlflow_gateway_whitelist_unenforced": True}
    # the harness's Gateway has a plain-HTTP listener for the same domain: without a listener named, refused
    refused_without_change(cluster, ns, "deploy.yml", accepted, "listener 'http' (port 80)", "clear text",
                           "mlflow_gateway_listener", "mlflow_gateway_allow_plain_http")
    refused_without_change(cluster, ns, "deploy.yml", {**accepted, "mlflow_gateway_name": "nowhere"},
                           f"Gateway {gateway[0]}/nowhere not found")
    refused_without_change(cluster, ns, "deploy.yml", {**v, "mlflow_exposure": "route"},
                           "mlflow_exposure=route needs OpenShift's Routes")
    cluster.delete_namespace(ns)


def test_a_host_the_gateway_does_not_serve_fails_with_the_controllers_reason_before_the_rest(cluster):
    """A host outside the listener's domain: the Gateway refuses the HTTPRoute (NoMatchingListenerHostname); the run
    stops right after applying the routes, with that reason and what to change, and creates nothing else."""
    ns = cluster.fresh_namespace("gw-host", profile="kubernetes")
    gateway = platform_gateway(cluster, "envoy-gateway")
    v = gateway_vars(ns, "gh", gateway, mlflow_route_host="gh.elsewhere.example.org")
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc != 0, str(r)
    out = " ".join(r.stdout.split())
    assert "HTTPRoute/gh" in out and "NoMatchingListenerHostname" in out and "mlflow_route_host" in out, str(r)
    assert not get(cluster, "Deployment", ns) and not get(cluster, "Service", ns)
    named = [c["metadata"]["name"] for c in get(cluster, "ConfigMap", ns) if "gh.elsewhere" in json.dumps(c.get("data") or {})]
    assert not named, named
    cluster.delete_namespace(ns)


def test_ingress_without_tls_or_with_an_ignored_whitelist_is_refused_before_any_change(cluster, k8s_ns):
    """Plain Kubernetes: basic auth over plain HTTP, or a whitelist only ingress-nginx reads on another
    controller's Ingress, is refused before anything changes, each unless its variable accepts it."""
    v = default_vars(k8s_ns, "ing", mlflow_platform="kubernetes", mlflow_exposure="ingress", mlflow_route_host="ing.example.org",
                     mlflow_route_whitelist=["192.0.2.0/24"], mlflow_route_allow_all=False)
    refused_without_change(cluster, k8s_ns, "deploy.yml", v, "Ingress ing has no TLS", "mlflow_ingress_allow_plain_http",
                           "Ingress ing carries the IP whitelist", "mlflow_ingress_whitelist_unenforced")
    refused_without_change(cluster, k8s_ns, "deploy.yml", {**v, "mlflow_ingress_tls_secret": "ing-tls"},
                           "Ingress ing carries the IP whitelist", "the cluster's default")
    refused_without_change(cluster, k8s_ns, "deploy.yml", {**v, "mlflow_ingress_class": "nginx"}, "Ingress ing has no TLS")
