"""An upgrade that cannot go through stops nothing, or puts back what it stopped (issue: "Day two as a researcher
lives it"). The test cluster refuses to run an image that has no record (tests/cluster/contracts.py: the pod waits
in ImagePullBackOff, as a registry without the tag leaves it), and csc.mlflow.rollout_wait fails a Job whose pod
cannot pull within seconds, so both runs end long before mlflow_job_deadline. A program that runs and exits 1 (an
image that says another version, a schema migration that fails) is asked of the test cluster
(tests/harness/faults.py): the run ends within 30 s of the Job's failure (the Job controller retries once, after
its 10 s back-off, as on a real cluster)."""

from __future__ import annotations

import time

import pytest

from deployment import default_vars, get, job_condition
from harness.faults import job_fails
from harness.paths import DEFAULT_MLFLOW_VERSION

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

APP = "mlff"
OLD = "2.22.5"  # tests/cluster/test-images.yml: example.test/mlflow:2.22.5
VERSION_ANNOTATION = "csc.mlflow/mlflow-version"


def tracking(cluster, ns):
    """(replicas, MLflow version, containers) of the tracking Deployment."""
    d = get(cluster, "Deployment", ns, APP)
    return d["spec"]["replicas"], d["metadata"]["annotations"][VERSION_ANNOTATION], d["spec"]["template"]["spec"]["containers"]


def jobs(cluster, ns, part):
    return [j["metadata"]["name"] for j in get(cluster, "Job", ns) if part in j["metadata"]["name"]]


def deploy_old(cluster, ns) -> dict:
    """Deploy MLflow OLD (a user's own recorded image; below the version floor, on purpose); its variables."""
    old = default_vars(ns, APP, mlflow_version=OLD, mlflow_image=f"example.test/mlflow:{OLD}",
                       mlflow_allow_insecure_version=True)
    assert cluster.run_playbook("deploy.yml", old).rc == 0
    return old


def test_a_new_image_that_does_not_run_stops_nothing(cluster, namespace):
    ns = namespace
    assert cluster.run_playbook("deploy.yml", default_vars(ns, APP)).rc == 0
    replicas, version = tracking(cluster, ns)[:2]

    r = cluster.run_playbook("deploy.yml", default_vars(ns, APP, mlflow_version="3.99.0"))
    assert r.rc != 0, str(r)
    assert jobs(cluster, ns, "-img-") and "ImagePullBackOff" in r.stdout, r.stdout[-3000:]
    assert tracking(cluster, ns)[:2] == (replicas, version)  # never stopped
    assert not jobs(cluster, ns, "-bk-") and not jobs(cluster, ns, "-dbup-")
    assert r.seconds < 300, r.seconds  # not the hour of mlflow_job_deadline


def test_a_failed_backup_starts_the_previous_version_again(cluster, namespace):
    ns = namespace
    old = deploy_old(cluster, ns)
    containers_before = tracking(cluster, ns)[2]

    # the new version's image runs; the backup's does not: the writers were stopped for it
    r = cluster.run_playbook("deploy.yml", default_vars(
        ns, APP, mlflow_version=DEFAULT_MLFLOW_VERSION, mlflow_image=f"ghcr.io/mlflow/mlflow:v{DEFAULT_MLFLOW_VERSION}-full",
        mlflow_backup_image="example.test/missing:1"))
    assert r.rc != 0, str(r)
    assert f"MLflow {OLD} runs again" in r.stdout, r.stdout[-3000:]
    replicas, version, containers = tracking(cluster, ns)
    assert (replicas, version) == (1, OLD) and containers == containers_before
    assert jobs(cluster, ns, "-bk-") and not jobs(cluster, ns, "-dbup-")
    assert r.seconds < 300, r.seconds


def test_an_image_of_another_version_stops_nothing(cluster, namespace):
    ns = namespace
    old = deploy_old(cluster, ns)
    before = tracking(cluster, ns)

    # a new version asked for, the old image kept: in it `mlflow --version` says 2.22.5 and the image check's
    # `case` exits 1 (upgrade_jobs.yaml.j2)
    with job_fails(cluster, ns, "mlflow --version"):
        r = cluster.run_playbook("deploy.yml", {**old, "mlflow_version": DEFAULT_MLFLOW_VERSION})
        ended = time.time()
    assert r.rc != 0, str(r)
    assert "-img-" in r.stdout and "BackoffLimitExceeded" in r.stdout, r.stdout[-3000:]
    assert ended - job_condition(cluster, ns, "-img-", "Failed") < 30
    assert tracking(cluster, ns) == before
    assert not jobs(cluster, ns, "-bk-") and not jobs(cluster, ns, "-dbup-")


def test_a_failed_schema_migration_starts_the_previous_version_again(cluster, namespace):
    ns = namespace
    old = deploy_old(cluster, ns)
    before = tracking(cluster, ns)

    with job_fails(cluster, ns, "mlflow db upgrade"):
        r = cluster.run_playbook("deploy.yml", default_vars(
            ns, APP, mlflow_version=DEFAULT_MLFLOW_VERSION, mlflow_image=f"ghcr.io/mlflow/mlflow:v{DEFAULT_MLFLOW_VERSION}-full"))
        ended = time.time()
    assert r.rc != 0, str(r)
    assert f"The upgrade of MLflow {OLD} to {DEFAULT_MLFLOW_VERSION} failed" in r.stdout, r.stdout[-3000:]
    assert f"MLflow {OLD} runs again" in r.stdout and "-dbup-" in r.stdout, r.stdout[-3000:]
    assert ended - job_condition(cluster, ns, "-dbup-", "Failed") < 30
    assert job_condition(cluster, ns, "-img-", "Complete") and job_condition(cluster, ns, "-bk-", "Complete")  # the backup taken first stays
    assert tracking(cluster, ns) == before  # replicas, version and containers as before
