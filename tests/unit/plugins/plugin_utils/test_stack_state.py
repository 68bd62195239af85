"""plugins/plugin_utils/stack_state.py (the role's facts/live, state, hosts, obsolete, undeploy templates)."""

from __future__ import annotations

import base64

import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils import kinds
from ansible_collections.csc.mlflow.plugins.plugin_utils import stack_state as ss

NAMES = {
    "tracking": "demo", "models": "demo-models", "models_cfg": "models-cfg", "postgresql": "demo-postgresql",
    "database": "demo-database", "minio": "demo-minio", "minio_client": "demo-minio-client", "s3": "demo-s3",
    "config": "demo-config", "users": "demo-users", "htpasswd": "demo-htpasswd", "models_auth": "demo-models-auth",
    "presigned": "demo-presigned", "gc": "demo-gc", "metrics": "demo-metrics",
}
VERSION = "csc.mlflow/mlflow-version"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def meta(name, **extra):
    out = {"name": name, "namespace": "ns", "uid": "u-1", "resourceVersion": "42", "creationTimestamp": "2026-01-01T00:00:00Z",
           "selfLink": "/api/x", "managedFields": [{"manager": "csc.mlflow"}], "labels": {"app": "mlflow"}}
    out.update(extra)
    return out


def secret(name, data, **extra):
    obj = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": meta(name, **extra)}
    if data is not None:
        obj["data"] = {k: b64(v) for k, v in data.items()}
    return obj


def deployment(name, spec=None, **extra):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, **extra), "spec": spec or {},
            "status": {"replicas": 1}}


def route(name, host=None):
    spec = {"to": {"kind": "Service", "name": name}}
    if host is not None:
        spec["host"] = host
    return {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": meta(name), "spec": spec}


def service(name):
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name), "spec": {"ports": [{"port": 8080}]}}


# --- index_live

def test_index_live_empty():
    assert ss.index_live([]) == {}
    assert ss.index_live(None) == {}


def test_index_live_drops_bookkeeping_and_keys_by_kind_and_name():
    dep = deployment("demo", {"replicas": 2})
    live = ss.index_live([dep])
    assert list(live) == ["Deployment/demo"]
    entry = live["Deployment/demo"]
    assert entry["metadata"] == {"name": "demo", "namespace": "ns", "labels": {"app": "mlflow"}}
    assert entry["spec"] == {"replicas": 2} and entry["status"] == {"replicas": 1}
    assert list(entry) == ["apiVersion", "kind", "metadata", "spec", "status"]
    assert "managedFields" in dep["metadata"]  # the input is left alone


def test_index_live_decodes_secrets_and_keeps_the_raw_data():
    sec = secret("demo-users", {"alice": "pässwörd", "bob": ""})
    entry = ss.index_live([sec])["Secret/demo-users"]
    assert list(entry) == ["metadata", "data", "raw"]
    assert entry["data"] == {"alice": "pässwörd", "bob": ""}
    assert entry["raw"] == sec["data"]
    assert entry["metadata"]["name"] == "demo-users" and "uid" not in entry["metadata"]
    assert "type" not in entry


def test_index_live_secret_without_data():
    for data in (None, {}):
        obj = secret("demo-empty", None)
        if data is not None:
            obj["data"] = data
        assert ss.index_live([obj])["Secret/demo-empty"]["data"] == {}
        assert ss.index_live([obj])["Secret/demo-empty"]["raw"] == {}


def test_index_live_later_duplicates_win():
    live = ss.index_live([deployment("a", {"replicas": 1}), route("a"), deployment("a", {"replicas": 3})])
    assert list(live) == ["Deployment/a", "Route/a"]
    assert live["Deployment/a"]["spec"]["replicas"] == 3


# --- current_state

def test_current_state_of_an_empty_namespace():
    assert ss.current_state({}, NAMES, VERSION) == {
        "exists": False, "config": {}, "version": "", "image": "", "tracking_replicas": 1, "models_replicas": 0,
        "models_uri": "", "route_hosts": {},
    }


def test_current_state_of_a_running_stack():
    containers = [{"name": "nginx", "image": "nginx:1"}, {"name": "mlflow", "image": "ghcr.io/mlflow/mlflow:v3"}]
    live = ss.index_live([
        deployment("demo", {"replicas": 2, "template": {"spec": {"containers": containers}}},
                   annotations={VERSION: "3.17.2"}),
        deployment("demo-models", {"replicas": 1}),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("demo-config"), "data": {"ARTIFACT_STORE": "allas"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("models-cfg"), "data": {"MODELS_URI": "models:/m/1"}},
        secret("demo-postgresql", {}, annotations={VERSION: "3.1.0"}),
        route("demo", "t.example.org"), route("demo-minio"),
    ])
    assert ss.current_state(live, NAMES, VERSION) == {
        "exists": True, "config": {"ARTIFACT_STORE": "allas"}, "version": "3.17.2", "image": "ghcr.io/mlflow/mlflow:v3",
        "tracking_replicas": 2, "models_replicas": 1, "models_uri": "models:/m/1",
        "route_hosts": {"demo": "t.example.org", "demo-minio": ""},
    }


def test_current_state_version_falls_back_to_the_database_secret():
    live = ss.index_live([
        deployment("demo", {"template": {"spec": {"containers": [{"name": "other", "image": "x"}]}}},
                   annotations={VERSION: ""}),
        secret("demo-database", {"MLFLOW_BACKEND_STORE_URI": "postgresql://x"}, annotations={VERSION: "3.2.0"}),
        secret("demo-postgresql", {}, annotations={VERSION: "9.9"}),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("demo-config"), "data": None},
    ])
    state = ss.current_state(live, NAMES, VERSION)
    assert state["version"] == "3.2.0"  # the external database's Secret first
    assert state["image"] == "" and state["tracking_replicas"] == 1 and state["config"] == {}


def test_current_state_models_scaled_to_zero_and_postgresql_version():
    live = ss.index_live([deployment("demo-models", {"replicas": 0}), secret("demo-postgresql", {}, annotations={VERSION: "3.0"})])
    state = ss.current_state(live, NAMES, VERSION)
    assert state["exists"] is False and state["models_replicas"] == 0 and state["version"] == "3.0"


# --- route_hosts

GIVEN_NONE = {"tracking": "", "models": "", "minio": "", "presigned": ""}


def test_route_hosts_given_win():
    given = {"tracking": "t.x", "models": "m.x", "minio": "mi.x", "presigned": "p.x"}
    applied = {"changed": True, "result": {"results": [{"result": route("demo", "gen.apps")}]}}
    assert ss.route_hosts(given, {"demo": "old"}, applied, NAMES) == given


def test_route_hosts_from_a_list_apply():
    applied = {"changed": True, "result": {"results": [
        {"changed": True, "result": route("demo", "gen-t.apps")},
        {"result": route("demo-models")},              # no host (yet)
        route("demo-minio", "gen-m.apps"),              # an item without 'result'
    ]}}
    live_hosts = {"demo": "old", "demo-models": "oldm", "demo-minio": "oldmin"}
    assert ss.route_hosts(dict(GIVEN_NONE, models="m.x"), live_hosts, applied, NAMES) == {
        "tracking": "gen-t.apps", "models": "m.x", "minio": "gen-m.apps", "presigned": ""}
    # An applied Route without a host still beats the live one (default() without true).
    assert ss.route_hosts(GIVEN_NONE, live_hosts, applied, NAMES)["models"] == ""


def test_route_hosts_from_a_single_apply():
    applied = {"changed": True, "result": route("demo-models", "one.apps")}
    hosts = ss.route_hosts(GIVEN_NONE, {"demo": "old"}, applied, NAMES)
    assert hosts == {"tracking": "old", "models": "one.apps", "minio": "", "presigned": ""}


def test_route_hosts_skipped_or_not_run():
    skipped = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
    for applied in (None, skipped):
        assert ss.route_hosts(GIVEN_NONE, {"demo": "old", "demo-presigned": "p.apps"}, applied, NAMES) == {
            "tracking": "old", "models": "", "minio": "", "presigned": "p.apps"}
    assert ss.route_hosts(None, None, None, NAMES) == {"tracking": "", "models": "", "minio": "", "presigned": ""}


# --- obsolete_objects: what the stack's labels select and the run did not render

def _obj(api_version, kind, name):
    return {"apiVersion": api_version, "kind": kind, "metadata": meta(name)}


def _rendered(*keys):
    return [{"kind": key.split("/")[0], "metadata": {"name": key.split("/")[1]}} for key in keys]


def _gone(refs):
    return [(o["kind"], o["metadata"]["name"]) for o in refs]


def test_obsolete_presigned_path_goes_when_not_rendered():
    live = ss.index_live([route("demo-presigned", "p.x"), service("demo-presigned"), service("demo")])
    assert ss.obsolete_objects(live, _rendered("Service/demo")) == [
        {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "demo-presigned"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "demo-presigned"}},
    ]
    assert ss.obsolete_objects(live, _rendered("Service/demo", "Route/demo-presigned", "Service/demo-presigned")) == []


def test_minio_goes_once_it_is_not_rendered_and_its_data_stays():
    live = ss.index_live([deployment("demo-minio"), service("demo-minio"), route("demo-minio", "m.x"),
                          {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "demo-minio"}},
                          {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "demo-minio"}, "data": {}}])
    # In reverse apply order: the way in, the workload, its Service.
    assert _gone(ss.obsolete_objects(live, _rendered("Service/demo"))) == [
        ("Route", "demo-minio"), ("Deployment", "demo-minio"), ("Service", "demo-minio")]
    # Still the store (a stack from before the gateway, direct mode): all of it stays.
    assert ss.obsolete_objects(live, _rendered("Deployment/demo-minio", "Service/demo-minio", "Route/demo-minio")) == []


def test_obsolete_gc_and_metrics_go_when_switched_off():
    live = ss.index_live([_obj("batch/v1", "CronJob", "demo-gc"), service("demo-metrics"),
                          _obj("networking.k8s.io/v1", "NetworkPolicy", "demo-metrics"),
                          _obj("monitoring.coreos.com/v1", "ServiceMonitor", "demo"), service("demo")])
    assert ss.obsolete_objects(live, _rendered("Service/demo")) == [
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "demo"}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "demo-gc"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "demo-metrics"}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "demo-metrics"}},
    ]
    assert ss.obsolete_objects(live, _rendered(*live)) == []


def test_obsolete_nothing_in_an_empty_namespace():
    assert ss.obsolete_objects({}, _rendered("Service/demo")) == []
    assert ss.obsolete_objects({}, []) == []


def test_obsolete_postgresql_once_the_database_is_external_its_data_stays():
    live = ss.index_live([deployment("demo-postgresql"), service("demo-postgresql"),
                          _obj("networking.k8s.io/v1", "NetworkPolicy", "demo-postgresql"),
                          {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "demo-postgresql"}},
                          {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "demo-postgresql"}, "data": {}}])
    assert _gone(ss.obsolete_objects(live, _rendered("Service/demo"))) == [
        ("Deployment", "demo-postgresql"), ("Service", "demo-postgresql"), ("NetworkPolicy", "demo-postgresql")]


def test_obsolete_backup_cronjob_once_the_schedule_is_off_the_backups_stay():
    live = {"CronJob/demo-backup": {"kind": "CronJob"}, "PersistentVolumeClaim/demo-backup": {},
            "ConfigMap/demo-backup-scripts": {}}
    assert _gone(ss.obsolete_objects(live, [])) == [("CronJob", "demo-backup"), ("ConfigMap", "demo-backup-scripts")]
    assert ss.obsolete_objects(live, _rendered("CronJob/demo-backup", "ConfigMap/demo-backup-scripts")) == []


@pytest.mark.parametrize("kind", [k.kind for k in kinds.STACK_KINDS])
def test_the_table_of_kinds_decides_what_is_pruned(kind):
    live = {kind + "/demo-x": {"kind": kind}}
    expected = kinds.BY_KIND[kind].pruned
    assert ss.obsolete_objects(live, []) == ([{"apiVersion": kinds.api_version(kind), "kind": kind,
                                               "metadata": {"name": "demo-x"}}] if expected else [])
    # Never: data and credentials, Jobs (a backup may be running), what the stack does not own.
    assert not expected or kind not in ("Secret", "PersistentVolumeClaim", "Job")
    assert ss.obsolete_objects({"Pod/demo-x": {}, "Event/demo-x": {}}, []) == []


# --- object_refs

def test_object_refs():
    objs = [deployment("demo"), route("demo"), {"metadata": {"name": "bare"}}]
    assert ss.object_refs(objs) == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "demo"}},
        {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "demo"}},
        {"apiVersion": None, "kind": None, "metadata": {"name": "bare"}},
    ]
    assert ss.object_refs([{"metadata": {"name": "x"}}], "batch/v1", "Job") == [
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"}}]
    assert ss.object_refs([]) == [] and ss.object_refs(None) == []


def test_obsolete_tracking_pdb_once_not_rendered():
    live = {"PodDisruptionBudget/demo": {"kind": "PodDisruptionBudget", "metadata": {"name": "demo"}},
            "Deployment/demo": {"kind": "Deployment", "metadata": {"name": "demo"}}}
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "demo"}}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "demo"}}
    # back to one replica: the PDB is not rendered, so it goes
    assert ss.obsolete_objects(live, [deployment]) == [pdb]
    # still more than one: rendered, kept
    assert ss.obsolete_objects(live, [deployment, pdb]) == []


def test_an_obsolete_object_in_another_namespace_is_removed_there():
    foreign = {"name": "ml-mlflow-allowlist", "namespace": "infra", "labels": {"csc.mlflow/namespace": "ml"}}
    live = {"AuthorizationPolicy/ml-mlflow-allowlist": {"metadata": foreign},
            "SecurityPolicy/mlflow-allowlist": {"metadata": {"name": "mlflow-allowlist", "namespace": "ml", "labels": {}}},
            "HTTPRoute/mlflow": {"metadata": {"name": "mlflow", "namespace": "ml"}}}
    gone = ss.obsolete_objects(live, [])
    assert [ref["kind"] for ref in gone] == ["HTTPRoute", "AuthorizationPolicy", "SecurityPolicy"]
    assert gone[1]["metadata"] == {"name": "ml-mlflow-allowlist", "namespace": "infra"}
    assert gone[0]["metadata"] == {"name": "mlflow"} and gone[2]["metadata"] == {"name": "mlflow-allowlist"}
    assert ss.object_refs([{"metadata": {"name": "p"}}], "security.istio.io/v1", "AuthorizationPolicy", "infra")[0] == {
        "apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": {"name": "p", "namespace": "infra"}}
