"""The rendered backup CronJob (golden case scheduled_backups): it fits the one Job the preflight
reserves, holds no secret on a command line, and is off by default."""

from __future__ import annotations

from pathlib import Path

import yaml

from ansible_collections.csc.mlflow.plugins.plugin_utils import pod_resources

GOLDEN = Path(__file__).parents[1] / "render" / "golden"


def _objects(case):
    return yaml.safe_load((GOLDEN / f"{case}.yml").read_text())["objects"]


def _cronjob(case):
    return [o for o in _objects(case) if o["kind"] == "CronJob"]


def test_off_by_default():
    assert _cronjob("defaults") == []
    assert "mlflow-backup" not in [o["metadata"]["name"] for o in _objects("defaults")
                                   if o["kind"] == "PersistentVolumeClaim"]


def test_the_cronjob_pod_fits_the_reserved_job():
    (cron,) = _cronjob("scheduled_backups")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    job_resources = pod["containers"][0]["resources"]
    reserve = {"containers": [{"name": "job", "resources": job_resources}]}
    usage = pod_resources.pod_usage(pod_resources.pod_containers("CronJob/mlflow-backup", pod, []), pod)
    reserved = pod_resources.pod_usage(pod_resources.pod_containers("job", reserve, []), reserve)
    assert usage == reserved
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"  # never two of them at once


def test_no_secret_on_a_command_line():
    (cron,) = _cronjob("scheduled_backups")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    for c in pod["initContainers"] + pod["containers"]:
        assert "PASSWORD" not in " ".join(c["command"]), c["name"]
        for e in c.get("env") or []:
            if "PASSWORD" in e["name"] or "SECRET" in e["name"]:
                assert "secretKeyRef" in e["valueFrom"], e


def test_the_copy_reads_its_keys_from_its_secret_only():
    (cron,) = _cronjob("backup_copy")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (backup,) = pod["containers"]
    assert backup["command"][-1] == "python /scripts/backup.py\npython /scripts/copy_backup.py\n"
    env = {e["name"]: e for e in backup["env"]}
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env["BACKUP_COPY_" + key]["valueFrom"] == {"secretKeyRef": {"name": "mlflow-backup-copy", "key": key}}
    assert env["BACKUP_COPY_ENDPOINT_URL"]["value"] == "https://a3s.fi"
    assert (env["BACKUP_COPY_PREFIX"]["value"], env["BACKUP_COPY_KEEP"]["value"]) == ("mlflow", "3")
    # the keys given in the case are nowhere in what is rendered (they reach the cluster in the Secret only)
    assert "given-copy" not in (GOLDEN / "backup_copy.yml").read_text()


def test_the_copy_script_ships_only_with_the_copy():
    def scripts(case):
        return [o["data"] for o in _objects(case) if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "mlflow-backup-scripts"]
    (with_copy,), (without,) = scripts("backup_copy"), scripts("scheduled_backups")
    assert "copy_backup.py" in with_copy and "copy_backup.py" not in without
    (cron,) = _cronjob("scheduled_backups")
    assert "copy_backup" not in cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][-1]
