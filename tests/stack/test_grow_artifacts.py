"""migrate_artifacts.py with a directory as its source (SRC_DIR), the artifact half of growing a small stack into
the full one, with real servers: a small-stack `mlflow server` (SQLite, artifacts proxied to a directory) is given
artifacts through the MLflow client; the script copies the directory to MinIO as the Job runs it (the MLflow image's
Python, settings from its environment); then the same server with the bucket as its artifacts destination serves
every artifact byte for byte. A re-run copies nothing again; an object changed in the store after the copy (same
size) is found by its SHA-256."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import textwrap

import pytest

from running_stack.clients import ARTIFACT_SUMS
from running_stack.minio import MinIO
from running_stack.net import free_port, wait_http
from running_stack.processes import Procs, local_env

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "mlflow_tracking", "files", "migrate_artifacts.py")

WRITE = textwrap.dedent("""
    import json, os, sys, tempfile
    import mlflow
    d = tempfile.mkdtemp()
    files = {"notes.txt": b"small stack\\n", "data/blob.bin": os.urandom(3 << 20),
             "data/deeper/with space.txt": "ä ö å".encode(), "empty.txt": b""}
    for rel, content in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
        open(os.path.join(d, rel), "wb").write(content)
    mlflow.set_experiment("grow-artifacts")
    runs = []
    for i in range(2):
        with mlflow.start_run() as run:
            mlflow.log_artifacts(d)
            mlflow.log_text("run %d" % i, "text/run.txt")
            runs.append(run.info.run_id)
    print("RESULT " + json.dumps({"runs": runs}))
""")


def _result(r):
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads([x for x in r.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])


@pytest.fixture(scope="module")
def small(tools, stack_tmp):
    """The small stack's server, its artifacts directory, a MinIO; `serve(destination)` (re)starts the server."""
    root = stack_tmp / "grow-art"
    procs = Procs(root)
    minio = MinIO(procs, "grow-minio", root / "minio", "grow" + secrets.token_hex(6), secrets.token_urlsafe(24), tools)
    env = {"MLFLOW_DISABLE_TELEMETRY": "true", "AWS_ACCESS_KEY_ID": minio.access_key,
           "AWS_SECRET_ACCESS_KEY": minio.secret_key, "AWS_DEFAULT_REGION": "us-east-1"}
    state = {"root": root, "artifacts": root / "pvc" / "artifacts", "minio": minio, "url": ""}

    def serve(destination):
        procs.stop("mlflow")
        port = free_port()
        argv = [str(tools.mlflow_venv / "bin" / "mlflow"), "server", "--backend-store-uri",
                f"sqlite:///{root / 'pvc' / 'mlflow.db'}", "--serve-artifacts", "--artifacts-destination",
                destination, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        server_env = local_env({**env, "MLFLOW_S3_ENDPOINT_URL": minio.endpoint}, tools.mlflow_venv, root)
        p = procs.start("mlflow", argv, env=server_env, cwd=root)
        state["url"] = f"http://127.0.0.1:{port}"
        wait_http(state["url"] + "/health", 180, ok=lambda c: c == 200, proc=p)

    def client(code, *args):
        return _result(subprocess.run([tools.python(), "-c", code, *args], capture_output=True, text=True,
                                      timeout=300, check=False, cwd=root,
                                      env=local_env({"MLFLOW_TRACKING_URI": state["url"]}, tools.mlflow_venv, root)))

    def grow():
        env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "SRC_DIR": str(state["artifacts"]),
               "DST_ENDPOINT_URL": minio.endpoint, "DST_BUCKET": "mlflow", "DST_PREFIX": "/team/artifacts/",
               "DST_AWS_ACCESS_KEY_ID": minio.access_key, "DST_AWS_SECRET_ACCESS_KEY": minio.secret_key,
               "AWS_DEFAULT_REGION": "us-east-1"}
        return subprocess.run([tools.python(), SCRIPT], env=env, capture_output=True, text=True, timeout=300,
                              check=False)

    state["artifacts"].mkdir(parents=True)
    try:
        minio.start()
        serve(str(state["artifacts"]))
        state["runs"] = client(WRITE)["runs"]
        state["served"] = client(ARTIFACT_SUMS, json.dumps(state["runs"]))
        state.update(serve=serve, client=client, grow=grow)
        yield state
    finally:
        procs.stop_all()


def test_the_copy_is_verified_and_the_store_serves_every_artifact(small):
    files = {p: p.stat().st_size for p in small["artifacts"].rglob("*") if p.is_file()}
    r = small["grow"]()
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout.splitlines()[-1])
    assert result["ok"] and result["objects"] == len(files) == 10 and result["copied"] == len(files), result
    assert result["verified_bytes"] == sum(files.values()) and result["destination"] == "s3://mlflow/team/artifacts/"
    assert small["minio"].secret_key not in r.stdout + r.stderr
    assert {p: p.stat().st_size for p in small["artifacts"].rglob("*") if p.is_file()} == files  # source untouched
    small["serve"]("s3://mlflow/team/artifacts")
    assert small["client"](ARTIFACT_SUMS, json.dumps(small["runs"])) == small["served"]


def test_a_rerun_copies_nothing_again(small):
    r = small["grow"]()
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout.splitlines()[-1])
    assert result["ok"] and result["copied"] == 0 and result["skipped"] == result["objects"], result


def test_an_object_changed_in_the_store_is_found(small):
    """Same size, other bytes: the listing cannot tell, the SHA-256 read back does."""
    s3 = small["minio"].s3()
    key = f"team/artifacts/1/{small['runs'][0]}/artifacts/notes.txt"
    body = s3.get_object(Bucket="mlflow", Key=key)["Body"].read()
    s3.put_object(Bucket="mlflow", Key=key, Body=body.upper())
    r = small["grow"]()
    assert r.returncode == 1 and key.split("/", 2)[2] in r.stderr, r.stdout + r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["ok"] is False
