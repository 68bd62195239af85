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


def _pod(cron):
    return cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_the_small_stacks_backup_and_gc_mount_its_volume_on_the_tracking_pods_node():
    """No dump container, no store: backup.py copies the SQLite database with the online backup API and lists the
    volume's artifacts; gc opens the database. Both mount PVC <app>-data (ReadWriteOnce) beside the tracking pod."""
    crons = {c["metadata"]["name"]: _pod(c) for c in _cronjob("small_stack")}
    affinity = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname",
         "labelSelector": {"matchLabels": {"app.kubernetes.io/instance": "mlflow", "app.kubernetes.io/component": "tracking"}}}]}}
    for name in ("mlflow-backup", "mlflow-gc"):
        pod = crons[name]
        assert pod["affinity"] == affinity, name
        assert {"name": "data", "persistentVolumeClaim": {"claimName": "mlflow-data"}} in pod["volumes"], name
        (container,) = pod["containers"]
        assert {"name": "data", "mountPath": "/mlflow"} in container["volumeMounts"], name
        env = {e["name"]: e for e in container["env"]}
        assert env["MLFLOW_BACKEND_STORE_URI"] == {"name": "MLFLOW_BACKEND_STORE_URI", "value": "sqlite:////mlflow/mlflow.db"}
        refs = [e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e]
        assert "mlflow-s3" not in refs and "mlflow-postgresql" not in refs, (name, refs)
    backup = crons["mlflow-backup"]
    assert not backup.get("initContainers")
    env = {e["name"]: e.get("value") for e in backup["containers"][0]["env"]}
    assert env["ARTIFACTS_DIR"] == "/mlflow/artifacts" and env["BACKUP_DIR"] == "/backup/scheduled"
    assert backup["containers"][0]["envFrom"] == []
    # one container: the Job the preflight reserves
    reserve = {"containers": [{"name": "job", "resources": backup["containers"][0]["resources"]}]}
    usage = pod_resources.pod_usage(pod_resources.pod_containers("CronJob/mlflow-backup", backup, []), backup)
    assert usage == pod_resources.pod_usage(pod_resources.pod_containers("job", reserve, []), reserve)


def test_the_full_stacks_backup_keeps_its_dump_and_no_affinity():
    pod = _pod(_cronjob("scheduled_backups")[0])
    assert [c["name"] for c in pod["initContainers"]] == ["dump"] and "affinity" not in pod
    assert "data" not in [v["name"] for v in pod["volumes"]]
