"""The test cluster is as strict as the platforms: Rahti's LimitRange and quota, the restricted-v2
SCC, image contracts, the router's host claims (tests/cluster/manifests/, standins.py)."""

from __future__ import annotations

import json
import time

import pytest

pytestmark = [pytest.mark.cluster]

NONROOT = "example.test/nonroot:1"  # tests/cluster/test-images.yml: user 1001
ROOT = "example.test/root:1"  # user 0 (no USER line)


def pod(name="p", image=NONROOT, resources=None, pod_sc=None, container_sc=None, containers=1):
    """A pod that passes Pod Security `restricted`; extra securityContext fields merged in."""
    spec_containers = []
    for i in range(containers):
        c = {"name": f"c{i}", "image": image,
             "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                 **(container_sc or {})}}
        if resources:
            c["resources"] = resources
        spec_containers.append(c)
    sc = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}, **(pod_sc or {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"securityContext": sc, "containers": spec_containers}}


def create(cluster, ns, obj, dry_run=True):
    args = ["create", "-n", ns, "-o", "json", "-f", "-"]
    if dry_run:
        args.insert(1, "--dry-run=server")
    return cluster.kubectl_run(*args, input=json.dumps(obj), check=False)


def created(cluster, ns, obj, dry_run=True) -> dict:
    r = create(cluster, ns, obj, dry_run)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def refused(cluster, ns, obj) -> str:
    r = create(cluster, ns, obj)
    assert r.returncode != 0, f"admitted: {r.stdout[:2000]}"
    return r.stderr


def annotations(cluster, ns) -> dict:
    return json.loads(cluster.kubectl_run("get", "namespace", ns, "-o", "json").stdout)["metadata"]["annotations"]


def wait_until(fn, timeout=15.0, step=0.2):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(step)


@pytest.fixture
def rahti(make_namespace):
    return make_namespace("rahti", profile="rahti")


@pytest.fixture
def kube(make_namespace):
    return make_namespace("kube", profile="kubernetes")


# ------------------------------------------------------------------ profiles
def test_profile_default_and_other(cluster):
    assert cluster.profile in ("rahti", "kubernetes")
    assert {cluster.profile, cluster.other_profile} == {"rahti", "kubernetes"}


def test_rahti_namespace_has_openshift_annotations_limits_and_quota(cluster, rahti, make_namespace):
    ann = annotations(cluster, rahti)
    start, size = ann["openshift.io/sa.scc.uid-range"].split("/")
    assert size == "10000" and int(start) >= 1000000000 and int(start) % 10000 == 0
    assert ann["openshift.io/sa.scc.supplemental-groups"] == ann["openshift.io/sa.scc.uid-range"]
    assert ann["openshift.io/sa.scc.mcs"].startswith("s0:c")
    other = annotations(cluster, make_namespace("rahti2", profile="rahti"))
    assert other["openshift.io/sa.scc.uid-range"] != ann["openshift.io/sa.scc.uid-range"]
    assert other["openshift.io/sa.scc.mcs"] != ann["openshift.io/sa.scc.mcs"]
    lr = json.loads(cluster.kubectl_run("get", "-n", rahti, "limitrange", "limits", "-o", "json").stdout)
    container = next(x for x in lr["spec"]["limits"] if x["type"] == "Container")
    assert container["maxLimitRequestRatio"] == {"cpu": "5"}
    assert container["default"] == {"cpu": "500m", "memory": "1Gi"}
    rq = json.loads(cluster.kubectl_run("get", "-n", rahti, "resourcequota", "-o", "json").stdout)["items"]
    assert [q["spec"]["hard"]["limits.cpu"] for q in rq] == ["4"]


def test_kubernetes_namespace_is_plain(cluster, kube):
    ns = json.loads(cluster.kubectl_run("get", "namespace", kube, "-o", "json").stdout)
    assert not any(k.startswith("openshift.io/") for k in ns["metadata"].get("annotations") or {})
    for kind in ("limitrange", "resourcequota", "appliedclusterresourcequota"):
        assert cluster.kubectl_run("get", "-n", kube, kind, "-o", "name").stdout.strip() == ""
    got = created(cluster, kube, pod(container_sc={"runAsUser": 1001}))
    assert "fsGroup" not in got["spec"]["securityContext"]
    assert "resources" not in got["spec"]["containers"][0] or not got["spec"]["containers"][0]["resources"]


# ------------------------------------------------------------------ LimitRange / quota (rahti)
def test_limitrange_refuses_cpu_ratio_over_5(cluster, rahti):
    err = refused(cluster, rahti, pod(resources={"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}))
    assert "cpu max limit to request ratio per Container is 5" in err, err


def test_limitrange_defaults_a_container_without_resources(cluster, rahti):
    got = created(cluster, rahti, pod())
    assert got["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "100m", "memory": "500Mi"}, "limits": {"cpu": "500m", "memory": "1Gi"}}


def test_limitrange_refuses_pvc_over_100gi(cluster, rahti):
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "big"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "200Gi"}}}}
    r = create(cluster, rahti, pvc)
    assert r.returncode != 0 and "maximum storage usage per PersistentVolumeClaim is 100Gi" in r.stderr, r.stderr


def test_quota_refuses_over_4_cpu(cluster, rahti):
    # two containers of limit 3 CPU (request 1: ratio 3) = 6 CPU > the project's 4
    big = pod(containers=2, resources={"requests": {"cpu": "1"}, "limits": {"cpu": "3"}})
    err = refused(cluster, rahti, big)
    assert "exceeded quota" in err and "limits.cpu" in err, err


def test_applied_cluster_resource_quota_follows_usage(cluster, rahti):
    def acrq():
        return json.loads(cluster.kubectl_run("get", "-n", rahti, "appliedclusterresourcequota", "-o", "json").stdout)["items"]

    (q,) = acrq()
    assert q["metadata"]["name"].startswith("crq-") and q["spec"]["quota"]["hard"]["limits.cpu"] == "4"
    assert q["status"]["total"]["hard"]["limits.cpu"] == "4"
    created(cluster, rahti, pod("user"), dry_run=False)  # LimitRange defaults: limit 500m / 1Gi

    def used():
        st = acrq()[0]["status"]
        u = st["total"]["used"]
        return u if u.get("pods") == "1" else None

    u = wait_until(used)
    assert u and u["limits.cpu"] == "500m" and u["limits.memory"] == "1Gi", acrq()
    st = acrq()[0]["status"]
    rq = json.loads(cluster.kubectl_run("get", "-n", rahti, "resourcequota", q["metadata"]["name"], "-o", "json").stdout)
    assert st["namespaces"] == [{"namespace": rahti, "status": {"hard": rq["status"]["hard"], "used": rq["status"]["used"]}}]
    cluster.kubectl_run("-n", rahti, "delete", "pod", "user", "--wait=true", "--timeout=60s")
    assert wait_until(lambda: acrq()[0]["status"]["total"]["used"].get("pods") == "0", timeout=30), acrq()


# ------------------------------------------------------------------ restricted-v2 SCC (rahti)
def _range(cluster, ns, kind="uid-range"):
    start, size = annotations(cluster, ns)[f"openshift.io/sa.scc.{kind}"].split("/")
    return int(start), int(start) + int(size) - 1


def test_scc_assigns_uid_fsgroup_and_mcs(cluster, rahti):
    first, _last = _range(cluster, rahti)
    gid, _glast = _range(cluster, rahti, "supplemental-groups")
    got = created(cluster, rahti, pod(containers=2))
    assert [c["securityContext"]["runAsUser"] for c in got["spec"]["containers"]] == [first, first]
    assert got["spec"]["securityContext"]["fsGroup"] == gid
    assert got["spec"]["securityContext"]["seLinuxOptions"] == {"level": annotations(cluster, rahti)["openshift.io/sa.scc.mcs"]}
    # a UID and fsGroup inside the ranges are kept
    got = created(cluster, rahti, pod(container_sc={"runAsUser": first + 5}, pod_sc={"fsGroup": gid + 7}))
    assert got["spec"]["containers"][0]["securityContext"]["runAsUser"] == first + 5
    assert got["spec"]["securityContext"]["fsGroup"] == gid + 7


@pytest.mark.parametrize("level", ["container", "pod"])
def test_scc_refuses_uid_outside_range(cluster, rahti, level):
    first, last = _range(cluster, rahti)
    sc = {"runAsUser": 1001}
    err = refused(cluster, rahti, pod(container_sc=sc) if level == "container" else pod(pod_sc=sc))
    assert "unable to validate against any security context constraint" in err, err
    assert f"runAsUser: Invalid value: 1001: must be in the ranges: [{first}, {last}]" in err, err


def test_scc_refuses_uid_0(cluster, rahti):
    # Pod Security `restricted` refuses runAsUser 0 before the SCC policy runs (admission order).
    err = refused(cluster, rahti, pod(container_sc={"runAsUser": 0}))
    assert "runAsUser=0" in err or "runAsUser: Invalid value: 0" in err, err


def test_scc_refuses_fsgroup_outside_range(cluster, rahti):
    err = refused(cluster, rahti, pod(pod_sc={"fsGroup": 1000}))
    assert "fsGroup: Invalid value: []int64{1000}: 1000 is not an allowed group" in err, err


def test_kubernetes_profile_assigns_nothing(cluster, kube):
    got = created(cluster, kube, pod(container_sc={"runAsUser": 1001}, pod_sc={"fsGroup": 1000}))
    assert got["spec"]["securityContext"]["fsGroup"] == 1000  # no range to be outside of
    got = created(cluster, kube, pod())
    assert "runAsUser" not in got["spec"]["containers"][0]["securityContext"]


# ------------------------------------------------------------------ image contracts (both)
def test_root_image_refused_without_run_as_user_on_kubernetes(cluster, kube):
    err = refused(cluster, kube, pod(image=ROOT))
    assert "CreateContainerConfigError: container has runAsNonRoot and image will run as root" in err, err
    created(cluster, kube, pod(image=ROOT, container_sc={"runAsUser": 1001}))
    created(cluster, kube, pod(image=ROOT, pod_sc={"runAsUser": 1001}))
    created(cluster, kube, pod(image=NONROOT))


def test_root_image_runs_on_rahti_as_assigned_uid(cluster, rahti):
    got = created(cluster, rahti, pod(image=ROOT))
    assert got["spec"]["containers"][0]["securityContext"]["runAsUser"] == _range(cluster, rahti)[0]


@pytest.mark.parametrize("profile", ["rahti", "kubernetes"])
def test_unknown_image_refused(cluster, make_namespace, profile):
    ns = make_namespace("img", profile=profile)
    err = refused(cluster, ns, pod(image="example.test/unrecorded:1", container_sc={"runAsUser": 1001}
                                   if profile == "kubernetes" else None))
    assert 'ImagePullBackOff: image "example.test/unrecorded:1" has no record in images/contracts.yml' in err, err
    # an init container's image counts too
    p = pod()
    p["spec"]["initContainers"] = [dict(p["spec"]["containers"][0], name="init", image="example.test/unrecorded:2")]
    assert 'image "example.test/unrecorded:2" has no record' in refused(cluster, ns, p)


def test_kube_system_is_exempt_from_contracts(cluster):
    created(cluster, "kube-system", pod(image="example.test/unrecorded:1"))


def test_refused_pod_shows_as_failed_create_of_a_deployment(cluster, kube):
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                    "template": {"metadata": {"labels": {"app": "d"}}, "spec": pod(image=ROOT)["spec"]}}}
    created(cluster, kube, dep, dry_run=False)

    def failed_create():
        ev = cluster.kubectl_run("get", "events", "-n", kube, "--field-selector", "reason=FailedCreate", "-o", "json").stdout
        return [e["message"] for e in json.loads(ev)["items"]]

    msgs = wait_until(failed_create, timeout=30)
    assert msgs and "image will run as root" in msgs[0], msgs


# ------------------------------------------------------------------ router stand-in
def _route(name, host=None):
    spec = {"to": {"kind": "Service", "name": "web"}}
    if host:
        spec["host"] = host
    return {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": name}, "spec": spec}


def _admitted(cluster, ns, name):
    r = json.loads(cluster.kubectl_run("get", "-n", ns, "route", name, "-o", "json").stdout)
    ingress = (r.get("status") or {}).get("ingress") or []
    return ingress[0] if ingress else None


def test_route_admitted_then_host_already_claimed(cluster, make_namespace):
    a, b = make_namespace("ra"), make_namespace("rb")
    host = f"claim-{a}.example.test"
    created(cluster, a, _route("first", host), dry_run=False)
    ing = wait_until(lambda: _admitted(cluster, a, "first"), timeout=10)
    assert ing and ing["routerName"] == "default" and ing["host"] == host and ing["wildcardPolicy"] == "None", ing
    assert ing["conditions"][0]["type"] == "Admitted" and ing["conditions"][0]["status"] == "True"
    assert ing["conditions"][0]["lastTransitionTime"]

    time.sleep(1.1)  # creationTimestamp has a resolution of one second
    created(cluster, b, _route("second", host), dry_run=False)
    ing = wait_until(lambda: _admitted(cluster, b, "second"), timeout=10)
    cond = ing["conditions"][0]
    assert (cond["status"], cond["reason"]) == ("False", "HostAlreadyClaimed"), ing
    assert cond["message"] == f"route first already exposes {host} and is older"
    # the same host in the owner's own namespace is fine (e.g. another path)
    created(cluster, a, _route("same-ns", host), dry_run=False)
    assert wait_until(lambda: (_admitted(cluster, a, "same-ns") or {}).get("conditions", [{}])[0].get("status") == "True")

    # the owner gives the host up: the next claimant is admitted
    cluster.kubectl_run("-n", a, "delete", "route", "first", "same-ns")
    assert wait_until(lambda: _admitted(cluster, b, "second")["conditions"][0]["status"] == "True", timeout=10), \
        _admitted(cluster, b, "second")


def test_generated_host_route_is_admitted(cluster, namespace):
    created(cluster, namespace, _route("web"), dry_run=False)
    ing = wait_until(lambda: _admitted(cluster, namespace, "web"), timeout=10)
    assert ing and ing["host"] == f"web-{namespace}.apps.kwok.test" and ing["conditions"][0]["status"] == "True"
