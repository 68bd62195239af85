"""playbooks/backup.yml on a stack deployed without mlflow_backup_schedule: it creates the backup volume and
scripts, runs one Job whose pod is the one the schedule would run, says how to restore it, and changes nothing
else (tests/stack/test_stack_backup.py runs such a Job's pod for real)."""

from __future__ import annotations

import pytest

from deployment import default_vars, get

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

APP = "mlbk"


def test_a_backup_now_without_a_schedule(cluster, namespace):
    ns = namespace
    assert cluster.run_playbook("deploy.yml", default_vars(ns, APP)).rc == 0
    assert get(cluster, "CronJob", ns) == [] and get(cluster, "PersistentVolumeClaim", ns, f"{APP}-backup") is None
    before = cluster.snapshot(ns)

    r = cluster.run_playbook("backup.yml", {"mlflow_namespace": ns, "mlflow_app_name": APP})
    assert r.rc == 0, str(r)
    (job,) = [j for j in get(cluster, "Job", ns) if j["metadata"]["name"].startswith(f"{APP}-bkp-")]
    pod = job["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["dump"] and pod["containers"][0]["name"] == "backup"
    assert job["status"].get("succeeded") == 1
    assert get(cluster, "PersistentVolumeClaim", ns, f"{APP}-backup") is not None
    assert get(cluster, "ConfigMap", ns, f"{APP}-backup-scripts") is not None
    assert "Restore it: ansible-playbook playbooks/restore.yml" in r.stdout, r.stdout[-2000:]

    # the deploy's objects are as they were: only the backup's own were added
    after = cluster.snapshot(ns)
    changed = sorted(k for k in before if k in after and before[k] != after[k])
    assert changed == [], changed
