"""Every way in from outside (Route, Ingress, HTTPRoute) of every golden case ends at NGINX, never at MLflow, the store
or the metrics port; an HTTPRoute with a whitelist has its implementation's policy. Read from the golden renders
(tests/render/golden/, which test_golden.py keeps equal to what the role renders)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.yml"))
CASES = yaml.safe_load((Path(__file__).parent / "golden_cases.yml").read_text())
WAYS_IN = ("Route", "Ingress", "HTTPRoute")


def objects(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text())["objects"]


def targets(obj: dict) -> list[tuple[str, object]]:
    """(Service, port) pairs a way in sends requests to."""
    spec = obj["spec"]
    if obj["kind"] == "Route":
        return [(spec["to"]["name"], spec["port"]["targetPort"])]
    if obj["kind"] == "Ingress":
        return [(p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"])
                for rule in spec["rules"] for p in rule["http"]["paths"]]
    return [(ref["name"], ref["port"]) for rule in spec["rules"] for ref in rule["backendRefs"]]


def pod_of(objs: list[dict], service: dict) -> dict:
    selector = service["spec"]["selector"]
    pods = [d["spec"]["template"] for d in objs if d["kind"] == "Deployment"
            and selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()]
    assert len(pods) == 1, service["metadata"]["name"]
    return pods[0]


def pod_containers(objs: list[dict], service: dict) -> list[dict]:
    return pod_of(objs, service)["spec"]["containers"]


def nginx_ports(objs: list[dict], service: dict) -> set[int]:
    """The ports the NGINX of the pods `service` selects listens on (its nginx.conf ConfigMap)."""
    pods = [pod_of(objs, service)]
    volumes = {v["name"]: v for v in pods[0]["spec"]["volumes"]}
    nginx = next(c for c in pods[0]["spec"]["containers"] if c["name"] == "nginx")
    maps = {volumes[m["name"]]["configMap"]["name"] for m in nginx["volumeMounts"] if "configMap" in volumes[m["name"]]}
    confs = [o["data"]["nginx.conf"] for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] in maps
             and "nginx.conf" in (o.get("data") or {})]
    assert len(confs) == 1, service["metadata"]["name"]
    return {int(p) for p in re.findall(r"^\s*listen\s+(\d+)\s*;", confs[0], re.M)}


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_every_way_in_ends_at_nginx(path):
    objs = objects(path)
    services = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Service"}
    ways_in = [o for o in objs if o["kind"] in WAYS_IN]
    for way_in in ways_in:
        for name, port in targets(way_in):
            ports = services[name]["spec"]["ports"]
            target = next(p["targetPort"] for p in ports if port in (p["port"], p["name"], p["targetPort"]))
            if not any(c["name"] == "nginx" for c in pod_containers(objs, services[name])):
                # Only the store itself, and only when the user accepted its unfiltered Route (direct mode, MinIO).
                assert CASES[path.stem].get("mlflow_accept_unfiltered_store_route") is True, name
                assert services[name]["spec"]["selector"]["app.kubernetes.io/component"] == "minio", name
                continue
            listening = nginx_ports(objs, services[name])
            if target not in listening and way_in["kind"] == "Route" and not way_in["spec"].get("host"):
                # A Route whose host the platform generates: the pre-signed server of NGINX is rendered with that
                # host once the router admitted it (tasks/routes_first.yml); without a cluster there is none, and
                # nothing else of the pod listens there.
                assert target not in {p.get("containerPort") for c in pod_containers(objs, services[name])
                                      for p in c.get("ports") or []}
                continue
            assert target in listening, (way_in["kind"], way_in["metadata"]["name"], target)


def test_the_httproute_cases_are_read():
    kinds = {o["kind"] for p in GOLDEN if p.stem.startswith("httproute") for o in objects(p)}
    assert {"HTTPRoute", "SecurityPolicy", "AuthorizationPolicy"} <= kinds


@pytest.mark.parametrize("path", [p for p in GOLDEN if p.stem.startswith("httproute")],
                         ids=lambda p: p.stem)
def test_each_httproute_has_one_whitelist_policy(path):
    objs = objects(path)
    for route in (o for o in objs if o["kind"] == "HTTPRoute"):
        name, host = route["metadata"]["name"], route["spec"]["hostnames"][0]
        envoy = [o for o in objs if o["kind"] == "SecurityPolicy"
                 and {"kind": "HTTPRoute", "name": name} in [{k: t[k] for k in ("kind", "name")} for t in o["spec"]["targetRefs"]]]
        istio = [o for o in objs if o["kind"] == "AuthorizationPolicy"
                 and any(host in op["operation"]["hosts"] and f"{host}:*" in op["operation"]["hosts"]
                         for rule in o["spec"]["rules"] for op in rule["to"])]
        assert len(envoy) + len(istio) == 1, name
