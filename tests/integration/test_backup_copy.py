"""The copy of each backup to a bucket outside the cluster (issue 25, mlflow_tracking_backup_copy_*), on the test
cluster: deploy.yml keeps the bucket's keys in Secret <app>-backup-copy and the CronJob reads them from it only;
playbooks/backup.yml with no copy variables keeps the recorded copy settings and the kept keys (the re-run rule);
new keys replace the old; no key is in a Job, a CronJob, a ConfigMap or the playbooks' output; bad input is refused
before anything changes; a copy that fails fails backup.yml. kwok runs no container (a failure is asked of it:
harness.faults): tests/stack/test_stack_backup_copy.py runs the copy for real."""

from __future__ import annotations

import json

import pytest

from deployment import contract_problems, default_vars, get, rerun_changes_nothing, secret_values
from harness.faults import job_fails

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

APP = "mlcp"
KEY_ID = "copy-key-id-7c1e90"
SECRET = "copy-secret-9f3b2d51a0c4e8"
COPY = {"mlflow_tracking_backup_copy_endpoint": "https://a3s.fi", "mlflow_tracking_backup_copy_bucket": "my-backups"}


def _copy_env(pod):
    (backup,) = pod["containers"]
    return {e["name"]: e for e in backup["env"] if e["name"].startswith("BACKUP_COPY_")}, backup["command"][-1]


def _no_secret_in(cluster, ns, *outputs):
    for text in outputs:
        assert SECRET not in text and KEY_ID not in text
    for kind in ("Job", "CronJob", "ConfigMap"):
        assert SECRET not in json.dumps(get(cluster, kind, ns)), kind


def test_backup_copy_keys_kept_in_their_secret(cluster, namespace):
    ns = namespace
    keys = {"mlflow_tracking_backup_copy_access_key_id": KEY_ID, "mlflow_tracking_backup_copy_secret_access_key": SECRET}
    r = cluster.run_playbook("deploy.yml", default_vars(ns, APP, mlflow_backup_schedule="30 2 * * *",
                                                        mlflow_tracking_backup_copy_keep=3, **COPY, **keys))
    assert r.rc == 0, str(r)
    assert secret_values(get(cluster, "Secret", ns, f"{APP}-backup-copy")) == {
        "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
    cron = get(cluster, "CronJob", ns, f"{APP}-backup")
    env, script = _copy_env(cron["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    assert script.endswith("python /scripts/copy_backup.py\n")
    assert env["BACKUP_COPY_AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{APP}-backup-copy", "key": "AWS_SECRET_ACCESS_KEY"}
    assert (env["BACKUP_COPY_PREFIX"]["value"], env["BACKUP_COPY_KEEP"]["value"]) == (APP, "3")
    assert "copy_backup.py" in get(cluster, "ConfigMap", ns, f"{APP}-backup-scripts")["data"]
    assert contract_problems(cluster, ns) == []
    _no_secret_in(cluster, ns, r.stdout, r.stderr)

    # backup.yml naming nothing of the copy: the recorded settings and the kept keys
    r = cluster.run_playbook("backup.yml", {"mlflow_namespace": ns, "mlflow_app_name": APP})
    assert r.rc == 0, str(r)
    (job,) = [j for j in get(cluster, "Job", ns) if j["metadata"]["name"].startswith(f"{APP}-bkp-")]
    pod = job["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["dump"]
    env, script = _copy_env(pod)
    assert script.endswith("python /scripts/copy_backup.py\n") and env["BACKUP_COPY_BUCKET"]["value"] == "my-backups"
    assert env["BACKUP_COPY_AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]["name"] == f"{APP}-backup-copy"
    assert job["status"].get("succeeded") == 1
    assert secret_values(get(cluster, "Secret", ns, f"{APP}-backup-copy"))["AWS_SECRET_ACCESS_KEY"] == SECRET
    assert "Copied outside the cluster" in r.stdout, r.stdout[-2000:]
    _no_secret_in(cluster, ns, r.stdout, r.stderr)

    # bad input is refused before anything changes, without naming the key given
    jobs = len(get(cluster, "Job", ns))
    r = cluster.run_playbook("backup.yml", {"mlflow_namespace": ns, "mlflow_app_name": APP,
                                            "mlflow_tracking_backup_copy_endpoint": "http://a3s.fi",
                                            "mlflow_tracking_backup_copy_secret_access_key": "half-a-" + SECRET})
    assert r.rc != 0
    assert "mlflow_tracking_backup_copy_endpoint" in r.stdout and "go together" in r.stdout, r.stdout[-2000:]
    assert "half-a-" not in r.stdout + r.stderr
    assert len(get(cluster, "Job", ns)) == jobs
    assert secret_values(get(cluster, "Secret", ns, f"{APP}-backup-copy"))["AWS_SECRET_ACCESS_KEY"] == SECRET

    # new keys replace the old ones; a re-run of deploy.yml without them keeps them
    r = cluster.run_playbook("backup.yml", {"mlflow_namespace": ns, "mlflow_app_name": APP,
                                            "mlflow_tracking_backup_copy_access_key_id": KEY_ID + "-2",
                                            "mlflow_tracking_backup_copy_secret_access_key": SECRET + "-2"})
    assert r.rc == 0, str(r)
    assert secret_values(get(cluster, "Secret", ns, f"{APP}-backup-copy")) == {
        "AWS_ACCESS_KEY_ID": KEY_ID + "-2", "AWS_SECRET_ACCESS_KEY": SECRET + "-2"}
    _no_secret_in(cluster, ns, r.stdout, r.stderr)
    r = cluster.run_playbook("deploy.yml", default_vars(ns, APP))
    assert r.rc == 0, str(r)
    assert secret_values(get(cluster, "Secret", ns, f"{APP}-backup-copy"))["AWS_SECRET_ACCESS_KEY"] == SECRET + "-2"
    env, _script = _copy_env(get(cluster, "CronJob", ns, f"{APP}-backup")["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    assert env["BACKUP_COPY_ENDPOINT_URL"]["value"] == "https://a3s.fi"
    # with the copy on, a re-run with the same variables changes nothing (the Secret is applied only when it differs)
    rerun_changes_nothing(cluster, ns, default_vars(ns, APP))


def test_a_failed_copy_fails_backup_now(cluster, namespace):
    ns = namespace
    keys = {"mlflow_tracking_backup_copy_access_key_id": KEY_ID, "mlflow_tracking_backup_copy_secret_access_key": SECRET}
    assert cluster.run_playbook("deploy.yml", default_vars(ns, APP)).rc == 0
    with job_fails(cluster, ns, "copy_backup.py"):
        r = cluster.run_playbook("backup.yml", {"mlflow_namespace": ns, "mlflow_app_name": APP, **COPY, **keys})
    assert r.rc != 0, str(r)
    assert f"{APP}-bkp-" in r.stdout and "BackoffLimitExceeded" in r.stdout, r.stdout[-3000:]
    assert "Restore it" not in r.stdout
    _no_secret_in(cluster, ns, r.stdout, r.stderr)
