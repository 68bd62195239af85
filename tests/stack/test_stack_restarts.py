"""Restart PostgreSQL and the in-cluster store under a client's logging loop: nothing acknowledged is lost."""

from __future__ import annotations

import json
import subprocess
import textwrap
import time

import pytest

from running_stack.processes import local_env

pytestmark = [pytest.mark.stack, pytest.mark.slow]

LOOP = textwrap.dedent("""
    import json, os, sys, tempfile, time
    import mlflow
    mlflow.set_experiment("stack-restarts")
    acked_metrics, acked_files = [], []
    d = tempfile.mkdtemp()
    with mlflow.start_run() as run:
        print("RUN " + run.info.run_id, flush=True)
        deadline = time.monotonic() + float(os.environ["LOOP_SECONDS"])
        i = 0
        while time.monotonic() < deadline:
            mlflow.log_metric("m", float(i), step=i)      # retried by the client on 5xx
            acked_metrics.append(i)
            if i % 5 == 0:
                p = os.path.join(d, f"f{i}.txt")
                open(p, "w").write(str(i))
                mlflow.log_artifact(p, artifact_path="files")
                acked_files.append(f"f{i}.txt")
            i += 1
            time.sleep(0.05)
    print("RESULT " + json.dumps({"run_id": run.info.run_id, "metrics": acked_metrics, "files": acked_files}))
""")

CHECK = textwrap.dedent("""
    import json, sys
    from mlflow.tracking import MlflowClient
    run_id = sys.argv[1]
    c = MlflowClient()
    hist = sorted(m.step for m in c.get_metric_history(run_id, "m"))
    files = sorted(f.path.split("/")[-1] for f in c.list_artifacts(run_id, "files"))
    print("RESULT " + json.dumps({"steps": hist, "files": files}))
""")


def test_restart_postgresql_and_the_store_mid_loop(stack):
    env = {**stack.client_env(), "LOOP_SECONDS": "40",
           # generous client retries (defaults are 7 retries with backoff factor 2)
           "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "10", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
    root = stack.state / "client"
    root.mkdir(exist_ok=True)
    venv = stack.tools.mlflow_venv
    p = subprocess.Popen([str(venv / "bin/python"), "-c", LOOP], env=local_env(env, venv, home=root),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root)
    try:
        time.sleep(8)
        stack.pg.stop()
        time.sleep(3)
        stack.pg.start()
        time.sleep(5)
        stack.store.stop()
        time.sleep(3)
        stack.store.start()
        out, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err[-5000:]
    res = json.loads([x for x in out.splitlines() if x.startswith("RESULT ")][-1][7:])
    assert len(res["metrics"]) > 20 and len(res["files"]) > 4
    check = stack.run_client(CHECK.replace("sys.argv[1]", repr(res["run_id"])))
    got = json.loads([x for x in check.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])
    assert set(res["metrics"]) <= set(got["steps"]), "acknowledged metric steps lost"
    assert set(res["files"]) <= set(got["files"]), "acknowledged artifacts lost"
