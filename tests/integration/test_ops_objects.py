"""The opt-in operations objects on the test cluster (strict `rahti` profile by default).

deploy.yml with mlflow_gc_schedule and mlflow_metrics_enabled: the CronJob, the metrics Service and
NetworkPolicy are admitted (Pod Security restricted, LimitRange, quota, image contracts), carry the
recommended labels, the Route and Service <app> reach only port 8080, and a re-run changes nothing.
"""

from __future__ import annotations

import pytest

from deployment import (LABEL_KEYS, default_vars, diff, get, image_contracts, rerun_changes_nothing, summary_lines,
                        wait_until)

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

APP = "mlops"


def test_gc_and_metrics_objects_fit_and_rerun_is_a_no_op(cluster, make_namespace):
    ns = make_namespace("it-ops")
    v = default_vars(ns, APP, mlflow_gc_schedule="0 3 * * 0", mlflow_gc_older_than="7d", mlflow_metrics_enabled=True)
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0, str(r)
    cj = get(cluster, "CronJob", ns, f"{APP}-gc")
    svc = get(cluster, "Service", ns, f"{APP}-metrics")
    pol = get(cluster, "NetworkPolicy", ns, f"{APP}-metrics")
    for o in (cj, svc, pol):
        assert set(LABEL_KEYS) <= set(o["metadata"]["labels"]), o["metadata"]
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    check, records = image_contracts()
    assert check(pod, records) == []
    # what the CronJob controller would start: admitted (Pod Security restricted, LimitRange, quota, contracts)
    from kubernetes import client

    batch = client.BatchV1Api(cluster.api)
    batch.create_namespaced_job(ns, {"apiVersion": "batch/v1", "kind": "Job",
                                     "metadata": {"name": f"{APP}-gc-now", "labels": cj["metadata"]["labels"]},
                                     "spec": cj["spec"]["jobTemplate"]["spec"]})
    wait_until(lambda: (batch.read_namespaced_job(f"{APP}-gc-now", ns).status.succeeded or 0) >= 1, 120,
               what="the gc Job's pod to be admitted and complete")
    batch.delete_namespaced_job(f"{APP}-gc-now", ns, propagation_policy="Foreground")
    wait_until(lambda: get(cluster, "Job", ns, f"{APP}-gc-now") is None and not [
        p for p in get(cluster, "Pod", ns) if p["metadata"]["name"].startswith(f"{APP}-gc-now")], 120, what="the Job gone")
    assert [p["port"] for p in get(cluster, "Service", ns, APP)["spec"]["ports"]] == [8080]
    route = get(cluster, "Route", ns, APP)
    assert route["spec"]["to"]["name"] == APP
    assert [p["port"] for p in svc["spec"]["ports"]] == [9090]
    rerun_changes_nothing(cluster, ns, v)
    # Switched off again, by name (a run that does not set them keeps them): their objects go (the rest stays as it
    # was), and a re-run changes nothing.
    off = default_vars(ns, APP, mlflow_gc_schedule="", mlflow_metrics_enabled=False)
    r = cluster.run_playbook("deploy.yml", off)
    assert r.rc == 0, str(r)
    for kind, name in (("CronJob", f"{APP}-gc"), ("Service", f"{APP}-metrics"), ("NetworkPolicy", f"{APP}-metrics")):
        assert get(cluster, kind, ns, name) is None, f"{kind}/{name} still there with gc and metrics off"
    assert get(cluster, "Service", ns, APP) is not None and get(cluster, "Route", ns, APP) is not None
    rerun_changes_nothing(cluster, ns, off)


def test_a_servicemonitor_only_where_the_project_may_have_one(cluster, make_namespace):
    """OpenShift always serves monitoring.coreos.com; a Rahti project's admin may not manage
    ServiceMonitors until the platform binds ClusterRole monitoring-edit in the project."""
    if cluster.profile != "rahti":
        pytest.skip("the project admin's rights are the rahti profile's")
    ns = make_namespace("it-smon")
    v = default_vars(ns, APP, mlflow_metrics_enabled=True)
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0, str(r)
    assert get(cluster, "ServiceMonitor", ns) == []
    assert get(cluster, "Service", ns, f"{APP}-metrics") is not None
    line = next(s for s in summary_lines(r.stdout) if s.startswith("Metrics:"))
    assert f"no ServiceMonitor: you may not manage ServiceMonitors in {ns}" in line and "monitoring-edit" in line, line

    # The platform grants monitoring-edit: the next run adds the ServiceMonitor, and only it.
    cluster.kubectl_run("-n", ns, "create", "rolebinding", "monitoring-edit", "--clusterrole=monitoring-edit",
                        f"--serviceaccount={ns}:project-admin")
    before = cluster.snapshot(ns)
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0, str(r)
    smon = get(cluster, "ServiceMonitor", ns, APP)
    assert smon is not None, "no ServiceMonitor with monitoring-edit"
    assert set(LABEL_KEYS) <= set(smon["metadata"]["labels"]), smon["metadata"]
    svc = get(cluster, "Service", ns, f"{APP}-metrics")
    selector = smon["spec"]["selector"]["matchLabels"]
    assert selector.items() <= svc["metadata"]["labels"].items(), (selector, svc["metadata"]["labels"])
    assert [e["port"] for e in smon["spec"]["endpoints"]] == [p["name"] for p in svc["spec"]["ports"]] == ["metrics"]
    assert f"ServiceMonitor {APP}" in next(s for s in summary_lines(r.stdout) if s.startswith("Metrics:"))
    d = diff(before, cluster.snapshot(ns))
    assert d["added"] == [f"ServiceMonitor/{APP}"] and d["removed"] == [] and d["changed"] == [], d
    rerun_changes_nothing(cluster, ns, v)

    # Metrics off (named): the ServiceMonitor goes with the Service; undeploy finds nothing left of it.
    off = default_vars(ns, APP, mlflow_metrics_enabled=False)
    r = cluster.run_playbook("deploy.yml", off)
    assert r.rc == 0, str(r)
    assert get(cluster, "ServiceMonitor", ns) == [] and get(cluster, "Service", ns, f"{APP}-metrics") is None
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0 and get(cluster, "ServiceMonitor", ns, APP) is not None, str(r)
    r = cluster.run_playbook("undeploy.yml", v)
    assert r.rc == 0, str(r)
    assert get(cluster, "ServiceMonitor", ns) == []
