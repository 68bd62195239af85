"""More than one tracking replica (mlflow_tracking_replicas) on the local test cluster.

In file order, in one namespace of the `rahti` profile (its LimitRange and the default CSC
quota): two replicas roll out Ready behind a PodDisruptionBudget, a re-run writes nothing, the
combination with server-side jobs is refused before any change, and back at one replica the
Deployment is today's (Recreate) and the PDB is gone.
"""

from __future__ import annotations

import copy

import pytest

from deployment import default_vars, deployment_ready, get, rerun_changes_nothing, wait_until
from harness.namespaces import module_namespace

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

APP = "mlr"

ns = module_namespace("it-replicas")


def deploy(cluster, ns, **extra):
    v = copy.deepcopy(default_vars(ns, APP))
    v.update(extra)
    return v, cluster.run_playbook("deploy.yml", v)


def ready_tracking_pods(cluster, ns):
    out = []
    for p in get(cluster, "Pod", ns):
        labels = p["metadata"].get("labels", {})
        if labels.get("app.kubernetes.io/component") != "tracking" or p["metadata"].get("deletionTimestamp"):
            continue
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in p.get("status", {}).get("conditions", [])):
            out.append(p)
    return out


def test_two_replicas_are_ready_behind_a_pdb(cluster, ns):
    v, r = deploy(cluster, ns, mlflow_tracking_replicas=2)
    assert r.rc == 0, str(r)
    dep = get(cluster, "Deployment", ns, APP)
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    assert dep["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    wait_until(lambda: deployment_ready(cluster, ns, APP), 60, what="two tracking replicas ready")
    pods = ready_tracking_pods(cluster, ns)
    assert len(pods) == 2
    # the test cluster has two nodes: the scheduler spreads the replicas over them
    assert len({p["spec"]["nodeName"] for p in pods}) == 2, [(p["metadata"]["name"], p["spec"]["nodeName"]) for p in pods]
    pdb = get(cluster, "PodDisruptionBudget", ns, APP)
    assert pdb is not None, "no PodDisruptionBudget"
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/instance": APP,
                                                       "app.kubernetes.io/component": "tracking"}}

    # the disruption controller counts the replicas: one of the two may be evicted at a time
    def pdb_counts_two():
        status = (get(cluster, "PodDisruptionBudget", ns, APP) or {}).get("status", {})
        return status if status.get("currentHealthy") == 2 else None

    status = wait_until(pdb_counts_two, 60, what="PDB status")
    assert status["desiredHealthy"] == 1 and status["disruptionsAllowed"] == 1
    rerun_changes_nothing(cluster, ns, v)


def test_a_store_switch_given_only_the_store_keeps_two_replicas(cluster, ns):
    """configure_artifact_store.yml as AWX runs it: the tracking server is stopped for the copy and
    comes back with the recorded two replicas (and its PDB)."""
    awx = {"env": cluster.auth_env(), "inventory": None}
    store = {"mlflow_namespace": ns, "mlflow_app_name": APP, "mlflow_artifact_store": "allas",
             "mlflow_s3_endpoint_url": "https://a3s.fi", "mlflow_s3_bucket": "replicas-artifacts",
             "mlflow_s3_access_key_id": "AKIAREPLICASKEY00001",
             "mlflow_s3_secret_access_key": "replicas-secret-key-for-tests-0123456789"}
    r = cluster.run_playbook("configure_artifact_store.yml", store, **awx)
    assert r.rc == 0, str(r)
    assert "Stop the tracking server" in r.stdout  # the copy ran with the server stopped
    assert get(cluster, "ConfigMap", ns, f"{APP}-config")["data"]["ARTIFACT_STORE"] == "allas"
    assert get(cluster, "Deployment", ns, APP)["spec"]["replicas"] == 2
    assert get(cluster, "PodDisruptionBudget", ns, APP) is not None
    wait_until(lambda: deployment_ready(cluster, ns, APP), 60, what="two tracking replicas ready again")
    r = cluster.run_playbook("configure_artifact_store.yml",
                             {"mlflow_namespace": ns, "mlflow_app_name": APP, "mlflow_artifact_store": "versitygw",
                              "mlflow_artifact_migrate": False}, **awx)
    assert r.rc == 0, str(r)
    assert get(cluster, "Deployment", ns, APP)["spec"]["replicas"] == 2
    wait_until(lambda: deployment_ready(cluster, ns, APP), 60, what="two tracking replicas ready again")


def test_two_replicas_with_server_side_jobs_are_refused_before_any_change(cluster, ns):
    before = cluster.snapshot(ns)
    _v, r = deploy(cluster, ns, mlflow_tracking_replicas=2, mlflow_enable_job_execution=True)
    assert r.rc != 0, str(r)
    assert r.recap.get("changed", 0) == 0, str(r)
    assert "mlflow_tracking_replicas=2 with mlflow_enable_job_execution=true" in r.stdout
    assert cluster.snapshot(ns) == before


def test_back_to_one_replica_removes_the_pdb(cluster, ns):
    _v, r = deploy(cluster, ns, mlflow_tracking_replicas=1)  # named: a run that does not set it keeps the 2
    assert r.rc == 0, str(r)
    dep = get(cluster, "Deployment", ns, APP)
    assert dep["spec"]["replicas"] == 1
    assert dep["spec"]["strategy"] == {"type": "Recreate"}
    assert "topologySpreadConstraints" not in dep["spec"]["template"]["spec"]
    assert get(cluster, "PodDisruptionBudget", ns, APP) is None
    wait_until(lambda: deployment_ready(cluster, ns, APP), 60, what="one tracking replica ready")


def test_an_autoscaler_keeps_the_replicas_it_chose_and_goes_when_off(cluster, ns):
    v, r = deploy(cluster, ns, mlflow_tracking_autoscale_max_replicas=2, mlflow_tracking_autoscale_cpu_percent=70)
    assert r.rc == 0, str(r)
    hpa = get(cluster, "HorizontalPodAutoscaler", ns, APP)
    assert hpa is not None, "no HorizontalPodAutoscaler"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 2)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    dep = get(cluster, "Deployment", ns, APP)
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "RollingUpdate"
    assert get(cluster, "PodDisruptionBudget", ns, APP) is None  # one pod at the minimum: no PDB to block drains
    # The autoscaler scales up (the test cluster has no metrics API: the test plays the autoscaler).
    from kubernetes import client

    client.AppsV1Api(cluster.api).patch_namespaced_deployment_scale(APP, ns, {"spec": {"replicas": 2}})
    wait_until(lambda: deployment_ready(cluster, ns, APP), 60, what="two tracking replicas ready")
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0, str(r)
    assert get(cluster, "Deployment", ns, APP)["spec"]["replicas"] == 2, "the deploy undid the autoscaler's choice"
    rerun_changes_nothing(cluster, ns, v)
    # Off again (named): the autoscaler goes and the Deployment is back at mlflow_tracking_replicas.
    _v, r = deploy(cluster, ns, mlflow_tracking_autoscale_max_replicas=0)
    assert r.rc == 0, str(r)
    assert get(cluster, "HorizontalPodAutoscaler", ns, APP) is None
    dep = get(cluster, "Deployment", ns, APP)
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"] == {"type": "Recreate"}
    wait_until(lambda: deployment_ready(cluster, ns, APP), 60, what="one tracking replica ready")
