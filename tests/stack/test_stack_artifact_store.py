"""Switch the artifact store to an Allas-like endpoint with configure_artifact_store.yml.

The "Allas" is a second MinIO with its own keys; the cluster knows it only as the URL
http://allas-like.test:9000, which the harness maps to that MinIO. The copy Job the
playbook creates cannot run on kwok: its container command runs here, against the two
MinIOs, exactly as deployed.
"""

from __future__ import annotations

import json
import secrets
import textwrap

import pytest

from running_stack.deployed import Deployed
from running_stack.minio import MinIO
from running_stack.playbooks import deploy, playbook
from running_stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

ALLAS_HOST = "allas-like.test"

LOG = textwrap.dedent("""
    import json, os, sys, tempfile
    import mlflow
    mlflow.set_experiment("stack-store-switch")
    p = os.path.join(tempfile.mkdtemp(), sys.argv[1])
    open(p, "w").write("content of " + sys.argv[1])
    with mlflow.start_run() as run:
        mlflow.log_artifact(p)
    print("RESULT " + json.dumps({"run_id": run.info.run_id}))
""")

READ = textwrap.dedent("""
    import json, sys, tempfile
    import mlflow
    p = mlflow.artifacts.download_artifacts(run_id=sys.argv[1], artifact_path=sys.argv[2],
                                            dst_path=tempfile.mkdtemp())
    print("RESULT " + json.dumps({"text": open(p).read()}))
""")


def _run(stack, code, *args):
    r = stack.run_client(f"import sys; sys.argv = ['x', *{list(args)!r}]\n" + code)
    return json.loads([x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])


def _objects(store, bucket: str) -> list[str]:
    return [o["Key"] for o in store.s3().list_objects_v2(Bucket=bucket).get("Contents", [])]


LOG_BIG = textwrap.dedent("""
    import json, sys
    import mlflow
    mlflow.set_experiment("stack-store-switch")
    with mlflow.start_run() as run:
        mlflow.log_artifact(sys.argv[1])
    print("RESULT " + json.dumps({"run_id": run.info.run_id}))
""")


def test_switch_to_allas_like_store(stack_cluster, tools, tmp_path, big_file):
    ns = stack_cluster.fresh_namespace("store")
    dep = deploy(stack_cluster, ns)
    stack = Stack(Deployed(stack_cluster.api, ns, dep.app), tmp_path / "stack", tools)
    allas = MinIO(stack.procs, "allas", tmp_path / "allas", "allas" + secrets.token_hex(6),
                  secrets.token_urlsafe(24), tools)
    try:
        stack.up()
        old = _run(stack, LOG, "before.txt")
        before = stack.deployed.env(stack.mlflow_container()[1])
        allas.start()
        bucket = "allas-bucket"
        allas.s3().create_bucket(Bucket=bucket)
        stack.subs.services[ALLAS_HOST] = allas.port

        r = playbook(stack_cluster, "configure_artifact_store.yml", extra_vars={
            "mlflow_namespace": ns, "mlflow_artifact_store": "allas",
            "mlflow_s3_endpoint_url": f"http://{ALLAS_HOST}:9000", "mlflow_s3_bucket": bucket,
            "mlflow_s3_access_key_id": allas.access_key, "mlflow_s3_secret_access_key": allas.secret_key})
        assert r.rc == 0, str(r)
        assert allas.secret_key not in r.stdout

        # the copy Job, run here
        summary = stack.run_copy_job(before)
        assert summary["ok"] and summary["objects"] >= 1, summary

        # the tracking pod rolled: restart MLflow and NGINX with what is deployed now
        spec, c = stack.mlflow_container()
        env = stack.deployed.env(c)
        assert env["AWS_REQUEST_CHECKSUM_CALCULATION"] == "when_required"
        assert env["AWS_RESPONSE_CHECKSUM_VALIDATION"] == "when_required"
        assert env["AWS_SECRET_ACCESS_KEY"] == allas.secret_key
        stack.procs.stop("nginx")
        stack.procs.stop("mlflow")
        stack.start_mlflow()
        stack.nginx_port = stack.start_nginx()
        stack.subs.services[stack.app] = stack.nginx_port
        log = stack.state / "nginx" / "access.log"
        log_switched = len(log.read_text())

        new = _run(stack, LOG, "after.txt")
        keys = _objects(allas, bucket)
        assert any(k.endswith(f"{new['run_id']}/artifacts/after.txt") for k in keys), keys
        assert any(k.endswith(f"{old['run_id']}/artifacts/before.txt") for k in keys), keys
        assert _run(stack, READ, old["run_id"], "before.txt")["text"] == "content of before.txt"
        assert _run(stack, READ, new["run_id"], "after.txt")["text"] == "content of after.txt"
        # A large file goes straight to the store on pre-signed URLs (the URLs already name a host clients
        # reach: nothing rewritten, no pre-signed Route of the stack's own any more), with only the tracking exports.
        reads = log.read_text()[log_switched:]
        assert "GET /api/2.0/mlflow-artifacts/presigned/" in reads, reads[-2000:]    # downloads: pre-signed too
        log_before = len(log.read_text())
        big = _run(stack, LOG_BIG, str(big_file[0]))
        seen = log.read_text()[log_before:]
        assert "POST /api/2.0/mlflow-artifacts/mpu/create/" in seen and "/mpu/complete/" in seen, seen[-2000:]
        assert "partNumber=" not in seen, "parts went through the stack instead of straight to the store"
        sizes = {o["Key"]: o["Size"] for o in allas.s3().list_objects_v2(Bucket=bucket).get("Contents", [])}
        assert [k for k, size in sizes.items() if big["run_id"] in k and size == big_file[0].stat().st_size], sizes
        routes = stack.deployed.routes()
        assert f"{stack.app}-presigned" not in routes and stack.app in routes, routes
        # nothing new landed in the old in-cluster store
        old_keys = [k for b in stack.gateway.s3().list_buckets()["Buckets"] for k in _objects(stack.gateway, b["Name"])]
        assert not [k for k in old_keys if new["run_id"] in k]
    finally:
        stack.down()
