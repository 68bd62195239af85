"""The test cluster itself behaves as the playbooks' tests assume (real apiserver, kwok)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
import urllib.request
import ssl

import pytest

from harness.playbooks import parse_recap
from harness.snapshots import object_hash, written_stamp

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.cluster]

RESTRICTED_POD_SECURITY = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def apply(cluster, obj, ns=None, check=True):
    args = ["apply", "--server-side", "-f", "-"]
    if ns:
        args += ["-n", ns]
    return cluster.kubectl_run(*args, input=json.dumps(obj), check=check)


def kget(cluster, ns, what):
    return json.loads(cluster.kubectl_run("get", "-n", ns, *what.split(), "-o", "json").stdout)


def pod(name, restricted=True, extra_spec=None):
    c = {"name": "c", "image": "example.test/nonroot:1"}
    spec = {"containers": [c]}
    if restricted:
        c["securityContext"] = {k: v for k, v in RESTRICTED_POD_SECURITY.items() if k != "seccompProfile"}
        spec["securityContext"] = {"seccompProfile": {"type": "RuntimeDefault"}, "runAsNonRoot": True}
    spec.update(extra_spec or {})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def test_pod_security_restricted_enforced(cluster, namespace):
    r = apply(cluster, pod("privileged", restricted=False), namespace, check=False)
    assert r.returncode != 0 and "PodSecurity" in r.stderr, r.stderr
    r = apply(cluster, pod("ok"), namespace)
    assert r.returncode == 0


def test_pods_become_ready_and_job_pods_succeed(cluster, namespace):
    dep = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}}, "spec": pod("x")["spec"]}},
    }
    apply(cluster, dep, namespace)
    cluster.kubectl_run("-n", namespace, "rollout", "status", "deployment/d", "--timeout=60s")
    job = {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"backoffLimit": 0, "template": {"spec": {**pod("x")["spec"], "restartPolicy": "Never"}}},
    }
    apply(cluster, job, namespace)
    cluster.kubectl_run("-n", namespace, "wait", "--for=condition=Complete", "job/j", "--timeout=60s")


def test_pvc_binds_and_is_deleted(cluster, namespace):
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    apply(cluster, pvc, namespace)
    cluster.kubectl_run("-n", namespace, "wait", "--for=jsonpath={.status.phase}=Bound", "pvc/data", "--timeout=60s")
    pv = kget(cluster, namespace, "pvc data")["spec"]["volumeName"]
    p = pod("user", extra_spec={"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "data"}}]})
    p["spec"]["containers"][0]["volumeMounts"] = [{"name": "v", "mountPath": "/data"}]
    apply(cluster, p, namespace)
    cluster.kubectl_run("-n", namespace, "wait", "--for=condition=Ready", "pod/user", "--timeout=60s")
    cluster.kubectl_run("-n", namespace, "delete", "pod/user", "pvc/data", "--wait=true", "--timeout=60s")
    cluster.kubectl_run("wait", "--for=delete", f"pv/{pv}", "--timeout=60s")


@pytest.mark.parametrize("termination", ["Edge", "edge", "EDGE"])
def test_route_admission_like_openshift(cluster, namespace, termination):
    route = {
        "apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "web"},
        "spec": {"to": {"kind": "Service", "name": "web"},
                 "tls": {"termination": termination, "insecureEdgeTerminationPolicy": "Redirect"}},
    }
    apply(cluster, route, namespace)
    got = kget(cluster, namespace, "route web")
    assert got["spec"]["tls"]["termination"] == "edge"
    assert got["spec"]["host"] == f"web-{namespace}.apps.kwok.test"
    # an explicit host is kept
    route["metadata"]["name"] = "web2"
    route["spec"]["host"] = "ml.example.test"
    apply(cluster, route, namespace)
    assert kget(cluster, namespace, "route web2")["spec"]["host"] == "ml.example.test"
    # the CRD's own validation still applies
    route["metadata"]["name"] = "web3"
    route["spec"]["tls"]["termination"] = "bogus"
    assert apply(cluster, route, namespace, check=False).returncode != 0


def test_bearer_token_is_admin(cluster):
    assert cluster.token and cluster.server.startswith("https://127.0.0.1:")
    ctx = ssl.create_default_context(cafile=cluster.ca_file)
    req = urllib.request.Request(cluster.server + "/api/v1/namespaces",
                                 headers={"Authorization": f"Bearer {cluster.token}"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        assert resp.status == 200
        assert any(i["metadata"]["name"] == "default" for i in json.load(resp)["items"])


def test_snapshot_sees_writes(cluster, namespace):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    apply(cluster, cm, namespace)
    s1 = cluster.snapshot(namespace)
    assert "ConfigMap/c" in s1 and "ServiceAccount/default" in s1
    apply(cluster, cm, namespace)  # same content: server-side apply is a no-op
    assert cluster.snapshot(namespace) == s1
    cm["data"]["a"] = "2"
    apply(cluster, cm, namespace)
    s2 = cluster.snapshot(namespace)
    assert s2["ConfigMap/c"][0] != s1["ConfigMap/c"][0] and s2["ConfigMap/c"][2] != s1["ConfigMap/c"][2]


def test_kubectl_from_env_script(cluster):
    out = subprocess.run(["tests/cluster/cluster.sh", "env"], capture_output=True, text=True, check=True,
                         cwd=str(REPO)).stdout
    assert "export KUBECONFIG=" in out and cluster.token not in out


def test_parse_recap_and_hash_pure():
    out = ("PLAY RECAP *****\nlocalhost                  : ok=7    changed=2    unreachable=0    "
           "failed=0    skipped=3    rescued=0    ignored=1   \n")
    assert parse_recap(out) == {"ok": 7, "changed": 2, "unreachable": 0, "failed": 0, "skipped": 3,
                                "rescued": 0, "ignored": 1}
    assert parse_recap("no recap") == {}
    a = {"metadata": {"name": "x", "resourceVersion": "1"}, "data": {"k": "v"}, "status": {"s": 1}}
    b = {"metadata": {"name": "x", "resourceVersion": "2"}, "data": {"k": "v"}}
    assert object_hash(a) == object_hash(b)
    status_write = {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
                    "time": "2026-12-02T10:00:00Z", "fieldsV1": {"f:status": {}}}
    own_write = {"manager": "ansible", "operation": "Apply", "time": "2026-12-02T10:00:00Z", "fieldsV1": {"f:data": {}}}
    c = {"metadata": {"name": "x", "managedFields": [own_write]}, "data": {"k": "v"}}
    d = {"metadata": {"name": "x", "managedFields": [own_write, status_write]}, "data": {"k": "v"}, "status": {"s": 2}}
    e = {"metadata": {"name": "x", "managedFields": [dict(own_write, time="2026-12-02T10:00:05Z")]}, "data": {"k": "v"}}
    assert written_stamp(c, object_hash(c)) == written_stamp(d, object_hash(d))  # a controller's status write
    assert written_stamp(c, object_hash(c)) != written_stamp(e, object_hash(e))  # a write


@pytest.mark.parametrize("annotations, status, reason", [
    ({"haproxy.router.openshift.io/ip_allowlist": "192.0.2.0/24", "haproxy.router.openshift.io/ip_whitelist": "192.0.2.0/24"},
     "True", "Enforced"),
    ({"haproxy.router.openshift.io/ip_whitelist": "192.0.2.0/24 "}, "False", "OpenToAll"),  # a trailing space
    ({"haproxy.router.openshift.io/ip_whitelist": "192.0.2.0/24,198.51.100.7"}, "False", "OpenToAll"),  # commas
    ({"haproxy.router.openshift.io/ip_allowlist": "192.0.2.0/24"}, "False", "OpenToAll"),  # older routers: none
    ({"haproxy.router.openshift.io/ip_allowlist": "192.0.2.0/24", "haproxy.router.openshift.io/ip_whitelist": "10.0.0.0/8"},
     "False", "Differs"),
    ({}, "False", "OpenToAll"),
])
def test_the_router_stand_in_reads_the_allowlist_as_the_router_does(cluster, namespace, annotations, status, reason):
    route = {
        "apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "web", "annotations": annotations},
        "spec": {"to": {"kind": "Service", "name": "web"}, "tls": {"termination": "edge"}},
    }
    apply(cluster, route, namespace)
    cond = cluster.allowlist_condition(namespace, "web")
    assert (cond["status"], cond["reason"]) == (status, reason), cond
