"""mlflow_metrics_enabled: the tracking server's Prometheus metrics, from what deploy.yml applied.

/metrics on the NGINX sidecar's metrics port carries MLflow's request counters after a few API
calls; the public port (what the Route and Service <app> reach) answers 404 there, and the
metrics port serves nothing else.
"""

from __future__ import annotations

import base64
import re
import textwrap
import urllib.error
import urllib.request

import pytest

from harness.paths import DEFAULT_MLFLOW_VERSION
from running_stack.deployed import Deployed
from running_stack.net import free_port
from running_stack.playbooks import deploy
from running_stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

CALLS = textwrap.dedent("""
    import mlflow
    mlflow.set_experiment("stack-metrics")
    for i in range(3):
        with mlflow.start_run():
            mlflow.log_metric("m", float(i))
    print("RESULT ok")
""")


def _get(url, auth=None):
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def _count(text, method):
    """mlflow_http_request_total of `method` with status 200 (MLflow groups its counters by method and status)."""
    total = 0.0
    for line in text.splitlines():
        m = re.match(r'^mlflow_http_request_total\{(.*)\}\s+([0-9.e+]+)$', line)
        if m and f'method="{method}"' in m.group(1) and 'status="200"' in m.group(1):
            total += float(m.group(2))
    return total


def test_metrics_on_their_own_port_only(stack_cluster, tools, tmp_path):
    ns = stack_cluster.fresh_namespace("metrics")
    dep = deploy(stack_cluster, ns, mlflow_metrics_enabled=True)
    stack = Stack(Deployed(stack_cluster.api, ns, dep.app), tmp_path / "stack", tools)
    metrics_port = free_port()
    stack.subs.ports[9090] = metrics_port
    try:
        stack.up()
        stack.run_client(CALLS)
        status, text = _get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200, text[:500]
        # MLflow's own request counters (prometheus_flask_exporter, prefix "mlflow"): 3 runs created, 3 metrics
        # logged, 3 runs ended are POSTs at least; the same calls again count again
        before = _count(text, "POST")
        assert before >= 9, [line for line in text.splitlines() if "request_total" in line]
        assert f'mlflow_version="{DEFAULT_MLFLOW_VERSION}"' in text
        stack.run_client(CALLS)
        assert _count(_get(f"http://127.0.0.1:{metrics_port}/metrics")[1], "POST") >= before + 9

        user, password = next(iter(stack.users().items()))
        # the public port (Route, Service <app>): no metrics, with or without credentials
        assert _get(f"{stack.tracking_uri}/metrics", (user, password))[0] == 404
        assert _get(f"{stack.tracking_uri}/metrics")[0] == 404
        # the metrics port: nothing but /metrics, and no way around the basic auth
        assert _get(f"http://127.0.0.1:{metrics_port}/api/2.0/mlflow/experiments/search?max_results=1")[0] == 404
        assert _get(f"http://127.0.0.1:{metrics_port}/")[0] == 404
    finally:
        stack.down()
