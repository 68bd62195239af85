"""mlflow_gc_schedule: the CronJob deploy.yml applied runs `mlflow gc` against the running stack.

A run deleted longer ago than mlflow_gc_older_than loses its rows and its artifacts in the
artifact store; a live run keeps both; a model registered from a run that was deleted stays
downloadable. The CronJob's pod is run locally as the cluster would start it (same argv, env
from the ConfigMap and Secrets), and no secret is on its command line.
"""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from running_stack.deployed import Deployed
from running_stack.playbooks import deploy
from running_stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

WRITE = textwrap.dedent("""
    import json, os, tempfile
    import mlflow
    from mlflow.tracking import MlflowClient

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input):
            return model_input

    mlflow.set_experiment("stack-gc")
    d = tempfile.mkdtemp()
    ids = {}
    for name in ("live", "deleted", "registered"):
        with mlflow.start_run(run_name=name) as run:
            p = os.path.join(d, name + ".txt")
            open(p, "w").write(name)
            mlflow.log_artifact(p, artifact_path="files")
            if name == "registered":
                info = mlflow.pyfunc.log_model(name="model", python_model=Echo(), registered_model_name="gc-model")
                ids["model_uri"] = info.model_uri
            ids[name] = run.info.run_id
    c = MlflowClient()
    c.delete_run(ids["deleted"])
    c.delete_run(ids["registered"])
    print("RESULT " + json.dumps(ids))
""")

READ = textwrap.dedent("""
    import json, sys, tempfile
    import mlflow
    from mlflow.tracking import MlflowClient
    ids = json.loads(sys.argv[1])
    c = MlflowClient()
    out = {}
    for name in ("live", "deleted", "registered"):
        try:
            run = c.get_run(ids[name])
            out[name] = {"stage": run.info.lifecycle_stage,
                         "files": sorted(f.path for f in c.list_artifacts(ids[name], "files"))}
        except Exception as e:  # noqa: BLE001 - the error is the result
            out[name] = {"error": getattr(e, "error_code", type(e).__name__)}
    path = mlflow.artifacts.download_artifacts("models:/gc-model/1", dst_path=tempfile.mkdtemp())
    import os
    out["model_files"] = sorted(os.listdir(path))
    print("RESULT " + json.dumps(out))
""")

KEYS = textwrap.dedent("""
    import json, os, boto3
    s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], aws_access_key_id=os.environ["S3_KEY"],
                      aws_secret_access_key=os.environ["S3_SECRET"], region_name="us-east-1")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=os.environ["S3_BUCKET"])
            for o in page.get("Contents", [])]
    print("RESULT " + json.dumps(keys))
""")


def _result(r):
    return json.loads([line for line in r.stdout.splitlines() if line.startswith("RESULT ")][-1][7:])


def _keys(stack):
    cfg = stack.deployed.configmap(f"{stack.app}-config")
    env = {"S3_ENDPOINT": stack.store.endpoint, "S3_KEY": stack.store.access_key,
           "S3_SECRET": stack.store.secret_key, "S3_BUCKET": cfg["S3_BUCKET"]}
    return _result(stack.run_client(KEYS, env=env))


def test_gc_removes_deleted_runs_only(stack_cluster, tools, tmp_path):
    ns = stack_cluster.fresh_namespace("gc")
    dep = deploy(stack_cluster, ns, mlflow_gc_schedule="0 3 * * 0", mlflow_gc_older_than="1s")
    stack = Stack(Deployed(stack_cluster.api, ns, dep.app), tmp_path / "stack", tools)
    try:
        stack.up()
        ids = _result(stack.run_client(WRITE))
        before = _keys(stack)
        for name in ("live", "deleted", "registered"):
            assert any(ids[name] in k and k.endswith(f"files/{name}.txt") for k in before), (name, before)
        time.sleep(2)  # older than mlflow_gc_older_than=1s

        cj = stack.deployed.batch.read_namespaced_cron_job(f"{dep.app}-gc", ns)
        assert cj.spec.schedule == "0 3 * * 0" and cj.spec.concurrency_policy == "Forbid"
        spec = stack_cluster.api.sanitize_for_serialization(cj.spec.job_template.spec.template.spec)
        container = spec["containers"][0]
        secrets = [v for name in (f"{dep.app}-postgresql", f"{dep.app}-s3")
                   for v in stack.deployed.secret(name).values() if len(v) > 8]
        assert not any(s in json.dumps(container["command"]) for s in secrets)
        res = stack.run_container_once(spec, container, "gc")
        assert res.returncode == 0, res.stdout + res.stderr

        after = _result(stack.run_client(READ.replace("sys.argv[1]", repr(json.dumps(ids)))))
        assert after["live"] == {"stage": "active", "files": ["files/live.txt"]}
        assert after["deleted"] == {"error": "RESOURCE_DOES_NOT_EXIST"}
        assert after["registered"] == {"error": "RESOURCE_DOES_NOT_EXIST"}
        assert "MLmodel" in after["model_files"]
        keys = _keys(stack)
        assert any(ids["live"] in k for k in keys)
        assert not any(ids["deleted"] in k for k in keys), [k for k in keys if ids["deleted"] in k]
        assert not any(ids["registered"] in k for k in keys), [k for k in keys if ids["registered"] in k]
    finally:
        stack.down()
