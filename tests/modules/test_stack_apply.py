"""csc.mlflow.stack_apply against the test cluster's API server: every object applied server-side as one field
manager, with the last-applied annotation (but a Secret); an object kubernetes.core.k8s applied client-side
(`apply: true`, as the collection did before) is taken over on its next apply, so that a field no longer rendered
is removed; Secrets' fields taken from another manager as kubernetes.core's server-side apply does; diff, check
mode and K8S_AUTH_* connections; a refusal names the object.

Who wrote an object shows in its managedFields: kubernetes.core's client-side apply is `OpenAPI-Generator`
`Update`, this module `csc.mlflow` `Apply`.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "tests" / "modules" / "playbooks" / "stack_apply.yml"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SERVER_SET = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "namespace")
IMAGE = "quay.io/sclorg/postgresql-16-c9s:latest"  # has a record in images/contracts.yml; kwok never pulls it


def objects():
    labels = {"app.kubernetes.io/part-of": "mlflow", "app.kubernetes.io/instance": "sa"}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sa-config", "labels": labels},
         "data": {"MLFLOW_S3_ENDPOINT_URL": "http://sa-minio:9000", "empty": ""}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "sa", "labels": labels, "annotations": {"example.org/note": "kept"}},
         "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": 8080}], "selector": {"app": "sa"}}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "sa", "labels": labels},
         "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "sa"}},
                  "template": {"metadata": {"labels": {"app": "sa"}, "annotations": {"checksum/sa-config": "0"}},
                               "spec": {"containers": [{"name": "main", "image": IMAGE,
                                                        "envFrom": [{"configMapRef": {"name": "sa-config"}}]}]}}}},
        {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "sa", "labels": labels},
         "spec": {"to": {"kind": "Service", "name": "sa", "weight": 100}, "port": {"targetPort": "http"},
                  "tls": {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}}},
    ]


def secret(value):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sa-database"}, "type": "Opaque",
            "stringData": {"password": value}}


def apply(cluster, namespace, objs, tmp_path, *, via="stack_apply", check=False, diff=False, env=None, **options):
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.json"
    res = cluster.run_playbook(str(PLAYBOOK), {"objects": objs, "target_namespace": namespace, "out": str(out),
                                               "via": via, **options}, inventory=None, check=check, diff=diff, env=env)
    assert res.rc == 0, str(res)
    return json.loads(out.read_text())


def live(cluster, namespace, kind, name):
    return json.loads(cluster.kubectl_run("-n", namespace, "get", kind, name, "-o", "json", "--show-managed-fields").stdout)


def resource(obj):
    """kubectl's name of the kind of ``obj``: ``deployment.apps``, ``configmap``."""
    group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
    return obj["kind"].lower() + ("." + group if group else "")


def managers(obj):
    """(manager, operation) of who wrote the object itself (not its status: controllers, the router stand-in)."""
    return sorted((m["manager"], m["operation"]) for m in obj["metadata"].get("managedFields") or []
                  if not m.get("subresource"))


def owned_fields(obj):
    return dict((m["manager"], m["fieldsV1"]) for m in obj["metadata"].get("managedFields") or [])


def comparable(obj, namespace):
    """``obj`` without what the API server sets, the namespace's name replaced (the annotation names it)."""
    obj = copy.deepcopy(obj)
    obj.pop("status", None)
    meta = obj["metadata"]
    for key in SERVER_SET:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    if LAST_APPLIED in annotations:
        annotations[LAST_APPLIED] = json.loads(annotations[LAST_APPLIED].replace(namespace, "NS"))
    spec = obj.get("spec") or {}
    for key in ("clusterIP", "clusterIPs", "host"):
        spec.pop(key, None)
    for ingress in (obj.get("status") or {}).get("ingress") or []:
        ingress.pop("host", None)
    return obj


def per_object(result):
    return result["result"]["results"] if "results" in result.get("result", {}) else [result]


def test_it_applies_server_side_as_one_manager_and_a_rerun_changes_nothing(cluster, namespace, tmp_path):
    result = apply(cluster, namespace, objects(), tmp_path)
    assert result["changed"] is True and not result.get("failed"), result
    assert [(r["changed"], r["method"], r["result"]["kind"]) for r in per_object(result)] == [
        (True, "apply", o["kind"]) for o in objects()]
    # the API server's warnings are kept with their object (kubernetes.core splits them at every ", ")
    warned = [(r["result"]["kind"], w) for r in per_object(result) for w in r.get("warnings", [])]
    assert [kind for kind, _w in warned] == ["Deployment"], warned
    assert warned[0][1].startswith('would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false')
    for obj in objects():
        mine = live(cluster, namespace, resource(obj), obj["metadata"]["name"])
        assert managers(mine) == [("csc.mlflow", "Apply")], managers(mine)
        assert json.loads(mine["metadata"]["annotations"][LAST_APPLIED].replace(namespace, "NS")) == dict(
            obj, metadata=dict(obj["metadata"], namespace="NS"))
    again = apply(cluster, namespace, objects(), tmp_path)
    assert again["changed"] is False and [r["changed"] for r in per_object(again)] == [False] * 4, again


def test_an_object_applied_client_side_is_taken_over_and_loses_what_is_no_longer_rendered(cluster, namespace, tmp_path):
    apply(cluster, namespace, objects(), tmp_path, via="kubernetes_core")  # a stack of an earlier version
    assert managers(live(cluster, namespace, "service", "sa")) == [("OpenAPI-Generator", "Update")]
    objs = objects()
    objs[1]["spec"]["ports"][0]["port"] = 8081
    del objs[1]["metadata"]["annotations"]
    del objs[0]["data"]["empty"]
    result = apply(cluster, namespace, objs, tmp_path)
    assert [(r["result"]["kind"], r["changed"]) for r in per_object(result)] == [
        ("ConfigMap", True), ("Service", True), ("Deployment", True), ("Route", True)], result
    service = live(cluster, namespace, "service", "sa")
    assert service["spec"]["ports"][0]["port"] == 8081 and "example.org/note" not in service["metadata"]["annotations"]
    assert "empty" not in live(cluster, namespace, "configmap", "sa-config")["data"]
    for obj in objs:
        assert managers(live(cluster, namespace, resource(obj), obj["metadata"]["name"])) == [("csc.mlflow", "Apply")]
    again = apply(cluster, namespace, objs, tmp_path)
    assert again["changed"] is False, again


def test_server_side_apply_takes_the_fields_over_as_kubernetes_core_does(cluster, make_namespace, tmp_path):
    secrets = [secret("new"), dict(secret("other"), metadata={"name": "sa-other"})]
    by_core, direct = make_namespace("sa-core"), make_namespace("sa-direct")
    for ns in (by_core, direct):
        cluster.kubectl_run("-n", ns, "apply", "--server-side", "--field-manager=someone-else", "-f", "-",
                            input=json.dumps(secret("old")))
    core = apply(cluster, by_core, secrets, tmp_path, via="kubernetes_core", field_manager="csc-mlflow", force_conflicts=True)
    first = apply(cluster, direct, secrets, tmp_path, field_manager="csc-mlflow", force_conflicts=True)
    assert [r["changed"] for r in per_object(first)] == [r["changed"] for r in per_object(core)] == [True, True], first
    for name, value in (("sa-database", "new"), ("sa-other", "other")):
        mine, theirs = live(cluster, direct, "secret", name), live(cluster, by_core, "secret", name)
        assert mine["data"]["password"] == base64.b64encode(value.encode()).decode()
        assert owned_fields(mine) == owned_fields(theirs) and comparable(mine, direct) == comparable(theirs, by_core)
        assert LAST_APPLIED not in (mine["metadata"].get("annotations") or {})
    assert "f:password" not in json.dumps(owned_fields(live(cluster, direct, "secret", "sa-database"))["someone-else"])
    again = apply(cluster, direct, [secret("new")], tmp_path, field_manager="csc-mlflow", force_conflicts=True)
    assert again["changed"] is False and again["method"] == "apply", again  # one object: its result at the top
    refused = apply(cluster, direct, [secret("newer")], tmp_path, field_manager="third", force_conflicts=False)
    assert refused.get("failed") and "conflict" in refused["msg"].lower(), refused  # no force: the conflict is reported


def test_diff_mode_and_k8s_auth_connections(cluster, namespace, tmp_path):
    config, service = objects()[:2]
    shown = apply(cluster, namespace, [config], tmp_path, diff=True)
    assert shown["changed"] is True and shown["diff"]["before"] == {}, shown
    assert shown["diff"]["after"]["data"] == config["data"]
    apply(cluster, namespace, [service], tmp_path, env=cluster.auth_env())  # AWX: credentials from K8S_AUTH_*
    assert managers(live(cluster, namespace, "service", "sa")) == [("csc.mlflow", "Apply")]


def test_check_mode_changes_nothing_and_a_refusal_names_the_object(cluster, namespace, tmp_path):
    checked = apply(cluster, namespace, objects(), tmp_path, check=True)
    assert not checked.get("failed") and checked["changed"] is True, checked
    assert cluster.kubectl_run("-n", namespace, "get", "configmap,service,deployment", "-l", "app.kubernetes.io/instance=sa",
                               "-o", "name").stdout.strip() == ""
    bad = objects()[:2]
    bad[1]["spec"]["ports"][0]["port"] = 0
    refused = apply(cluster, namespace, bad, tmp_path)
    assert refused.get("failed") and refused["msg"].startswith("Failed to apply Service sa: 422"), refused
    assert refused["status"] == 422 and refused["reason"] == "Invalid" and refused["changed"] is True
    assert managers(live(cluster, namespace, "configmap", "sa-config")) == [("csc.mlflow", "Apply")]  # applied before it
