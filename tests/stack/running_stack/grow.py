"""playbooks/grow.yml's pods, run here (kwok runs none): what the cluster would do between the play's steps.

The play stops the small stack's tracking pod (replicas 0), applies PostgreSQL and the Versity S3 gateway (their
Deployments, the gateway's user Job) and the ConfigMap <app>-grow, runs Job <app>-grow-<stamp>, deletes the
ConfigMap (always), then applies the full stack. Here, as a kubelet would follow the play: `stop_tracking`,
`when_created` (the grow Job, once the play has created it), `start_grow_services` (PostgreSQL and the gateway from
their deployed pods, the gateway's user Job), `run_grow_job` (the Job's pod as deployed; its ConfigMap from the
repository's files if the play has deleted it already), `start_tracking` (the tracking pod as deployed now: its init
containers, MLflow, NGINX). `GrowDeployed` lets those files stand in for the ConfigMap; `data_files` fingerprints a
volume."""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import Future
from pathlib import Path

from .deployed import Deployed, run_pod
from .stack import Stack
from .tools import REPO

SCRIPTS = REPO / "roles" / "mlflow_tracking" / "files"
GROW_SCRIPTS = ("migrate_artifacts.py", "grow_database.py")


class GrowDeployed(Deployed):
    """`Deployed` whose ConfigMaps can be stood in for: `stand_ins`, ConfigMaps read from here instead of the cluster
    (run_grow_job). A namespace a failed grow left (its Routes applied first, Route <app>-presigned without its
    Service) is read as `Deployed` reads it: `routes()` leaves such a Route out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stand_ins: dict[str, dict[str, str]] = {}

    def configmap(self, name: str) -> dict[str, str]:
        if name in self.stand_ins:
            return self.stand_ins[name]
        return super().configmap(name)


def stop_tracking(stack: Stack) -> None:
    """The tracking pod at 0 replicas: its NGINX and MLflow stop."""
    stack.procs.stop("nginx")
    stack.procs.stop("mlflow")


def start_tracking(stack: Stack) -> str:
    """The tracking pod as deployed now (its init containers, MLflow, NGINX); the local URL of its Route."""
    stack.deployed.refresh()
    stack.run_init_containers()
    stack.start_mlflow()
    stack.nginx_port = stack.start_nginx()
    stack.subs.services[stack.app] = stack.nginx_port
    stack.save()
    return stack.tracking_uri


def start_grow_services(stack: Stack) -> None:
    """PostgreSQL and the Versity S3 gateway as grow.yml applied them, and the gateway's user Job (the signing key
    and its bucket)."""
    stack.deployed.refresh()
    stack.start_postgresql()
    stack.start_versitygw()
    stack.run_store_user_job()


def grow_jobs(stack: Stack) -> list[tuple[str, dict]]:
    """The grow Jobs of the namespace, oldest first."""
    stack.deployed.refresh()
    prefix = f"{stack.app}-grow-"
    return [(n, s) for n, s in stack.deployed.job_specs() if n.startswith(prefix)]


def when_created(stack: Stack, known: list[str], play: Future, timeout: float = 600) -> tuple[str, dict]:
    """The grow Job the running play (`play`) creates, once it exists (the kubelet's turn): a grow Job not in `known`."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = [(n, s) for n, s in grow_jobs(stack) if n not in known]
        if jobs:
            return jobs[-1]
        if play.done():
            r = play.result()  # raises what the play's thread raised
            raise AssertionError(f"the play ended without creating a grow Job: {r}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no grow Job within {timeout} s")
        time.sleep(0.5)


def run_grow_job(stack: Stack, name: str, spec: dict, timeout: float = 600) -> tuple[list[dict], str]:
    """The grow Job's pod, run here as deployed (init containers, if any, then its container): the JSON reports it
    printed (migrate_artifacts.py's, grow_database.py's), and where its scripts came from: "cluster" (ConfigMap
    <app>-grow as the play applied it) or "repository" (the play had deleted the ConfigMap, its `always`, before the
    pod ran here: it stands in again with the repository's files, the ones the play applies, for this pod only)."""
    from kubernetes.client.exceptions import ApiException

    deployed = stack.deployed
    if not isinstance(deployed, GrowDeployed):
        raise TypeError("run_grow_job needs the Stack's GrowDeployed")
    cm = f"{stack.app}-grow"
    scripts = {f: (SCRIPTS / f).read_text() for f in GROW_SCRIPTS}
    try:
        applied, came_from = dict(deployed.core.read_namespaced_config_map(cm, deployed.ns).data or {}), "cluster"
    except ApiException as e:
        if e.status != 404:
            raise
        applied, came_from = scripts, "repository"
    if applied != scripts:
        raise AssertionError(f"ConfigMap {cm} does not hold the repository's {', '.join(GROW_SCRIPTS)}")
    deployed.stand_ins[cm] = scripts
    try:
        ran = run_pod(stack, spec, name, timeout=timeout)
        container, res = ran[-1]
        if res.returncode != 0:
            raise AssertionError(f"grow Job {name}, container {container}: rc={res.returncode}\n"
                                 f"{res.stdout[-4000:]}\n{res.stderr[-6000:]}")
    finally:
        del deployed.stand_ins[cm]
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")], came_from


def data_files(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under `root` (a claim's directory): relative path -> (size, mtime in ns, SHA-256)."""
    out = {}
    for top, _dirs, names in os.walk(root):
        for n in names:
            p = Path(top) / n
            h = hashlib.sha256()
            with open(p, "rb") as f:
                while block := f.read(8 << 20):
                    h.update(block)
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns, h.hexdigest())
    return out
