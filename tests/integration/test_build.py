"""The optional in-cluster build (mlflow_build_enabled, OpenShift), when the build fails.

The test cluster has no build API; for this module only, fixture ``build_api`` starts
tests/cluster/build_standin.py (build.openshift.io/v1 and image.openshift.io/v1 from memory,
``instantiate`` included, every Build ends ``Failed``) and registers it with the real
kube-apiserver as an aggregated API: a Service of type ExternalName ``localhost`` (kube-aggregator
resolves one to ``https://<externalName>:<APIService port>``, k8s.io/apiserver
pkg/util/proxy ResolveCluster) and APIServices v1.build.openshift.io and v1.image.openshift.io.
Afterwards both APIServices, the Service and the process (by PID) are gone, so the rest of the
suite never sees a build API.

What it proves: with ``mlflow_build_enabled: true`` the role detects the build API, applies the
ImageStream, the build's ConfigMap and a self-contained BuildConfig (Dockerfile source, no git, no
triggers), starts exactly one Build through ``instantiate``, and when that Build fails stops with
"Building the MLflow image ... failed; no workload was changed" before any Deployment exists; a
re-run with the same inputs starts another Build, because the image still does not exist.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from deployment import default_vars, get, wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
STANDIN = REPO / "tests" / "cluster" / "build_standin.py"
SERVICE = {"namespace": "kube-system", "name": "csc-mlflow-build-standin"}
GROUPS = ("build.openshift.io", "image.openshift.io")
BUILDS = "/apis/build.openshift.io/v1/namespaces/{ns}/{res}"


def _api_groups(cluster) -> set[str]:
    return {g["name"] for g in cluster.get_json("/apis").get("groups", [])}


def _available(cluster, name: str) -> bool:
    out = cluster.kubectl_run("get", "apiservice", name, "-o", "jsonpath={.status.conditions[?(@.type=='Available')].status}",
                              check=False)
    return out.stdout.strip() == "True"


def _unregister(cluster) -> None:
    for g in GROUPS:
        cluster.kubectl_run("delete", "apiservice", f"v1.{g}", "--ignore-not-found", check=False)
    cluster.kubectl_run("delete", "service", "-n", SERVICE["namespace"], SERVICE["name"], "--ignore-not-found", check=False)


@pytest.fixture(scope="module")
def build_api(cluster):
    """The build stand-in, registered as an aggregated API for this module; yields timings and its state dir."""
    state = Path(cluster.state)
    (state / "logs").mkdir(parents=True, exist_ok=True)
    port_file = state / "build-standin.port"
    port_file.unlink(missing_ok=True)
    t0 = time.monotonic()
    with open(state / "logs" / "build-standin.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen([sys.executable, str(STANDIN), "--port-file", str(port_file)],  # pylint: disable=consider-using-with
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: port_file.exists() or proc.poll() is not None, 30, 0.1, what="the build stand-in to listen")
        assert proc.poll() is None, (state / "logs" / "build-standin.log").read_text()
        port = int(port_file.read_text())
        serving = time.monotonic() - t0
        objs = [{"apiVersion": "v1", "kind": "Service", "metadata": dict(SERVICE),
                 "spec": {"type": "ExternalName", "externalName": "localhost"}}]
        objs += [{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": f"v1.{g}"},
                  "spec": {"group": g, "version": "v1", "groupPriorityMinimum": 1000, "versionPriority": 15,
                           "insecureSkipTLSVerify": True, "service": {**SERVICE, "port": port}}} for g in GROUPS]
        cluster.kubectl_run("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))
        wait_until(lambda: all(_available(cluster, f"v1.{g}") for g in GROUPS), 60, 0.2, what="the APIServices Available")
        wait_until(lambda: set(GROUPS) <= _api_groups(cluster), 60, 0.2, what="the build groups in /apis")
        registered = time.monotonic() - t0
        # A discovery cache of its own: kubernetes.core caches API groups per server in $TMPDIR, and
        # the rest of the suite must neither see these groups nor hand its cache to these runs.
        with tempfile.TemporaryDirectory(prefix="build-api-", dir=state) as tmp:
            yield {"pid": proc.pid, "port": port, "serving_s": serving, "registered_s": registered, "tmpdir": tmp}
    finally:
        _unregister(cluster)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        wait_until(lambda: not set(GROUPS) & _api_groups(cluster), 60, 0.2, what="the build groups gone from /apis")


def _list(cluster, ns: str, res: str) -> list[dict]:
    return cluster.get_json(BUILDS.format(ns=ns, res=res)).get("items", [])


def test_failed_build_changes_no_workload_and_rerun_builds_again(cluster, build_api):
    print(f"\nbuild stand-in: serving after {build_api['serving_s']:.2f} s, APIServices Available after "
          f"{build_api['registered_s']:.2f} s (pid {build_api['pid']}, port {build_api['port']})")
    ns = cluster.fresh_namespace("build-fails")
    app = "bf"
    v = default_vars(ns, app, mlflow_platform="openshift", mlflow_build_enabled=True)
    env = {"TMPDIR": build_api["tmpdir"]}
    image = f"{app}-mlflow"

    r = cluster.run_playbook("deploy.yml", v, env=env)
    print(f"first run: {r.seconds:.1f} s")
    assert r.rc != 0, str(r)
    out = " ".join(r.stdout.split())
    assert f"Building the MLflow image {image}:" in out and "failed; no workload was changed" in out, str(r)
    assert "Unexpected status for Build" in out and "Failed" in out, str(r)

    bc = cluster.get_json(BUILDS.format(ns=ns, res="buildconfigs") + f"/{image}")
    assert bc["spec"]["source"]["type"] == "Dockerfile", bc["spec"]["source"]
    assert "git" not in bc["spec"]["source"] and bc["spec"]["source"]["dockerfile"].strip(), bc["spec"]["source"]
    assert bc["spec"]["source"]["configMaps"] == [{"configMap": {"name": f"{image}-build"}}]
    assert bc["spec"]["triggers"] == []
    assert bc["metadata"]["labels"]["app.kubernetes.io/component"] == "build"
    assert "csc.mlflow/build-inputs" in bc["metadata"]["annotations"]
    cm = get(cluster, "ConfigMap", ns, f"{image}-build")
    assert cm and "requirements.txt" in cm["data"], cm
    assert cluster.get_json(f"/apis/image.openshift.io/v1/namespaces/{ns}/imagestreams/{image}")["kind"] == "ImageStream"
    # instantiate was called once: one Build, numbered 1, failed as the stand-in fails them all.
    builds = _list(cluster, ns, "builds")
    assert [b["metadata"]["name"] for b in builds] == [f"{image}-1"], builds
    assert builds[0]["metadata"]["annotations"]["openshift.io/build-config.name"] == image
    assert builds[0]["status"]["phase"] == "Failed"
    assert bc["status"]["lastVersion"] == 1
    # Workloads only after the build: none of the stack's Deployments (nor Jobs) exists.
    assert get(cluster, "Deployment", ns) == [], [d["metadata"]["name"] for d in get(cluster, "Deployment", ns)]
    assert get(cluster, "Job", ns) == []

    # The same inputs again: the BuildConfig is unchanged, but the image still does not exist.
    r = cluster.run_playbook("deploy.yml", v, env=env)
    print(f"second run: {r.seconds:.1f} s")
    assert r.rc != 0, str(r)
    assert "failed; no workload was changed" in " ".join(r.stdout.split()), str(r)
    builds = _list(cluster, ns, "builds")
    assert sorted(b["metadata"]["name"] for b in builds) == [f"{image}-1", f"{image}-2"], builds
    assert all(b["status"]["phase"] == "Failed" for b in builds)
    assert get(cluster, "Deployment", ns) == []
    bc2 = cluster.get_json(BUILDS.format(ns=ns, res="buildconfigs") + f"/{image}")
    assert bc2["metadata"]["generation"] == bc["metadata"]["generation"], "the BuildConfig was rewritten"


def test_undeploy_removes_the_build_objects(cluster, build_api):
    """undeploy.yml finds the BuildConfig and ImageStream by label and deletes them (the ConfigMap too)."""
    ns = cluster.fresh_namespace("build-undeploy")
    app = "bu"
    v = default_vars(ns, app, mlflow_platform="openshift", mlflow_build_enabled=True)
    env = {"TMPDIR": build_api["tmpdir"]}
    assert cluster.run_playbook("deploy.yml", v, env=env).rc != 0
    assert _list(cluster, ns, "buildconfigs")
    r = cluster.run_playbook("undeploy.yml", v, env=env)
    assert r.rc == 0, str(r)
    wait_until(lambda: not _list(cluster, ns, "buildconfigs"), 30, what="the BuildConfig deleted")
    assert cluster.get_json(f"/apis/image.openshift.io/v1/namespaces/{ns}/imagestreams")["items"] == []
    assert get(cluster, "ConfigMap", ns, f"{app}-mlflow-build") is None
