"""The stack suite's playbook runs against the test cluster: `deploy()` runs
playbooks/deploy.yml and keeps the settings it printed (`Deployment`)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class Deployment:
    """One deploy.yml run: its namespace, app name and variables, what it printed."""

    namespace: str
    app: str
    extra_vars: dict
    printed: dict            # NAME=value lines the playbook printed (export lines)
    stdout: str


EXPORT_RE = re.compile(r"(?:export\s+)?(MLFLOW_[A-Z_]+|AWS_[A-Z_]+)=([^\s\"'\\]+)")


def playbook(cluster, name: str, extra_vars: dict):
    """cluster.run_playbook with the cluster's own kubeconfig also for inventories/local."""
    return cluster.run_playbook(name, extra_vars=extra_vars, env={"K8S_AUTH_KUBECONFIG": cluster.kubeconfig})


def deploy(cluster, namespace: str, **extra) -> Deployment:
    extra_vars = {"mlflow_namespace": namespace, "mlflow_route_allow_all": True, "mlflow_wait_timeout": 300, **extra}
    r = playbook(cluster, "deploy.yml", extra_vars)
    assert r.rc == 0, str(r)
    printed = dict(EXPORT_RE.findall(r.stdout))
    return Deployment(namespace, extra_vars.get("mlflow_app_name", "mlflow"), extra_vars, printed, r.stdout)
