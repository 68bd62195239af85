"""Gateway API on the test cluster: a platform's Gateway to attach HTTPRoutes to, and readers of the status the
cluster's Gateway API stand-in (tests/cluster/gateway_standin.py) writes.

* ``platform_gateway(cluster, implementation="envoy-gateway", listeners=None, allowed_namespaces="All")``
  -> ``(namespace, name)``: the GatewayClass of the implementation (``envoy-gateway``, ``istio`` or ``unknown``,
  created if missing, shared and kept) and a new Gateway in a new namespace ``gateway-system-<hex>`` (deleted at
  session end). Default listeners: ``https`` (443, ``*.apps.gateway.test``, TLS Terminate with a Secret of the
  namespace) and ``http`` (80, same hostname).
* ``httproute_parent_conditions(cluster, namespace, name, timeout=30)`` -> the conditions of the HTTPRoute's first
  ``status.parents[]`` entry, once the stand-in has written it for the route's current generation.
* ``allowlist_condition(cluster, namespace, name, timeout=30)`` -> its ``AllowlistEnforced`` condition.
* ``wait_for_parent_condition(cluster, namespace, name, type_, reason, timeout=30, message=None)`` and
  ``wait_for_allowlist(cluster, namespace, name, reason, timeout=30, message=None)``: poll until a condition has
  that reason (and ``message`` in its message): changes of other objects, e.g. a policy, do not bump the route's
  generation.
"""

from __future__ import annotations

import functools
import json
import subprocess
import tempfile
import time
from pathlib import Path

GROUP = "gateway.networking.k8s.io"
API_VERSION = f"{GROUP}/v1"
# The controllerName each implementation's GatewayClass carries (as the real controllers expect it).
CONTROLLERS = {
    "envoy-gateway": "gateway.envoyproxy.io/gatewayclass-controller",
    "istio": "istio.io/gateway-controller",
    "unknown": "example.test/gateway-controller",
}
GATEWAY_CLASSES = {"envoy-gateway": "envoy-gateway", "istio": "istio", "unknown": "unknown-gateway"}
HOSTNAME = "*.apps.gateway.test"
TLS_SECRET = "gateway-tls"


@functools.lru_cache(maxsize=1)
def _tls_pair() -> tuple[str, str]:
    """A self-signed certificate and key for ``*.apps.gateway.test`` (made once per session)."""
    with tempfile.TemporaryDirectory() as tmp:
        crt, key = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(key), "-out", str(crt), "-days", "30", "-subj", f"/CN={HOSTNAME}",
                        "-addext", f"subjectAltName=DNS:{HOSTNAME}"], check=True, capture_output=True)
        return crt.read_text(), key.read_text()


def default_listeners(hostname: str = HOSTNAME) -> list[dict]:
    return [
        {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": hostname,
         "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": TLS_SECRET}]}},
        {"name": "http", "protocol": "HTTP", "port": 80, "hostname": hostname},
    ]


def ensure_gateway_class(cluster, implementation: str) -> str:
    """The GatewayClass of ``implementation`` (created if missing; shared by every test and kept)."""
    if implementation not in CONTROLLERS:
        raise ValueError(f"implementation {implementation!r}: must be one of {', '.join(CONTROLLERS)}")
    name = GATEWAY_CLASSES[implementation]
    body = {"apiVersion": API_VERSION, "kind": "GatewayClass", "metadata": {"name": name},
            "spec": {"controllerName": CONTROLLERS[implementation],
                     "description": f"csc.mlflow test cluster: {implementation} (status by the stand-in)"}}
    # create, not apply: controllerName is immutable, and a concurrent worker may create it first
    out = cluster.kubectl_run("create", "-f", "-", input=json.dumps(body), check=False)
    if out.returncode and "AlreadyExists" not in out.stderr:
        raise RuntimeError(f"GatewayClass {name}: {out.stderr}")
    return name


def platform_gateway(cluster, implementation: str = "envoy-gateway", listeners: list[dict] | None = None,
                     allowed_namespaces: str = "All") -> tuple[str, str]:
    """A Gateway the platform owns, in a namespace of its own: ``(namespace, name)``.

    ``listeners``: Gateway API listener objects (default ``default_listeners()``); a listener without
    ``allowedRoutes`` gets ``{"namespaces": {"from": allowed_namespaces}}`` (``All``, ``Same``; for
    ``Selector`` pass the listeners yourself). The namespace holds the TLS Secret ``gateway-tls``.
    """
    gateway_class = ensure_gateway_class(cluster, implementation)
    ns = cluster.fresh_namespace("gateway-system", profile="kubernetes")
    name = "platform"
    crt, key = _tls_pair()
    listeners = json.loads(json.dumps(listeners if listeners is not None else default_listeners()))
    for listener in listeners:
        listener.setdefault("allowedRoutes", {"namespaces": {"from": allowed_namespaces}})
    objs = [
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
         "metadata": {"name": TLS_SECRET, "namespace": ns}, "stringData": {"tls.crt": crt, "tls.key": key}},
        {"apiVersion": API_VERSION, "kind": "Gateway", "metadata": {"name": name, "namespace": ns},
         "spec": {"gatewayClassName": gateway_class, "listeners": listeners}},
    ]
    cluster.kubectl_run("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))
    return ns, name


def _get(cluster, path: str) -> dict | None:
    from kubernetes.client.exceptions import ApiException

    try:
        return cluster.get_json(path)
    except ApiException as e:
        if e.status == 404:
            return None
        raise


def wait_for_condition(cluster, path: str, read, what: str, timeout: float = 30):
    """Poll the object at ``path`` until ``read(obj)`` is not None; return that."""
    end = time.monotonic() + timeout
    while True:
        obj = _get(cluster, path)
        found = read(obj) if obj else None
        if found is not None:
            return found
        if time.monotonic() > end:
            raise TimeoutError(f"{what}: not written after {timeout} s; last seen: {json.dumps((obj or {}).get('status'))}")
        time.sleep(0.2)


def httproute_parents(cluster, namespace: str, name: str, timeout: float = 30) -> list[dict]:
    """The HTTPRoute's ``status.parents[]``, once the stand-in has evaluated the route's current generation
    (every entry's conditions carry ``observedGeneration == metadata.generation``)."""

    def read(obj):
        parents = (obj.get("status") or {}).get("parents") or []
        gen = obj["metadata"].get("generation")
        if parents and all(c.get("observedGeneration") == gen for p in parents for c in p.get("conditions") or []):
            return parents
        return None

    return wait_for_condition(cluster, f"/apis/{API_VERSION}/namespaces/{namespace}/httproutes/{name}", read,
                              f"status.parents of HTTPRoute {namespace}/{name}", timeout)


def httproute_parent_conditions(cluster, namespace: str, name: str, timeout: float = 30) -> list[dict]:
    """The conditions of the HTTPRoute's first parent (its first parentRef), current generation."""
    return httproute_parents(cluster, namespace, name, timeout)[0].get("conditions") or []


def condition(conditions: list[dict], type_: str) -> dict | None:
    return next((c for c in conditions if c.get("type") == type_), None)


def allowlist_condition(cluster, namespace: str, name: str, timeout: float = 30) -> dict:
    """The stand-in's ``AllowlistEnforced`` condition on the HTTPRoute's first parent: ``status`` True reason
    ``Enforced`` (message: the admitted CIDRs, space-separated), or False reason ``OpenToAll`` / ``Differs``."""
    conds = httproute_parent_conditions(cluster, namespace, name, timeout)
    found = condition(conds, "AllowlistEnforced")
    if found is None:
        raise AssertionError(f"no AllowlistEnforced condition on HTTPRoute {namespace}/{name}: {conds}")
    return found


def wait_for_parent_condition(cluster, namespace: str, name: str, type_: str, reason: str, timeout: float = 30,
                              message: str | None = None) -> dict:
    """Poll until the route's first parent has condition ``type_`` with ``reason`` (and ``message`` within its
    message, if given): a change of a Gateway, Service, ReferenceGrant, Namespace or policy does not change the
    route's generation, so only waiting shows it. Returns the condition as last seen (the caller asserts)."""
    end = time.monotonic() + timeout
    while True:
        found = condition(httproute_parent_conditions(cluster, namespace, name, timeout), type_) or {}
        if (found.get("reason") == reason and (message is None or message in found.get("message", ""))) \
                or time.monotonic() > end:
            return found
        time.sleep(0.2)


def wait_for_allowlist(cluster, namespace: str, name: str, reason: str, timeout: float = 30,
                       message: str | None = None) -> dict:
    """``wait_for_parent_condition`` of ``AllowlistEnforced``."""
    return wait_for_parent_condition(cluster, namespace, name, "AllowlistEnforced", reason, timeout, message)
