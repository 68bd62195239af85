"""mlflow_metrics_enabled: /metrics on its own pod port, never through the Route or Service <app>.

Rendered without a cluster (tests/render/render.yml, case `metrics` of golden_cases.yml).
"""

from __future__ import annotations

import re

import pytest

from test_golden import CASES, render

APP = "mlflow"


@pytest.fixture(scope="module")
def objects(tmp_path_factory):
    rendered = render(CASES["metrics"], tmp_path_factory.mktemp("metrics"))
    items = rendered["objects"] if isinstance(rendered, dict) and "objects" in rendered else rendered
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in items}


def _server_blocks(conf: str) -> list[str]:
    return re.split(r"\n    server \{", conf)[1:]


def test_route_and_service_do_not_reach_the_metrics_port(objects):
    route = objects[f"Route/{APP}"]
    svc = objects[f"Service/{APP}"]
    assert [p["port"] for p in svc["spec"]["ports"]] == [8080]
    assert route["spec"]["to"]["name"] == APP and route["spec"]["port"]["targetPort"] in ("http", 8080)
    conf = objects[f"ConfigMap/{APP}-nginx"]["data"]["nginx.conf"]
    main, metrics = _server_blocks(conf)
    assert "listen 8080;" in main and re.search(r"location = /metrics \{\s*return 404;", main)
    assert "listen 9090;" in metrics and "auth_basic" not in metrics
    assert re.search(r"location / \{\s*return 404;", metrics)
    # the Route's Service port is the main server only
    assert "9090" not in main


def test_metrics_service_policy_and_service_monitor(objects):
    msvc = objects[f"Service/{APP}-metrics"]
    assert [(p["name"], p["port"], p["targetPort"]) for p in msvc["spec"]["ports"]] == [("metrics", 9090, 9090)]
    pol = objects[f"NetworkPolicy/{APP}-metrics"]["spec"]
    sources = {(tuple(sorted(p["port"] for p in rule["ports"])), str(rule["from"])) for rule in pol["ingress"]}
    # Only the metrics port, from the monitoring namespaces: the tracking pod's own way in (8080, the pre-signed 8081)
    # is NetworkPolicy <app>'s, always there (issue 23), so the metrics policy cuts nothing off.
    assert sources == {((9090,), str([{"namespaceSelector": {"matchLabels": {"network.openshift.io/policy-group": "monitoring"}}}]))}
    tracking = objects[f"NetworkPolicy/{APP}"]["spec"]
    assert {(tuple(sorted(p["port"] for p in rule["ports"])), str(rule["from"])) for rule in tracking["ingress"]
            if "namespaceSelector" in rule["from"][0]} == {
        ((8080, 8081), str([{"namespaceSelector": {"matchLabels": {"policy-group.network.openshift.io/ingress": ""}}}]))}
    sm = objects[f"ServiceMonitor/{APP}"]
    assert sm["spec"]["endpoints"][0]["port"] == "metrics"
    # it selects the metrics Service, and only that one (Service <app> lacks the label)
    selector = sm["spec"]["selector"]["matchLabels"]
    assert all(msvc["metadata"]["labels"].get(k) == v for k, v in selector.items())
    assert not all(objects[f"Service/{APP}"]["metadata"]["labels"].get(k) == v for k, v in selector.items())
    for o in (msvc, objects[f"NetworkPolicy/{APP}-metrics"], sm):
        labels = o["metadata"]["labels"]
        assert {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
                "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"} <= set(labels)


def test_server_exports_metrics(objects):
    cfg = objects[f"ConfigMap/{APP}-config"]["data"]
    assert cfg["MLFLOW_EXPOSE_PROMETHEUS"] == "/tmp/prometheus"
