"""The deployed configuration serves users: a training script's view of the stack."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
import requests
from running_stack.playbooks import deploy

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def test_printed_settings_are_enough(deployment, stack):
    """deploy.yml printed the tracking URI and user; the password is in the users Secret."""
    assert "MLFLOW_TRACKING_URI" in deployment.printed, deployment.stdout[-3000:]
    assert "MLFLOW_TRACKING_USERNAME" in deployment.printed
    assert deployment.printed["MLFLOW_TRACKING_USERNAME"] in stack.users()
    # no password printed unless asked
    for pw in stack.users().values():
        assert pw not in deployment.stdout


def client_env(stack, deployment, **kw):
    """The printed export lines, with the route URL replaced by the local NGINX."""
    env = {k: v for k, v in deployment.printed.items() if k.startswith(("MLFLOW_", "AWS_"))}
    env.update(stack.client_env(deployment.printed.get("MLFLOW_TRACKING_USERNAME"), **kw))
    return env


LOG_RUN = textwrap.dedent("""
    import hashlib, json, os, sys, tempfile, time
    import mlflow
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    big = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BIG_FILE")
    mlflow.set_experiment("stack-user-flow")
    out = {}
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_metric("loss", 1.25, step=0)
        ts = int(time.time() * 1000)
        MlflowClient().log_batch(run.info.run_id,
            metrics=[Metric("acc", i / 10, ts, i) for i in range(10)],
            params=[Param("layers", "3")])
        d = tempfile.mkdtemp()
        small = os.path.join(d, "small.txt")
        open(small, "w").write("hello mlflow\\n" * 100)
        mlflow.log_artifact(small)
        t0 = time.monotonic()
        if big:
            mlflow.log_artifact(big, artifact_path="big")
        out["upload_s"] = time.monotonic() - t0
        out["run_id"] = run.info.run_id
    c = MlflowClient()
    r = c.get_run(out["run_id"])
    out["params"] = r.data.params
    out["metrics"] = r.data.metrics
    out["acc_history"] = len(c.get_metric_history(out["run_id"], "acc"))
    dl = tempfile.mkdtemp()
    p = mlflow.artifacts.download_artifacts(run_id=out["run_id"], artifact_path="small.txt", dst_path=dl)
    out["small_sha"] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    out["small_src_sha"] = hashlib.sha256(open(small, "rb").read()).hexdigest()
    if big:
        t0 = time.monotonic()
        p = mlflow.artifacts.download_artifacts(run_id=out["run_id"], artifact_path="big/" + os.path.basename(big), dst_path=dl)
        out["download_s"] = time.monotonic() - t0
        h = hashlib.sha256()
        with open(p, "rb") as f:
            while b := f.read(8 << 20):
                h.update(b)
        out["big_sha"] = h.hexdigest()
        os.remove(p)
    out["artifact_uri"] = r.info.artifact_uri
    print("RESULT " + json.dumps(out))
""")


def result(r):
    line = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[7:])


def _access_log(stack) -> str:
    log = stack.state / "nginx" / "access.log"
    return log.read_text() if log.exists() else ""


def test_log_and_read_back_with_1gib_artifact(stack, deployment, big_file):
    """With only the printed exports: the 1 GiB file goes up and down on pre-signed URLs through the public
    pre-signed path, the small one through the tracking server; MLflow's temp dir never holds the big file."""
    path, sha = big_file
    exports = sorted(set(re.findall(r"export ([A-Z_]+)=", deployment.stdout)))
    assert exports == ["MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME"], exports
    env = client_env(stack, deployment)
    env["BIG_FILE"] = str(path)
    log_before = len(_access_log(stack))
    r = stack.run_client(LOG_RUN, env=env, timeout=1200)
    out = result(r)
    log = _access_log(stack)[log_before:]
    # The pre-signed path logs no query strings (they carry the signatures): its lines name the object only.
    parts = [x for x in log.splitlines() if '"PUT /default/' in x]
    assert len(parts) == -(-path.stat().st_size // (10 << 20)), log[-3000:]   # MLflow's 10 MiB parts
    assert all('" 200 ' in x for x in parts), [x for x in parts if '" 200 ' not in x][:3]
    assert [x for x in log.splitlines() if '"GET /default/' in x], log[-3000:]
    assert "X-Amz-Signature=" not in log and "X-Amz-Credential=" not in log
    assert [x for x in log.splitlines() if '"PUT /api/2.0/mlflow-artifacts/artifacts/' in x and "small.txt" in x]
    assert not list((stack.state / "mlflow" / "tmp").rglob(path.name)), "the server spooled the big file"
    assert out["params"] == {"alpha": "0.5", "layers": "3"}
    assert out["metrics"]["loss"] == 1.25 and out["acc_history"] == 10
    assert out["small_sha"] == out["small_src_sha"]
    assert out["big_sha"] == sha, "1 GiB artifact changed on the way"
    assert out["artifact_uri"].startswith("mlflow-artifacts:"), out["artifact_uri"]
    # the object is in the deployment's bucket in MinIO
    s3 = stack.store.s3()
    sizes = [o["Size"] for b in s3.list_buckets()["Buckets"]
             for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", [])]
    assert path.stat().st_size in sizes
    print(f"1 GiB on pre-signed URLs: upload {out['upload_s']:.1f}s, download {out['download_s']:.1f}s")


def test_auth_is_required_except_health(stack):
    base = stack.tracking_uri
    user, pw = next(iter(stack.users().items()))
    assert requests.get(f"{base}/health", timeout=10).status_code == 200
    for path in ("/", "/version", "/api/2.0/mlflow/experiments/search?max_results=1", "/static-files/"):
        assert requests.get(base + path, timeout=10).status_code == 401, path
    assert requests.get(f"{base}/version", auth=(user, pw + "x"), timeout=10).status_code == 401
    assert requests.get(f"{base}/version", auth=(user, pw), timeout=10).status_code == 200


def test_foreign_host_header_is_refused(stack):
    user, pw = next(iter(stack.users().items()))
    url = f"{stack.tracking_uri}/api/2.0/mlflow/experiments/search?max_results=1"
    ok = requests.get(url, auth=(user, pw), timeout=10)
    assert ok.status_code == 200, ok.text
    bad = requests.get(url, auth=(user, pw), headers={"Host": "evil.example.com"}, timeout=10)
    assert bad.status_code == 403 and "Invalid Host header" in bad.text, (bad.status_code, bad.text)


def test_removed_user_is_refused(stack_cluster, stack, deployment):
    users = stack.users()
    assert "carol" in users
    carol_pw = users["carol"]
    assert requests.get(f"{stack.tracking_uri}/version", auth=("carol", carol_pw), timeout=10).status_code == 200
    fewer_users = {**deployment.extra_vars, "mlflow_users": [{"name": "alice"}, {"name": "bob"}]}
    deploy(stack_cluster, deployment.namespace, **fewer_users)
    stack.deployed.refresh()
    stack.procs.stop("nginx")
    stack.nginx_port = stack.start_nginx()
    stack.subs.services[stack.app] = stack.nginx_port
    assert requests.get(f"{stack.tracking_uri}/version", auth=("carol", carol_pw), timeout=10).status_code == 401
    alice = stack.users()["alice"]
    assert requests.get(f"{stack.tracking_uri}/version", auth=("alice", alice), timeout=10).status_code == 200
