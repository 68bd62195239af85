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
