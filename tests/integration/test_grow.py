"""playbooks/grow.yml on the test cluster (`rahti` profile): a small stack (mlflow_stack_size=small) grows into the
full one. The Jobs do not run here (kwok): tests/stack/test_stack_grow.py runs the copy for real."""

from __future__ import annotations

import json

import pytest

from deployment import contract_problems, default_vars, get, rerun_changes_nothing
from harness.faults import job_fails

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

APP = "sg"
NONROOT_IMAGE = "example.test/nonroot:1"  # tests/cluster/test-images.yml: user 1001


def small_vars(ns: str, **extra) -> dict:
    return default_vars(ns, APP, mlflow_stack_size="small", **extra)


def test_grow_story(cluster):
    """grow.yml on one small stack, as a researcher lives it: refused before any change while the full stack would
    not fit the project's quota; a copy Job that fails starts the small stack again with its Deployment and
    configuration as they were; grow.yml again (the copy emptied first) grows it: the tracking server stopped,
    PostgreSQL and the gateway started, the copy Job run, the full stack applied, the small stack's volume kept. Then a
    re-run of deploy.yml changes nothing, the full stack does not shrink, and there is nothing left to grow."""
    ns = cluster.fresh_namespace("it-grow", profile="rahti")
    assert cluster.run_playbook("deploy.yml", small_vars(ns)).rc == 0
    tracking = get(cluster, "Deployment", ns, APP)
    config = get(cluster, "ConfigMap", ns, f"{APP}-config")

    # another workload of the project takes 2 of its 4 vCPU: the small stack fits beside it, the full one does not
    filler = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "other-work"}, "spec": {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "c", "image": NONROOT_IMAGE, "resources": {
            "requests": {"cpu": "400m", "memory": "256Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}}
    cluster.kubectl_run("create", "-n", ns, "-f", "-", input=json.dumps(filler))
    before = cluster.snapshot(ns)
    r = cluster.run_playbook("grow.yml", default_vars(ns, APP))
    assert r.rc != 0 and "limits.cpu" in " ".join(r.stdout.split()), str(r)
    assert cluster.snapshot(ns) == before
    cluster.kubectl_run("-n", ns, "delete", "pod", "other-work", "--wait=true", "--timeout=60s")

    with job_fails(cluster, ns, "grow_database.py"):
        r = cluster.run_playbook("grow.yml", default_vars(ns, APP))
    assert r.rc != 0, str(r)
    out = " ".join(r.stdout.split())
    assert "the small stack serves as before" in out and "-grow-" in out, out[-3000:]
    after = get(cluster, "Deployment", ns, APP)
    assert after["spec"]["template"] == tracking["spec"]["template"] and after["spec"]["replicas"] == 1
    assert after["status"].get("readyReplicas") == 1, after["status"]
    assert get(cluster, "ConfigMap", ns, f"{APP}-config")["data"] == config["data"]
    assert get(cluster, "ConfigMap", ns, f"{APP}-grow") is None
    # the full stack's pre-signed Route, applied first, went with the rest
    assert {rt["metadata"]["name"] for rt in get(cluster, "Route", ns)} == {APP, f"{APP}-models"}

    r = cluster.run_playbook("grow.yml", default_vars(ns, APP))
    assert r.rc == 0, str(r)
    out = " ".join(r.stdout.split())
    assert "Grown into the full stack by Job" in out and f"PVC {APP}-data" in out, out[-3000:]
    assert contract_problems(cluster, ns) == []
    assert get(cluster, "ConfigMap", ns, f"{APP}-config")["data"]["ARTIFACT_STORE"] == "versitygw"
    deployments = {d["metadata"]["name"] for d in get(cluster, "Deployment", ns)}
    assert deployments == {APP, f"{APP}-models", f"{APP}-postgresql", f"{APP}-versitygw"}, deployments
    claims = {c["metadata"]["name"] for c in get(cluster, "PersistentVolumeClaim", ns)}
    assert {f"{APP}-data", f"{APP}-postgresql", f"{APP}-versitygw"} <= claims, claims
    jobs = sorted((j for j in get(cluster, "Job", ns) if j["metadata"]["name"].startswith(f"{APP}-grow-")),
                  key=lambda j: j["metadata"]["creationTimestamp"])
    assert len(jobs) == 2 and jobs[-1]["status"].get("succeeded") == 1, jobs
    script = jobs[-1]["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert "--reset-target" in script and "DB_PASSWORD" not in script

    rerun_changes_nothing(cluster, ns, default_vars(ns, APP))
    before = cluster.snapshot(ns)
    r = cluster.run_playbook("deploy.yml", small_vars(ns))
    assert r.rc != 0 and "a full stack does not shrink" in " ".join(r.stdout.split()), str(r)
    r = cluster.run_playbook("grow.yml", default_vars(ns, APP))
    assert r.rc != 0 and "a full stack has nothing to grow" in " ".join(r.stdout.split()), str(r)
    assert cluster.snapshot(ns) == before
    cluster.delete_namespace(ns)
