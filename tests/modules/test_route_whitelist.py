"""csc.mlflow.route_whitelist run for real against the local kube-apiserver with the Route CRD."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "tests" / "modules" / "playbooks" / "route_whitelist.yml"
ROUTE_KEY = "haproxy.router.openshift.io/ip_whitelist"
ALLOWLIST_KEY = "haproxy.router.openshift.io/ip_allowlist"
INGRESS_KEY = "nginx.ingress.kubernetes.io/whitelist-source-range"


def route(name, namespace, annotations=None):
    return {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
        "spec": {
            "to": {"kind": "Service", "name": "mlflow", "weight": 100},
            "port": {"targetPort": "http"},
            "tls": {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"},
        },
    }


def ingress(name, namespace):
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "mlflow.example.test",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "mlflow", "port": {"number": 8080}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


class Objects:
    def __init__(self, cluster, namespace):
        self.cluster = cluster
        self.namespace = namespace
        self.routes = cluster.dynamic.resources.get(api_version="route.openshift.io/v1", kind="Route")
        self.ingresses = cluster.dynamic.resources.get(api_version="networking.k8s.io/v1", kind="Ingress")

    def create(self, obj):
        res = self.routes if obj["kind"] == "Route" else self.ingresses
        res.create(body=obj, namespace=self.namespace)

    def get(self, name, kind="Route"):
        res = self.routes if kind == "Route" else self.ingresses
        return res.get(name=name, namespace=self.namespace).to_dict()

    def annotation(self, name, kind="Route", key=None):
        key = key or (ROUTE_KEY if kind == "Route" else INGRESS_KEY)
        return (self.get(name, kind)["metadata"].get("annotations") or {}).get(key)

    def rv(self, name, kind="Route"):
        return self.get(name, kind)["metadata"]["resourceVersion"]


@pytest.fixture
def objects(cluster, namespace):
    o = Objects(cluster, namespace)
    o.create(route("r1", namespace))
    o.create(route("r2", namespace, {ROUTE_KEY: "10.1.1.1,10.2.2.2"}))  # a list the router ignores
    o.create(ingress("i1", namespace))
    return o


def run(cluster, namespace, runs, tmp_path, *, check=False, diff=False, env=None):
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.json"
    res = cluster.run_playbook(
        str(PLAYBOOK),
        {"runs": runs, "out": str(out), "target_namespace": namespace},
        inventory=None,
        check=check,
        diff=diff,
        env=env,
    )
    assert res.rc == 0, str(res)
    return json.loads(out.read_text()), res


def test_set_is_normalised_and_idempotent(cluster, objects, tmp_path):
    ns = objects.namespace
    runs = [
        {"name": ["r1", "r2"], "whitelist": "10.0.0.5/24, 192.0.2.1;2001:DB8::1/128\n10.0.0.0/24"},
        {"name": ["r1", "r2"], "whitelist": ["2001:db8::1", "192.0.2.1/32", "10.0.0.0/24"]},
    ]
    r, res = run(cluster, ns, runs, tmp_path)
    assert r[0]["changed"] is True
    assert r[0]["whitelist"] == ["10.0.0.0/24", "192.0.2.1", "2001:db8::1"]
    assert [x["before"] for x in r[0]["objects"]] == [None, "10.1.1.1,10.2.2.2"]
    for name in ("r1", "r2"):
        assert objects.annotation(name) == "10.0.0.0/24 192.0.2.1 2001:db8::1"
        assert objects.annotation(name, key=ALLOWLIST_KEY) == "10.0.0.0/24 192.0.2.1 2001:db8::1"
        cond = cluster.allowlist_condition(ns, name)  # every router generation enforces it
        assert (cond["status"], cond["message"]) == ("True", "10.0.0.0/24 192.0.2.1 2001:db8::1"), cond
    rvs = {n: objects.rv(n) for n in ("r1", "r2")}
    assert r[1]["changed"] is False
    r, res = run(cluster, ns, runs[1:], tmp_path)
    assert r[0]["changed"] is False and res.changed == 0
    assert {n: objects.rv(n) for n in ("r1", "r2")} == rvs  # nothing written at all


def test_merged_adds_without_removing(cluster, objects, tmp_path):
    ns = objects.namespace
    runs = [
        {"name": "r1", "whitelist": ["10.0.0.0/8"]},
        {"name": "r1", "state": "merged", "whitelist": "203.0.113.7 10.3.0.0/16"},
        {"name": "r1", "state": "merged", "whitelist": "203.0.113.7"},
        {"name": "r1", "state": "merged", "whitelist": "10.4.0.0/16", "collapse": True},
    ]
    r, _res = run(cluster, ns, runs, tmp_path)
    assert [x["changed"] for x in r] == [True, True, False, True]
    assert r[1]["objects"][0]["after"] == "10.0.0.0/8 10.3.0.0/16 203.0.113.7"
    assert objects.annotation("r1") == "10.0.0.0/8 203.0.113.7"  # collapse folded the /16s into the /8


def test_check_mode_and_diff_change_nothing(cluster, objects, tmp_path):
    ns = objects.namespace
    run(cluster, ns, [{"name": "r1", "whitelist": "10.0.0.1"}], tmp_path)
    rv = objects.rv("r1")
    r, res = run(cluster, ns, [{"name": "r1", "whitelist": "10.0.0.2"}], tmp_path, check=True, diff=True)
    assert r[0]["changed"] is True and r[0]["objects"][0]["after"] == "10.0.0.2"
    assert "-Route/r1: 10.0.0.1" in res.stdout and "+Route/r1: 10.0.0.2" in res.stdout
    assert objects.annotation("r1") == "10.0.0.1" and objects.rv("r1") == rv


def test_refusals_name_the_problem_and_change_nothing(cluster, objects, tmp_path):
    ns = objects.namespace
    run(cluster, ns, [{"name": ["r1"], "whitelist": "10.0.0.1"}], tmp_path)
    rv = objects.rv("r1")
    many = ["10.%d.0.0/16" % i for i in range(62)]
    runs = [
        {"name": "r1", "whitelist": "10.0.0.0/33 1.2.3 mlflow.example.org 10.0.0.9", "expect_failure": True},
        {"name": "r1", "whitelist": [], "expect_failure": True},
        {"name": "r1", "whitelist": " , ", "expect_failure": True},
        {"name": "r1", "expect_failure": True},
        {"name": "r1", "whitelist": many, "max_entries": 61, "expect_failure": True},
        {"name": ["r1", "nope"], "whitelist": "10.9.9.9", "expect_failure": True},
    ]
    r, _res = run(cluster, ns, runs, tmp_path)
    msgs = [x.get("msg", "") for x in r]
    assert all(x.get("failed") for x in r), msgs
    assert all(repr(b) in msgs[0] for b in ("10.0.0.0/33", "1.2.3", "mlflow.example.org")) and "10.0.0.9" not in msgs[0]
    assert "allow_all" in msgs[1] and "allow_all" in msgs[2] and "required" in msgs[3]
    assert "62 entries" in msgs[4] and "collapse" in msgs[4]
    assert "nope" in msgs[5] and "not found" in msgs[5]
    assert objects.annotation("r1") == "10.0.0.1" and objects.rv("r1") == rv


def test_long_lists_collapse_and_open_needs_allow_all(cluster, objects, tmp_path):
    ns = objects.namespace
    many = ["10.%d.0.0/16" % i for i in range(64)]
    runs = [
        # More than the 61 of OpenShift's docs: the router accepts it (openshift/router 488120a38).
        {"name": "r2", "whitelist": many},
        {"name": "r1", "whitelist": many, "collapse": True},
        {"name": "r1", "whitelist": [], "allow_all": True},
        {"name": "r2", "state": "absent"},
        {"name": "r2", "state": "absent"},
    ]
    r, _res = run(cluster, ns, runs, tmp_path)
    assert len(r[0]["whitelist"]) == 64 and not r[0].get("failed"), r[0]
    r = r[1:]
    assert r[0]["whitelist"] == ["10.0.0.0/10"]
    assert [x["changed"] for x in r] == [True, True, True, False]
    assert objects.annotation("r1") is None and objects.annotation("r2") is None


def test_ingress_and_custom_key(cluster, objects, tmp_path):
    ns = objects.namespace
    runs = [
        {"name": "i1", "kind": "Ingress", "whitelist": "192.0.2.1 10.0.0.0/8"},
        {"name": "r1", "whitelist": "192.0.2.1", "annotation_key": "haproxy.router.openshift.io/ip_allowlist"},
    ]
    r, _res = run(cluster, ns, runs, tmp_path)
    assert objects.annotation("i1", "Ingress") == "10.0.0.0/8,192.0.2.1"
    assert r[0]["annotation_keys"] == [INGRESS_KEY]
    assert objects.annotation("r1", key="haproxy.router.openshift.io/ip_allowlist") == "192.0.2.1"
    assert objects.annotation("r1") is None


def test_credentials_from_k8s_auth_env(cluster, objects, tmp_path):
    """AWX style: no kubeconfig, only K8S_AUTH_HOST / K8S_AUTH_API_KEY / CA."""
    if not cluster.token:
        pytest.skip("the test cluster has no bearer token")
    ns = objects.namespace
    r, _res = run(cluster, ns, [{"name": "r1", "whitelist": "198.51.100.0/24"}], tmp_path, env=cluster.auth_env())
    assert r[0]["changed"] is True
    assert objects.annotation("r1") == "198.51.100.0/24"


def test_a_stale_allowlist_cannot_override_the_list(cluster, objects, tmp_path):
    """Someone's ip_allowlist, which routers of 4.17+ read first, is replaced too; `before` says what they read."""
    ns = objects.namespace
    objects.create(route("r3", ns, {ALLOWLIST_KEY: "0.0.0.0/0", ROUTE_KEY: "192.0.2.1"}))
    r, _res = run(cluster, ns, [{"name": "r3", "whitelist": "192.0.2.1"}], tmp_path)
    assert r[0]["changed"] is True and r[0]["objects"][0]["before"] == "0.0.0.0/0"
    assert objects.annotation("r3", key=ALLOWLIST_KEY) == objects.annotation("r3") == "192.0.2.1"
    r, _res = run(cluster, ns, [{"name": "r3", "state": "absent"}], tmp_path)
    assert objects.annotation("r3", key=ALLOWLIST_KEY) is None and objects.annotation("r3") is None
