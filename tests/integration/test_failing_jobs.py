"""A Job whose program exits 1 ends the run within 30 s of the Job failing and leaves the stack as it ran (issue
"Day two as a researcher lives it"): a store switch whose new keys are refused (the probe Job) stops nothing, and
a backup whose pg_dump fails says so. The failures are asked of the test cluster (tests/harness/faults.py): kwok
runs no program; tests/stack/test_store_probe.py runs the probe against real S3 servers with wrong keys, and the
Job controller retries once after its 10 s back-off, as on a real cluster. test_upgrade_fails_fast.py does the
same for an upgrade. One stack for the module: each failure must leave it as the next one finds it."""

from __future__ import annotations

import time

import pytest

from deployment import default_vars, get, job_condition, secret_values
from harness.faults import job_fails
from harness.namespaces import module_namespace

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

APP = "mlfj"
ns = module_namespace("it-fail")
ALLAS = {
    "mlflow_artifact_store": "allas",
    "mlflow_s3_endpoint_url": "https://a3s.fi",
    "mlflow_s3_bucket": "refused-artifacts",
    "mlflow_s3_access_key_id": "AKIAREFUSEDTESTKEY01",
    "mlflow_s3_secret_access_key": "refused-secret-key-for-tests-0123456789",
}


@pytest.fixture(scope="module", autouse=True)
def deployed(cluster, ns):
    assert cluster.run_playbook("deploy.yml", default_vars(ns, APP)).rc == 0


@pytest.mark.parametrize("migrate, probe", [(True, "--probe"), (False, "--probe-new")])
def test_refused_store_keys_stop_nothing(cluster, ns, migrate, probe):
    tracking = get(cluster, "Deployment", ns, APP)
    config = get(cluster, "ConfigMap", ns, f"{APP}-config")["data"]

    # migrate_artifacts.py --probe (both stores) or --probe-new (a switch without copying: the new store only)
    # exits 1 when the new store answers InvalidAccessKeyId (tests/stack/test_store_probe.py)
    with job_fails(cluster, ns, f"migrate_artifacts.py {probe}"):
        r = cluster.run_playbook("configure_artifact_store.yml", {
            "mlflow_namespace": ns, "mlflow_app_name": APP, "mlflow_artifact_migrate": migrate, **ALLAS})
        ended = time.time()
    assert r.rc != 0, str(r)
    assert "Trying the keys of s3://refused-artifacts" in r.stdout and "-probe" in r.stdout, r.stdout[-3000:]
    assert ended - job_condition(cluster, ns, "-probe", "Failed") < 30
    assert ALLAS["mlflow_s3_secret_access_key"] not in r.stdout + r.stderr

    # never stopped (a scale to 0 and back would have moved the generation), still on its store
    after = get(cluster, "Deployment", ns, APP)
    assert after["metadata"]["generation"] == tracking["metadata"]["generation"]
    assert after["spec"]["replicas"] == tracking["spec"]["replicas"]
    assert get(cluster, "ConfigMap", ns, f"{APP}-config")["data"] == config
    assert ALLAS["mlflow_s3_access_key_id"] not in secret_values(get(cluster, "Secret", ns, f"{APP}-s3")).values()
    assert not [s for s in get(cluster, "Secret", ns) if "migrate" in s["metadata"]["name"]]  # the keys' Secret is gone
    assert not [j for j in get(cluster, "Job", ns) if "-s3mig-" in j["metadata"]["name"]
                and not j["metadata"]["name"].endswith("-probe")]  # no copy started


def test_a_failed_backup_now_says_so(cluster, ns):
    tracking = get(cluster, "Deployment", ns, APP)

    with job_fails(cluster, ns, "pg_dump"):
        r = cluster.run_playbook("backup.yml", {"mlflow_namespace": ns, "mlflow_app_name": APP})
        ended = time.time()
    assert r.rc != 0, str(r)
    assert f"{APP}-bkp-" in r.stdout and "BackoffLimitExceeded" in r.stdout, r.stdout[-3000:]
    assert "Restore it" not in r.stdout
    assert ended - job_condition(cluster, ns, "-bkp-", "Failed") < 30
    assert get(cluster, "Deployment", ns, APP)["metadata"]["generation"] == tracking["metadata"]["generation"]
