"""Two tracking replicas (mlflow_tracking_replicas=2): one client's logging loop loses nothing
when one of them stops mid-loop.

deploy.yml with two replicas into a namespace of its own; the harness starts one MLflow per
replica from the deployed pod and puts both into the deployed NGINX's upstream (as the Service
spreads clients over the pods on the cluster). Mid-loop, the second MLflow is stopped (SIGTERM,
as the kubelet stops a pod on a rollout or drain); NGINX passes the requests to the other one.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from running_stack.deployed import Deployed
from running_stack.net import wait_http
from running_stack.playbooks import deploy
from running_stack.processes import local_env
from running_stack.stack import Stack
from test_stack_restarts import CHECK, LOOP

pytestmark = [pytest.mark.stack, pytest.mark.slow]

APP = "mlrep"


@pytest.fixture(scope="module")
def replicas_stack(stack_cluster, tools, stack_tmp):
    ns = stack_cluster.fresh_namespace("stack-rep")
    d = deploy(stack_cluster, ns, mlflow_app_name=APP, mlflow_tracking_replicas=2)
    deployed = Deployed(stack_cluster.api, d.namespace, d.app)
    assert deployed.replicas(APP) == 2
    s = Stack(deployed, stack_tmp / "stack-replicas", tools)
    try:
        s.up(replicas=deployed.replicas(APP))
        yield s
    finally:
        s.down()
        stack_cluster.delete_namespace(ns)


def served(stack, port):
    """Requests the MLflow on `port` answered (its access log lines)."""
    name = "mlflow" if port == stack.mlflow_port else "mlflow-%d" % (stack.mlflow_replica_ports.index(port) + 2)
    text = (stack.state / "logs" / f"{name}.log").read_text(errors="replace")
    return text.count("/api/2.0/mlflow/runs/log-metric")


def test_two_replicas_behind_one_upstream_lose_nothing_when_one_stops(replicas_stack):
    stack = replicas_stack
    assert len(stack.mlflow_replica_ports) == 1
    second = stack.mlflow_replica_ports[0]
    conf = (stack.state / "nginx" / "nginx.conf").read_text()
    assert f"server 127.0.0.1:{stack.mlflow_port};" in conf and f"server 127.0.0.1:{second};" in conf
    env = {**stack.client_env(), "LOOP_SECONDS": "30",
           "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "10", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
    root = stack.state / "client"
    root.mkdir(exist_ok=True)
    venv = stack.tools.mlflow_venv
    p = subprocess.Popen([str(venv / "bin/python"), "-c", LOOP], env=local_env(env, venv, home=root),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root)
    try:
        time.sleep(12)
        before = {port: served(stack, port) for port in (stack.mlflow_port, second)}
        stack.procs.stop("mlflow-2")
        stopped_at = served(stack, second)
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
    # both replicas served the loop before the stop; after it, only the first one did
    assert all(n > 0 for n in before.values()), before
    assert served(stack, stack.mlflow_port) > before[stack.mlflow_port]
    assert served(stack, second) == stopped_at
    wait_http(f"{stack.tracking_uri}/health", 10, ok=lambda c: c == 200)
