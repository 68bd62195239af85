"""The playbooks with credentials only from K8S_AUTH_* (as AWX injects them):
no kubeconfig, no inventory; and bad input into an empty namespace changes nothing."""

from __future__ import annotations

import pytest

from deployment import default_vars, deployment_ready, get, wait_until

pytestmark = [pytest.mark.cluster]

APP = "mla"


@pytest.mark.slow
def test_deploy_and_undeploy_with_bearer_token_only(cluster, namespace):
    ns = namespace
    v = default_vars(ns, APP)
    env = cluster.auth_env(verify_ssl=True)
    r = cluster.run_playbook("deploy.yml", v, env=env, inventory=None)
    assert r.rc == 0, str(r)
    assert cluster.token not in r.stdout + r.stderr
    for name in (APP, f"{APP}-postgresql", f"{APP}-versitygw"):
        wait_until(lambda: deployment_ready(cluster, ns, name), 60, what=f"{name} ready")
    # the same, no-op, with TLS verification off
    r2 = cluster.run_playbook("deploy.yml", v, env=cluster.auth_env(verify_ssl=False), inventory=None)
    assert r2.rc == 0 and r2.recap.get("changed") == 0, str(r2)
    r3 = cluster.run_playbook("undeploy.yml", {**v, "mlflow_purge": True}, env=env, inventory=None)
    assert r3.rc == 0, str(r3)
    assert get(cluster, "Deployment", ns) == []
    assert get(cluster, "PersistentVolumeClaim", ns) == [] or all(
        p["metadata"].get("deletionTimestamp") for p in get(cluster, "PersistentVolumeClaim", ns))


def test_namespace_is_required_without_kubeconfig(cluster, namespace):
    v = default_vars(namespace, APP)
    v.pop("mlflow_namespace")
    before = cluster.snapshot(namespace)
    r = cluster.run_playbook("deploy.yml", v, env=cluster.auth_env(), inventory=None)
    assert r.rc != 0, str(r)
    assert cluster.snapshot(namespace) == before
    assert get(cluster, "Deployment", "default") == []


def test_wrong_token_fails_cleanly(cluster, namespace):
    env = cluster.auth_env()
    env["K8S_AUTH_API_KEY"] = "not-a-valid-token"
    r = cluster.run_playbook("deploy.yml", default_vars(namespace, APP), env=env, inventory=None)
    assert r.rc != 0, str(r)
    assert "Traceback" not in r.stdout, str(r)
    assert get(cluster, "Deployment", namespace) == []


@pytest.mark.parametrize(
    "override",
    [{"mlflow_app_name": "1mlflow"}, {"mlflow_app_name": "ml.flow"}, {"mlflow_route_whitelist": ["300.1.1.1"]}],
    ids=["app-name-digit-first", "app-name-dot", "bad-ipv4"],
)
def test_bad_input_into_empty_namespace_creates_nothing(cluster, namespace, override):
    before = cluster.snapshot(namespace)
    r = cluster.run_playbook("deploy.yml", {**default_vars(namespace, APP), **override})
    assert r.rc != 0, str(r)
    assert cluster.snapshot(namespace) == before
