"""A stack that runs MinIO moves to the Versity S3 gateway, with every artifact.

The stack is deployed by OLD_COMMIT's collection (main before the gateway: MinIO by default) and run here
(PostgreSQL, MinIO, MLflow, NGINX); a user logs runs with small and large (multipart) artifacts. Then this
checkout's deploy.yml keeps MinIO (with a warning) and starts the gateway beside it, and the documented
command (configure_artifact_store.yml -e mlflow_artifact_store=versitygw) copies every object, checks its
size and SHA-256, and switches. Every artifact reads back through MLflow from the gateway; MinIO's
Deployment is gone, its PVC and Secret stay.
"""

from __future__ import annotations

import hashlib
import json
import textwrap

import pytest
from kubernetes import client

from deployment import collection_at, commit_missing
from running_stack.clients import ARTIFACT_SUMS
from running_stack.deployed import Deployed
from running_stack.playbooks import EXPORT_RE, Deployment, playbook
from running_stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

# main before the Versity S3 gateway (issue 23's first part): new stacks got MinIO.
OLD_COMMIT = "ff680d14aee81bd9e3b2ddfea10ad6217e1c9d3d"

LOG = textwrap.dedent("""
    import json, os, sys, tempfile
    import mlflow
    mlflow.set_experiment("before-the-move")
    out = []
    for name in sys.argv[1:]:
        with mlflow.start_run() as run:
            if os.path.exists(name):
                mlflow.log_artifact(name)
            else:
                p = os.path.join(tempfile.mkdtemp(), name)
                open(p, "w").write("content of " + name)
                mlflow.log_artifact(p, artifact_path="small")
            mlflow.log_metric("m", 1.0)
        out.append(run.info.run_id)
    print("RESULT " + json.dumps(out))
""")


def _result(r):
    return json.loads([x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])


def _sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _restart_tracking(stack):
    """The tracking pod rolled: MLflow and NGINX again, with what is deployed now."""
    stack.deployed.refresh()
    stack.procs.stop("nginx")
    stack.procs.stop("mlflow")
    stack.start_mlflow()
    stack.nginx_port = stack.start_nginx()
    stack.subs.services[stack.app] = stack.nginx_port


def test_a_minio_stack_moves_to_the_gateway_with_every_artifact(stack_cluster, tools, tmp_path, big_file):
    why = commit_missing(OLD_COMMIT)
    if why:
        pytest.fail(why)
    ns = stack_cluster.fresh_namespace("move")
    extra = {"mlflow_namespace": ns, "mlflow_route_allow_all": True, "mlflow_wait_timeout": 300}
    old = stack_cluster.run_playbook("deploy.yml", extra_vars=extra, collection=collection_at(OLD_COMMIT, tmp_path / "old"),
                                     env={"K8S_AUTH_KUBECONFIG": stack_cluster.kubeconfig})
    assert old.rc == 0, str(old)
    dep = Deployment(ns, "mlflow", extra, dict(EXPORT_RE.findall(old.stdout)), old.stdout)
    stack = Stack(Deployed(stack_cluster.api, ns, dep.app), tmp_path / "stack", tools)
    try:
        stack.up()
        assert stack.minio is not None and stack.gateway is None
        runs = _result(stack.run_client(f"import sys; sys.argv = ['x', 'a.txt', 'b.txt', {str(big_file[0])!r}]\n" + LOG))
        before = _result(stack.run_client(f"import sys; sys.argv = ['x', {json.dumps(runs)!r}]\n" + ARTIFACT_SUMS))
        assert len(before) == 3 and any(v == _sha(big_file[0]) for v in before.values()), before

        # This checkout's deploy.yml: MinIO stays (and the run says why it should not), the gateway starts beside it.
        r = playbook(stack_cluster, "deploy.yml", extra)
        assert r.rc == 0, str(r)
        assert "WARNING: this stack still runs MinIO" in r.stdout and "CVE-2026-41145" in r.stdout
        assert stack.deployed.configmap(f"{stack.app}-config")["ARTIFACT_STORE"] == "minio"
        stack.start_versitygw()
        stack.run_store_user_job()
        tracking_before = stack.deployed.env(stack.mlflow_container()[1])

        # The documented command.
        r = playbook(stack_cluster, "configure_artifact_store.yml",
                     {"mlflow_namespace": ns, "mlflow_artifact_store": "versitygw"})
        assert r.rc == 0, str(r)
        report = stack.run_copy_job(tracking_before)
        assert report["ok"] and report["objects"] == report["verified_objects"] >= 3, report
        assert report["verified_by"] == "size and sha256", report

        config = stack.deployed.configmap(f"{stack.app}-config")
        assert config["ARTIFACT_STORE"] == "versitygw", config
        env = stack.deployed.env(stack.mlflow_container()[1])
        assert env["AWS_ACCESS_KEY_ID"] == stack.deployed.secret(f"{stack.app}-versitygw-client")["AWS_ACCESS_KEY_ID"]
        assert env["AWS_ACCESS_KEY_ID"] != stack.gateway.access_key, "MLflow must not sign with the gateway's admin key"

        # MinIO stops here: every artifact comes from the gateway now.
        stack.minio.stop()
        _restart_tracking(stack)
        after = _result(stack.run_client(f"import sys; sys.argv = ['x', {json.dumps(runs)!r}]\n" + ARTIFACT_SUMS))
        assert after == before

        # MinIO's objects are gone but its data is kept until the user removes it.
        apps, core = client.AppsV1Api(stack_cluster.api), client.CoreV1Api(stack_cluster.api)
        names = {d.metadata.name for d in apps.list_namespaced_deployment(ns).items}
        assert f"{stack.app}-minio" not in names and f"{stack.app}-versitygw" in names, names
        assert f"{stack.app}-minio" in {p.metadata.name for p in core.list_namespaced_persistent_volume_claim(ns).items}
        assert f"{stack.app}-minio" in {s.metadata.name for s in core.list_namespaced_secret(ns).items}
        assert "WARNING: this stack still runs MinIO" not in playbook(stack_cluster, "deploy.yml", extra).stdout
    finally:
        stack.down()
