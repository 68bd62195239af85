"""kinds: the one table of what a stack owns, and what the read, the apply, the prune and undeploy take from it."""

from pathlib import Path

import yaml

from ansible_collections.csc.mlflow.plugins.plugin_utils.kinds import (
    BY_KIND, OTHER_KINDS, PLURALS, STACK_KINDS, api_group, api_version, apply_rank, optional_kind, pruned_kinds, read_kinds,
    undeploy_kinds)

GOLDEN = Path(__file__).resolve().parents[3] / "render" / "golden"


def test_each_kind_once():
    names = [k.kind for k in STACK_KINDS + OTHER_KINDS]
    assert len(names) == len(set(names))
    assert all(k.scope in ("always", "openshift", "kubernetes", "builds", "monitoring", "gateway") for k in STACK_KINDS)
    assert PLURALS["NetworkPolicy"] == "networkpolicies" and api_version("Route") == "route.openshift.io/v1"


def test_every_rendered_object_is_of_a_kind_in_the_table_with_its_api_version():
    seen = set()
    for golden in GOLDEN.glob("*.yml"):
        doc = yaml.safe_load(golden.read_text())
        for obj in (doc.get("objects") or []) + (doc.get("secrets") or []):
            if isinstance(obj, dict) and "kind" in obj:
                assert BY_KIND[obj["kind"]].api_version == obj["apiVersion"], (golden.name, obj["kind"])
                seen.add(obj["kind"])
    assert {"Deployment", "Secret", "Route", "Ingress", "NetworkPolicy"} <= seen


def test_prune_takes_what_the_stack_read_sees_and_keeps_data_credentials_and_jobs():
    pruned = pruned_kinds()
    assert all(BY_KIND[kind].read for kind in pruned)  # the prune only sees what the stack read lists
    assert not {"Secret", "PersistentVolumeClaim", "Job"} & set(pruned)
    assert {"Deployment", "Service", "ConfigMap", "NetworkPolicy", "Route", "Ingress", "CronJob", "ServiceMonitor",
            "PodDisruptionBudget", "HorizontalPodAutoscaler", "HTTPRoute", "SecurityPolicy", "AuthorizationPolicy"} == set(pruned)


def test_apply_order_dependencies_first_jobs_last():
    order = sorted(["Job", "Route", "Deployment", "Secret", "NetworkPolicy", "Unknown", "CronJob", "ServiceMonitor"],
                   key=apply_rank)
    assert order == ["NetworkPolicy", "Secret", "Deployment", "Route", "Job", "CronJob", "ServiceMonitor", "Unknown"]


def test_read_routes_on_openshift_ingresses_elsewhere_servicemonitors_only_when_allowed():
    openshift = [kind for _v, kind in read_kinds(True, False)]
    plain = [kind for _v, kind in read_kinds(False, True)]
    assert "Route" in openshift and "Ingress" not in openshift and "ServiceMonitor" not in openshift
    assert "Ingress" in plain and "Route" not in plain and "ServiceMonitor" in plain
    for kinds in (openshift, plain):   # Jobs too (a Job that exists is not applied again); builds are read by the build
        assert {"Secret", "PersistentVolumeClaim", "Deployment", "CronJob", "Job"} <= set(kinds)
        assert not {"BuildConfig", "ImageStream"} & set(kinds)
    assert ("apps/v1", "Deployment") in read_kinds(True, False)


def test_undeploy_removes_the_ways_in_before_the_fences_and_keeps_data_unless_purged():
    kept = [kind for _v, kind in undeploy_kinds(True, True, True, purge=False)]
    assert kept == ["ServiceMonitor", "CronJob", "Job", "Ingress", "Route", "HorizontalPodAutoscaler",
                    "PodDisruptionBudget", "Deployment", "BuildConfig", "ImageStream", "Service", "ConfigMap",
                    "NetworkPolicy"]
    purged = [kind for _v, kind in undeploy_kinds(False, False, False, purge=True)]
    assert "Secret" in purged and "PersistentVolumeClaim" in purged
    assert not {"Route", "BuildConfig", "ServiceMonitor"} & set(purged)
    assert "Ingress" in purged   # looked for on every platform
    assert purged.index("Deployment") < purged.index("NetworkPolicy")
    assert ["v1", "Secret"] in undeploy_kinds(False, purge=True)


def test_gateway_kinds_are_read_where_served_and_their_policies_go_in_before_the_route():
    # api_groups None (mlflow_platform=kubernetes asks for none): all of them, a kind not served reads as none
    unknown = [kind for _v, kind in read_kinds(False, False)]
    assert {"HTTPRoute", "SecurityPolicy", "AuthorizationPolicy"} <= set(unknown)
    served = [kind for _v, kind in read_kinds(False, False, ["gateway.networking.k8s.io", "gateway.envoyproxy.io"])]
    assert "HTTPRoute" in served and "SecurityPolicy" in served and "AuthorizationPolicy" not in served
    assert not {"HTTPRoute", "SecurityPolicy"} & set(kind for _v, kind in read_kinds(True, False, ["route.openshift.io"]))
    assert optional_kind("HTTPRoute") and not optional_kind("Deployment") and not optional_kind("Unknown")
    # applied after their policies, removed before them: never a route without its whitelist
    assert apply_rank("SecurityPolicy") < apply_rank("HTTPRoute") and apply_rank("AuthorizationPolicy") < apply_rank("HTTPRoute")
    removed = [kind for _v, kind in undeploy_kinds(False, api_groups=["gateway.networking.k8s.io", "security.istio.io"])]
    assert removed.index("HTTPRoute") < removed.index("AuthorizationPolicy") and "SecurityPolicy" not in removed
    assert "HTTPRoute" not in [kind for _v, kind in undeploy_kinds(False)]
    assert api_group("HTTPRoute") == "gateway.networking.k8s.io" and api_group("Secret") == ""
