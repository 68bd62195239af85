"""Every pod the stack runs is fenced by NetworkPolicies that admit only what is named.

The test cluster runs no network plugin, so the policies are evaluated here, by the rules of the NetworkPolicy API
(a pod selected by a policy with policyType Ingress accepts only what one of those policies' rules admits), over
the objects `deploy.yml` applied to the cluster: a pod in another namespace, a pod of the same namespace that is
not the stack's, the router, and each of the stack's components, on every port.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.stack]

ROUTER_NS = {"kubernetes.io/metadata.name": "openshift-ingress", "policy-group.network.openshift.io/ingress": ""}
PORTS = (5000, 5001, 5432, 7070, 7071, 8080, 8081, 9000, 9090)


def _matches(selector: dict | None, labels: dict) -> bool:
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        ok = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def _peer_admits(peer: dict, source: dict, namespace: str) -> bool:
    if "ipBlock" in peer:
        return False
    ns_ok = (_matches(peer["namespaceSelector"], source["ns_labels"]) if "namespaceSelector" in peer
             else source["namespace"] == namespace)
    return ns_ok and _matches(peer.get("podSelector"), source["labels"])


def admitted(policies: list[dict], namespace: str, pod_labels: dict, port: int, source: dict) -> bool:
    """Whether `source` ({namespace, ns_labels, labels}) may open `port` on a pod with `pod_labels`."""
    selecting = [p for p in policies if _matches(p["spec"].get("podSelector"), pod_labels)
                 and "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])]
    if not selecting:
        return True
    for p in selecting:
        for rule in p["spec"].get("ingress") or []:
            ports = rule.get("ports")
            if ports and not any(x.get("port") == port for x in ports):
                continue
            peers = rule.get("from")
            if not peers or any(_peer_admits(peer, source, namespace) for peer in peers):
                return True
    return False


def _pods(dynamic, namespace: str, app: str) -> dict[str, dict]:
    """The pod labels of every workload of the stack, by workload (Kind/name)."""
    out = {}
    selector = f"app.kubernetes.io/instance={app}"
    for api_version, kind, path in (("apps/v1", "Deployment", ("spec", "template")),
                                    ("batch/v1", "Job", ("spec", "template")),
                                    ("batch/v1", "CronJob", ("spec", "jobTemplate", "spec", "template"))):
        for o in dynamic.resources.get(api_version=api_version, kind=kind).get(
                namespace=namespace, label_selector=selector).to_dict()["items"]:
            template = o
            for key in path:
                template = template[key]
            out[f"{kind}/{o['metadata']['name']}"] = template["metadata"]["labels"]
    return out


@pytest.fixture(scope="module")
def fenced(stack_cluster, deployment):
    ns = deployment.namespace
    policies = stack_cluster.dynamic.resources.get(api_version="networking.k8s.io/v1", kind="NetworkPolicy").get(
        namespace=ns).to_dict()["items"]
    pods = _pods(stack_cluster.dynamic, ns, deployment.app)
    assert {"Deployment/" + deployment.app, f"Deployment/{deployment.app}-models",
            f"Deployment/{deployment.app}-postgresql", f"Deployment/{deployment.app}-versitygw"} <= set(pods), pods
    assert f"Deployment/{deployment.app}-minio" not in pods, "a new stack runs no MinIO"
    return ns, policies, pods


def _component(app: str, component: str) -> dict:
    return {"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": app,
            "app.kubernetes.io/part-of": "mlflow", "app.kubernetes.io/managed-by": "csc.mlflow",
            "app.kubernetes.io/component": component}


def test_every_pod_is_selected_by_a_policy(fenced):
    ns, policies, pods = fenced
    for workload, labels in pods.items():
        assert any(_matches(p["spec"].get("podSelector"), labels) for p in policies), workload


def test_another_namespace_reaches_nothing(fenced, deployment):
    """Even with the stack's own pod labels, a pod of another tenant opens no port of any pod."""
    ns, policies, pods = fenced
    for labels in ({"app": "attacker"}, _component(deployment.app, "tracking"), _component(deployment.app, "models")):
        source = {"namespace": "tenant-b", "ns_labels": {"kubernetes.io/metadata.name": "tenant-b"}, "labels": labels}
        for workload, pod in pods.items():
            for port in PORTS:
                assert not admitted(policies, ns, pod, port, source), (workload, port, labels)


def test_a_pod_of_the_namespace_that_is_not_the_stacks_reaches_nothing(fenced):
    ns, policies, pods = fenced
    source = {"namespace": ns, "ns_labels": {"kubernetes.io/metadata.name": ns}, "labels": {"app": "notebook"}}
    for workload, pod in pods.items():
        for port in PORTS:
            assert not admitted(policies, ns, pod, port, source), (workload, port)


def test_each_source_reaches_only_what_is_named(fenced, deployment):
    ns, policies, pods = fenced
    app = deployment.app
    tracking, models = f"Deployment/{app}", f"Deployment/{app}-models"
    postgresql, store = f"Deployment/{app}-postgresql", f"Deployment/{app}-versitygw"
    expected = {
        "router": {(tracking, 8080), (tracking, 8081), (models, 8080)},
        "models": {(tracking, 8080), (tracking, 8081)},
        "tracking": {(postgresql, 5432), (store, 7070)},
        "backup": {(postgresql, 5432), (store, 7070)},
        "restore": {(postgresql, 5432), (store, 7070)},
        # mlflow gc deletes proxied artifacts through the tracking server (MLFLOW_TRACKING_URI http://<app>:8080).
        "gc": {(tracking, 8080), (tracking, 8081), (postgresql, 5432), (store, 7070)},
        "db-upgrade": {(postgresql, 5432)},
        "rotate-kek": {(postgresql, 5432)},
        "s3-migrate": {(store, 7070)},
        # The gateway's admin API: only the Job that creates MLflow's signing key.
        "versitygw-user": {(store, 7071)},
        "postgresql": set(),
        "versitygw": set(),
    }
    for who, allowed in expected.items():
        if who == "router":
            source = {"namespace": "openshift-ingress", "ns_labels": ROUTER_NS, "labels": {"ingresscontroller": "default"}}
        else:
            source = {"namespace": ns, "ns_labels": {"kubernetes.io/metadata.name": ns}, "labels": _component(app, who)}
        reached = {(w, port) for w, pod in pods.items() if w in (tracking, models, postgresql, store)
                   for port in PORTS if admitted(policies, ns, pod, port, source)}
        assert reached == allowed, (who, sorted(reached))


def test_models_pod_holds_no_store_key(stack_cluster, deployment):
    """Proxied artifacts: the Models pod reads the model through the tracking server, so it holds no store key."""
    d = stack_cluster.dynamic.resources.get(api_version="apps/v1", kind="Deployment").get(
        namespace=deployment.namespace, name=f"{deployment.app}-models").to_dict()
    for c in d["spec"]["template"]["spec"]["containers"]:
        names = {e["name"] for e in c.get("env") or []}
        refs = {(e.get("valueFrom") or {}).get("secretKeyRef", {}).get("name") for e in c.get("env") or []}
        refs |= {(s.get("secretRef") or {}).get("name") for s in c.get("envFrom") or []}
        assert not names & {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD",
                            "ROOT_ACCESS_KEY", "ROOT_SECRET_KEY"}, c["name"]
        assert not refs & {f"{deployment.app}-s3", f"{deployment.app}-minio", f"{deployment.app}-minio-client",
                           f"{deployment.app}-versitygw", f"{deployment.app}-versitygw-client"}, c["name"]
