"""configure_artifact_store.yml given only the store settings, as the AWX job template runs it
(no inventory, credentials from K8S_AUTH_*, survey answers for the store only): the stack keeps
what deploy.yml configured (users, whitelist, sizes, workers); only the artifact store changes."""

from __future__ import annotations

import json

import pytest

from deployment import WHITELIST_ANNOTATION, default_vars, get, secret_values

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

APP = "mlflow"  # the default: an AWX survey for the store does not ask for it

DEPLOY_EXTRA = {
    "mlflow_route_whitelist": ["203.0.113.0/24", "198.51.100.9"],
    "mlflow_workers": 3,
    "mlflow_versitygw_storage_size": "3Gi",
    # Within Rahti's LimitRange (CPU limit at most 5x the request).
    "mlflow_tracking_resources": {"requests": {"cpu": "250m", "memory": "700Mi"},
                                  "limits": {"cpu": "1", "memory": "1536Mi"}},
}

ALLAS_ONLY = {
    "mlflow_artifact_store": "allas",
    "mlflow_s3_endpoint_url": "https://a3s.fi",
    "mlflow_s3_bucket": "kept-artifacts",
    "mlflow_s3_access_key_id": "AKIAKEEPTESTKEY0001",
    "mlflow_s3_secret_access_key": "keep-secret-key-for-tests-0123456789",
    # kwok runs no containers: nothing to copy.
    "mlflow_artifact_migrate": False,
}


def kept(cluster, ns):
    """What configuring the store must not touch."""
    secrets = {n: secret_values(get(cluster, "Secret", ns, f"{APP}-{n}")) for n in ("users", "htpasswd")}
    route = get(cluster, "Route", ns, APP)
    pvcs = {p["metadata"]["name"]: p["spec"]["resources"] for p in get(cluster, "PersistentVolumeClaim", ns)}
    cfg = get(cluster, "ConfigMap", ns, f"{APP}-config")["data"]
    tracking = get(cluster, "Deployment", ns, APP)["spec"]["template"]["spec"]["containers"]
    return {
        "secrets": secrets,
        "whitelist": route["metadata"]["annotations"].get(WHITELIST_ANNOTATION),
        "pvcs": pvcs,
        "workers": cfg["MLFLOW_WORKERS"],
        "resources": {c["name"]: c.get("resources") for c in tracking},
    }


def store(cluster, ns):
    return get(cluster, "ConfigMap", ns, f"{APP}-config")["data"]


def test_store_only_run_keeps_the_deployed_settings(cluster, namespace):
    ns = namespace
    v = default_vars(ns, APP, **DEPLOY_EXTRA)
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0, str(r)
    before = kept(cluster, ns)
    assert set(before["secrets"]["users"]) == {"alice", "bob"}
    assert set(before["whitelist"].split()) == {"203.0.113.0/24", "198.51.100.9"}
    assert before["workers"] == "3"

    awx = {"env": cluster.auth_env(), "inventory": None}
    r = cluster.run_playbook("configure_artifact_store.yml", {"mlflow_namespace": ns, **ALLAS_ONLY}, **awx)
    assert r.rc == 0, str(r)
    assert ALLAS_ONLY["mlflow_s3_secret_access_key"] not in r.stdout + r.stderr
    cfg = store(cluster, ns)
    assert cfg["ARTIFACT_STORE"] == "allas" and cfg["S3_BUCKET"] == "kept-artifacts", cfg
    assert cfg["MLFLOW_S3_ENDPOINT_URL"] == "https://a3s.fi", cfg
    s3 = secret_values(get(cluster, "Secret", ns, f"{APP}-s3"))
    assert ALLAS_ONLY["mlflow_s3_access_key_id"] in s3.values()
    assert kept(cluster, ns) == before
    # the recorded settings carry no secret
    note = json.dumps(get(cluster, "ConfigMap", ns, f"{APP}-config")["metadata"]["annotations"])
    assert "alice-Passw0rd-123" not in note and ALLAS_ONLY["mlflow_s3_secret_access_key"] not in note

    # deploy.yml with its own variables again: nothing to do (the store is kept)
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0 and r.recap.get("changed") == 0, str(r)

    # back to the in-cluster store, again with the store settings only
    r = cluster.run_playbook("configure_artifact_store.yml",
                             {"mlflow_namespace": ns, "mlflow_artifact_store": "versitygw",
                              "mlflow_artifact_migrate": False}, **awx)
    assert r.rc == 0, str(r)
    cfg = store(cluster, ns)
    assert cfg["ARTIFACT_STORE"] == "versitygw" and "a3s.fi" not in json.dumps(cfg), cfg
    assert kept(cluster, ns) == before
    r = cluster.run_playbook("deploy.yml", v)
    assert r.rc == 0 and r.recap.get("changed") == 0, str(r)


def test_extra_vars_still_win(cluster, namespace):
    """A variable given to configure_artifact_store.yml overrides the recorded one."""
    ns = namespace
    r = cluster.run_playbook("deploy.yml", default_vars(ns, APP, **DEPLOY_EXTRA))
    assert r.rc == 0, str(r)
    r = cluster.run_playbook("configure_artifact_store.yml",
                             {"mlflow_namespace": ns, **ALLAS_ONLY, "mlflow_workers": 4},
                             env=cluster.auth_env(), inventory=None)
    assert r.rc == 0, str(r)
    assert store(cluster, ns)["MLFLOW_WORKERS"] == "4"
    assert set(secret_values(get(cluster, "Secret", ns, f"{APP}-users"))) == {"alice", "bob"}
