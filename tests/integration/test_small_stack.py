"""The small stack (mlflow_stack_size=small) on a namespace of the `rahti` profile: the tracking pod alone, runs in
SQLite and artifacts on PVC <app>-data. Deploy, re-run changed=0, Models on/off, undeploy (the volume kept), and
every refusal before anything changes: more replicas, an autoscaler, an external database, another artifact store,
a size change outside grow.yml. It fits a quarter of a default CSC project with Models off. grow.yml:
test_grow.py."""

from __future__ import annotations

import pytest

from deployment import contract_problems, default_vars, get, rerun_changes_nothing

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

APP = "sm"
# A default CSC project's quota (docs/USER_GUIDE.md "Rahti quotas and sizing"), a quarter of it.
QUARTER = {"cpu": 1.0, "memory": 4 * 2**30, "ephemeral-storage": 1.25 * 2**30}


@pytest.fixture(scope="module")
def ns(cluster):
    name = cluster.fresh_namespace("it-small", profile="rahti")
    yield name
    cluster.delete_namespace(name)


def small_vars(ns: str, **extra) -> dict:
    return default_vars(ns, APP, mlflow_stack_size="small", **extra)


SUFFIXES = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "": 1}


def parse_quantity(value) -> float:
    text = str(value)
    suffix = next(s for s in ("Ki", "Mi", "Gi", "m", "") if text.endswith(s))
    return float(text[: len(text) - len(suffix)]) * SUFFIXES[suffix]


def pod_limits(deployment: dict) -> dict[str, float]:
    """The pod's limits as the quota counts them: the sum of its containers, or its largest init container."""
    spec = deployment["spec"]["template"]["spec"]
    total: dict[str, float] = {}
    for c in spec["containers"]:
        for k, v in c["resources"].get("limits", {}).items():
            total[k] = total.get(k, 0) + parse_quantity(v)
    for c in spec.get("initContainers") or []:
        for k, v in c["resources"].get("limits", {}).items():
            total[k] = max(total.get(k, 0), parse_quantity(v))
    return total


def test_small_stack_lifecycle(cluster, ns):
    v = small_vars(ns)
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0, str(r)
    assert contract_problems(cluster, ns) == []
    deployments = {d["metadata"]["name"]: d for d in get(cluster, "Deployment", ns)}
    assert set(deployments) == {APP, f"{APP}-models"}, sorted(deployments)
    assert deployments[f"{APP}-models"]["spec"]["replicas"] == 0
    tracking = deployments[APP]
    assert tracking["spec"]["replicas"] == 1 and tracking["spec"]["strategy"] == {"type": "Recreate"}
    pod = tracking["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["prepare-database"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": f"{APP}-data"}} in pod["volumes"]
    mlflow = next(c for c in pod["containers"] if c["name"] == "mlflow")
    env = {e["name"]: e.get("value") for e in mlflow["env"]}
    assert env["MLFLOW_BACKEND_STORE_URI"] == "sqlite:////mlflow/mlflow.db" and env["TMPDIR"] == "/mlflow/tmp"
    assert "AWS_ACCESS_KEY_ID" not in env
    config = get(cluster, "ConfigMap", ns, f"{APP}-config")["data"]
    assert config["ARTIFACT_STORE"] == "pvc" and config["MLFLOW_ARTIFACTS_DESTINATION"] == "/mlflow/artifacts"
    claims = {c["metadata"]["name"] for c in get(cluster, "PersistentVolumeClaim", ns)}
    assert claims == {f"{APP}-data"}, claims
    secrets = {s["metadata"]["name"] for s in get(cluster, "Secret", ns) if s["metadata"]["name"].startswith(APP)}
    assert not secrets & {f"{APP}-postgresql", f"{APP}-s3", f"{APP}-versitygw", f"{APP}-versitygw-client"}, secrets
    # every pod of the stack has a NetworkPolicy; the Route is the tracking pod's only way in
    policies = {p["metadata"]["name"] for p in get(cluster, "NetworkPolicy", ns)}
    assert {APP, f"{APP}-models", f"{APP}-deny-ingress"} <= policies, policies
    assert {rt["metadata"]["name"] for rt in get(cluster, "Route", ns)} == {APP, f"{APP}-models"}
    limits = pod_limits(tracking)
    for resource, quarter in QUARTER.items():
        assert limits[resource] <= quarter, (resource, limits)
    out = " ".join(r.stdout.split())
    assert f"export MLFLOW_TRACKING_URI=https://{APP}-{ns}." in out, out[-3000:]
    assert "grow.yml" in out, out[-3000:]

    rerun_changes_nothing(cluster, ns, v)

    r = cluster.run_playbook("enable_models.yml", {**v, "models_uri": "models:/iris/1"})
    assert r.rc == 0, str(r)
    assert get(cluster, "Deployment", ns, f"{APP}-models")["spec"]["replicas"] == 1
    r = cluster.run_playbook("disable_models.yml", v)
    assert r.rc == 0, str(r)
    assert get(cluster, "Deployment", ns, f"{APP}-models")["spec"]["replicas"] == 0

    # a re-run without mlflow_stack_size keeps the small stack (the recorded setting)
    r = cluster.run_playbook("deploy.yml", default_vars(ns, APP))
    assert r.rc == 0 and r.changed == 0, str(r)


def need_deployed(cluster, ns):
    """The small stack, deployed by test_small_stack_lifecycle when the file runs whole, else here."""
    if not get(cluster, "Deployment", ns):
        r = cluster.run_playbook("deploy.yml", small_vars(ns))
        assert r.rc == 0, str(r)


@pytest.mark.parametrize("playbook,extra,needle", [
    ("deploy.yml", {"mlflow_tracking_replicas": 2}, "mlflow_tracking_replicas must be 1, not '2'"),
    ("deploy.yml", {"mlflow_tracking_autoscale_max_replicas": 3}, "mlflow_tracking_autoscale_max_replicas must be 0"),
    ("deploy.yml", {"mlflow_database_uri": "postgresql://u:secret-db-pw@db.example.org/mlflow"},
     "it takes no mlflow_database_uri"),
    ("deploy.yml", {"mlflow_stack_size": "full"}, "playbooks/grow.yml"),
    ("deploy.yml", {"mlflow_artifact_mode": "direct"}, "direct artifact mode needs an S3 store"),
    ("rotate_store_key.yml", {}, "no signing key to rotate"),
    ("configure_artifact_store.yml", {"mlflow_artifact_store": "versitygw"}, "grow the stack first"),
])
def test_small_stack_refusals_change_nothing(cluster, ns, playbook, extra, needle):
    need_deployed(cluster, ns)
    before = cluster.snapshot(ns)
    r = cluster.run_playbook(playbook, {**default_vars(ns, APP), **extra})
    assert r.rc != 0, str(r)
    assert needle in " ".join(r.stdout.split()), str(r)
    assert "secret-db-pw" not in r.stdout + r.stderr
    assert cluster.snapshot(ns) == before


def test_rotate_kek_on_a_small_stack_mounts_its_volume(cluster, ns):
    """The KEK rotation's Job opens the SQLite file: it mounts the volume (the tracking pod is stopped)."""
    need_deployed(cluster, ns)
    r = cluster.run_playbook("rotate_kek.yml", default_vars(ns, APP))
    assert r.rc == 0, str(r)
    jobs = [j for j in get(cluster, "Job", ns) if "kek" in j["metadata"]["name"]]
    assert jobs, [j["metadata"]["name"] for j in get(cluster, "Job", ns)]
    pod = jobs[-1]["spec"]["template"]["spec"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": f"{APP}-data"}} in pod["volumes"]
    assert {"name": "data", "mountPath": "/mlflow"} in pod["containers"][0]["volumeMounts"]
    assert get(cluster, "Deployment", ns, APP)["spec"]["replicas"] == 1


def test_undeploy_keeps_the_small_stacks_volume(cluster, ns):
    need_deployed(cluster, ns)
    r = cluster.run_playbook("undeploy.yml", default_vars(ns, APP))
    assert r.rc == 0, str(r)
    assert not get(cluster, "Deployment", ns)
    assert {c["metadata"]["name"] for c in get(cluster, "PersistentVolumeClaim", ns)} == {f"{APP}-data"}
    # deployed again: the same volume, the same users
    r = cluster.run_playbook("deploy.yml", default_vars(ns, APP))
    assert r.rc == 0, str(r)
    assert get(cluster, "ConfigMap", ns, f"{APP}-config")["data"]["ARTIFACT_STORE"] == "pvc"
