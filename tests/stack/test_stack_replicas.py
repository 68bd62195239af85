"""Two tracking replicas (mlflow_tracking_replicas=2): one client's logging loop loses nothing
when one of them stops mid-loop.

deploy.yml with two replicas into a namespace of its own; the harness starts one MLflow per
replica from the deployed pod and puts both into the deployed NGINX's upstream (as the Service
spreads clients over the pods on the cluster). Mid-loop, the second MLflow is stopped (SIGTERM,
as the kubelet stops a pod on a rollout or drain); NGINX passes the requests to the other one.
"""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

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


class HeldHeads:
    """A TCP proxy on 127.0.0.1 to `port` that holds the answer to a connection's first request for
    `delay` seconds when it is a HEAD: two clients that start together both see "no bucket" (404)
    before either creates it."""

    def __init__(self, port: int, delay: float):
        self.target, self.delay = port, delay
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client = self.server.accept()[0]
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        first = client.recv(65536)
        upstream = socket.create_connection(("127.0.0.1", self.target))
        upstream.sendall(first)
        hold = self.delay if first.startswith(b"HEAD ") else 0
        threading.Thread(target=self._pump, args=(upstream, client, hold), daemon=True).start()
        self._pump(client, upstream)

    @staticmethod
    def _pump(src, dst, hold=0.0):
        try:
            while data := src.recv(65536):
                time.sleep(hold)
                hold = 0
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.server.close()


def test_both_replicas_creating_a_missing_bucket_at_once_succeed(replicas_stack):
    """A new stack's two tracking pods run their ensure-bucket init containers together: both see
    no bucket, both create it; the second must not fail (on the cluster its pod would restart)."""
    stack = replicas_stack
    spec = stack.deployed.pod_spec(APP)
    init = next(c for c in spec["initContainers"] if c["name"] == "ensure-bucket")
    held = HeldHeads(stack.store.port, delay=2.0)
    said = []
    try:
        for i in range(3):
            c = copy.deepcopy(init)
            # A key that may create buckets, as an Allas or S3 key may (MLflow's key on the in-cluster gateway may
            # not: there the gateway's Job creates the bucket and the init container waits for it).
            c["env"] = [*(c.get("env") or []), {"name": "S3_BUCKET", "value": f"race-{i}"},
                        {"name": "MLFLOW_S3_ENDPOINT_URL", "value": f"http://127.0.0.1:{held.port}"},
                        {"name": "AWS_ACCESS_KEY_ID", "value": stack.store.access_key},
                        {"name": "AWS_SECRET_ACCESS_KEY", "value": stack.store.secret_key}]
            with ThreadPoolExecutor(2) as pool:
                runs = list(pool.map(lambda n, c=c, i=i: stack.run_container_once(spec, c, f"race-{i}-{n}"), (0, 1)))
            assert [r.returncode for r in runs] == [0, 0], [(r.stdout, r.stderr[-3000:]) for r in runs]
            said.append(sorted(r.stdout.strip().splitlines()[-1].removeprefix(f"bucket race-{i}: ") for r in runs))
    finally:
        held.close()
    assert said == [["created", "created by another replica"]] * 3, said
