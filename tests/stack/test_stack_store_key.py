"""MLflow's key on the in-cluster Versity S3 gateway: scoped to its bucket, never the admin key, rotated in one run.

A fresh stack: the signing key (Secret <app>-versitygw-client, what the tracking pod reads) reads and writes the
artifact bucket and nothing else; the admin key is in no pod but the gateway's and its user Job's. Then
playbooks/rotate_store_key.yml: the same key id gets a new secret, the gateway refuses the old one at once, and
MLflow logs and reads artifacts with the new one.
"""

from __future__ import annotations

import json
import textwrap

import pytest
from botocore.exceptions import ClientError

from running_stack.deployed import Deployed
from running_stack.playbooks import deploy, playbook
from running_stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

LOG = textwrap.dedent("""
    import json, os, sys, tempfile
    import mlflow
    p = os.path.join(tempfile.mkdtemp(), sys.argv[1])
    open(p, "w").write("content of " + sys.argv[1])
    with mlflow.start_run() as run:
        mlflow.log_artifact(p)
    back = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path=sys.argv[1],
                                               dst_path=tempfile.mkdtemp())
    print("RESULT " + json.dumps({"run_id": run.info.run_id, "text": open(back).read()}))
""")


def _log(stack, name):
    r = stack.run_client(f"import sys; sys.argv = ['x', {name!r}]\n" + LOG)
    return json.loads([x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])


def _code(call) -> str:
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return "allowed"


def _pods_reading(stack, secret: str) -> set[str]:
    """The Deployments and Jobs (by their containers' names) whose containers read Secret `secret`."""
    specs = [(f"Deployment/{d}", stack.deployed.pod_spec(d)) for d in
             (stack.app, f"{stack.app}-models", f"{stack.app}-postgresql", f"{stack.app}-versitygw")]
    specs += [("Job/" + ",".join(c["name"] for c in s["containers"]), s) for _n, s in stack.deployed.job_specs()]
    return {where for where, spec in specs
            if json.dumps(secret) in json.dumps(spec.get("containers", []) + spec.get("initContainers", []))}


def test_signing_key_is_scoped_and_rotates_in_one_run(stack_cluster, tools, tmp_path):
    ns = stack_cluster.fresh_namespace("skey")
    dep = deploy(stack_cluster, ns)
    stack = Stack(Deployed(stack_cluster.api, ns, dep.app), tmp_path / "stack", tools)
    try:
        stack.up()
        gw = stack.gateway
        signing = stack.deployed.secret(f"{stack.app}-versitygw-client")
        assert stack.deployed.env(stack.mlflow_container()[1])["AWS_ACCESS_KEY_ID"] == signing["AWS_ACCESS_KEY_ID"]
        assert signing["AWS_ACCESS_KEY_ID"] != gw.access_key
        # The admin key: the gateway's pod and its user Job, nothing else.
        assert _pods_reading(stack, f"{stack.app}-versitygw") == {f"Deployment/{stack.app}-versitygw",
                                                                  "Job/versitygw-user"}

        key = gw.s3(signing["AWS_ACCESS_KEY_ID"], signing["AWS_SECRET_ACCESS_KEY"])
        first = _log(stack, "first.txt")
        assert first["text"] == "content of first.txt"
        assert [b["Name"] for b in key.list_buckets()["Buckets"]] == ["default"]
        assert _code(lambda: key.create_bucket(Bucket="another")) in ("AccessDenied", "403")
        gw.s3().create_bucket(Bucket="not-mlflows")
        assert _code(lambda: key.list_objects_v2(Bucket="not-mlflows")) in ("AccessDenied", "403")
        assert _code(lambda: key.put_object(Bucket="not-mlflows", Key="x", Body=b"x")) in ("AccessDenied", "403")

        r = playbook(stack_cluster, "rotate_store_key.yml", dep.extra_vars)
        assert r.rc == 0, str(r)
        stack.deployed.refresh()
        rotated = stack.deployed.secret(f"{stack.app}-versitygw-client")
        assert rotated["AWS_ACCESS_KEY_ID"] == signing["AWS_ACCESS_KEY_ID"]
        assert rotated["AWS_SECRET_ACCESS_KEY"] != signing["AWS_SECRET_ACCESS_KEY"]
        assert signing["AWS_SECRET_ACCESS_KEY"] not in r.stdout and rotated["AWS_SECRET_ACCESS_KEY"] not in r.stdout
        assert stack.deployed.secret(f"{stack.app}-s3") == rotated
        stack.run_store_user_job()      # the new Job (its name follows the key), run here
        refused = ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "403")
        assert _code(lambda: key.list_objects_v2(Bucket="default")) in refused

        stack.procs.stop("nginx")
        stack.procs.stop("mlflow")
        stack.start_mlflow()
        stack.nginx_port = stack.start_nginx()
        stack.subs.services[stack.app] = stack.nginx_port
        second = _log(stack, "second.txt")
        assert second["text"] == "content of second.txt"
        new_key = gw.s3(rotated["AWS_ACCESS_KEY_ID"], rotated["AWS_SECRET_ACCESS_KEY"])
        keys = [o["Key"] for o in new_key.list_objects_v2(Bucket="default")["Contents"]]
        assert any(first["run_id"] in k for k in keys) and any(second["run_id"] in k for k in keys), keys
    finally:
        stack.down()
