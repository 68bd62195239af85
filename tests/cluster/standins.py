"""Stand-ins for the OpenShift controllers the test cluster lacks (started by cluster.sh up).

* Router: sets every Route's ``status.ingress[]`` as OpenShift's default router does. A host
  belongs to the namespace of its oldest Route (creationTimestamp, then namespace/name); that
  namespace's Routes are ``Admitted=True``, Routes of other namespaces with the same host are
  ``Admitted=False``, reason ``HostAlreadyClaimed``. Re-evaluated on every change, so deleting
  the owner admits the next claimant. A real router says nothing of the IP allowlist it builds;
  the stand-in adds a condition ``AllowlistEnforced`` for the tests (router_allowlist.py): True,
  reason ``Enforced``, when routers of OpenShift 4.17+ and of 4.16 and older both admit only the
  same listed addresses (message: the list); False otherwise, reason ``OpenToAll`` (message: why)
  or ``Differs``.
* Gateway API (gateway_standin.py): the status an implementation writes for GatewayClasses of Envoy Gateway,
  Istio and an implementation the product does not know (Gateways, HTTPRoutes, SecurityPolicies), with the
  stand-in's own HTTPRoute parent condition ``AllowlistEnforced`` read from SecurityPolicies/AuthorizationPolicies.
* Cluster quota: keeps each AppliedClusterResourceQuota's ``status.total`` and
  ``status.namespaces[]`` equal to the status of the ResourceQuota of the same name and
  namespace (which kube-controller-manager computes and the apiserver enforces).

Watches with a re-list after any error or timeout; writes only what differs.

    python tests/cluster/standins.py --kubeconfig .cluster/kubeconfig --router-domain apps.kwok.test
"""

from __future__ import annotations

import argparse
import datetime
import logging
import threading
import time

from kubernetes import config, dynamic
from kubernetes.client.exceptions import ApiException

from gateway_standin import GatewayStandin
from router_allowlist import admitted

log = logging.getLogger("standins")
ROUTER = "default"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def key(obj: dict) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


class Watch(threading.Thread):
    """Keeps ``cache`` = {(namespace, name): object} of one resource; calls ``changed()`` after updates."""

    def __init__(self, client: dynamic.DynamicClient, api_version: str, kind: str, changed, ready: threading.Event):
        super().__init__(name=kind, daemon=True)
        self.client, self.api_version, self.kind = client, api_version, kind
        self.changed, self.ready = changed, ready
        self.cache: dict[tuple[str, str], dict] = {}

    def run(self) -> None:
        while True:
            try:
                res = self.client.resources.get(api_version=self.api_version, kind=self.kind)
                lst = res.get()
                self.cache = {key(i): i for i in lst.to_dict()["items"]}
                self.changed()
                self.ready.set()
                for ev in self.client.watch(res, resource_version=lst.metadata.resourceVersion, timeout=240):
                    obj = ev["raw_object"]
                    if ev["type"] == "ERROR":  # e.g. 410 Gone: re-list
                        log.info("%s watch: %s", self.kind, obj.get("message"))
                        break
                    if ev["type"] == "DELETED":
                        self.cache.pop(key(obj), None)
                    else:
                        self.cache[key(obj)] = obj
                    self.changed()
            except Exception as e:  # noqa: BLE001 - any failure: log, re-list
                log.warning("%s watch failed (%s: %s); re-listing", self.kind, type(e).__name__, e)
                time.sleep(1)


def allowlist_condition(route: dict) -> dict:
    """The stand-in's own condition: do the routers admit only the listed addresses?"""
    annotations = route["metadata"].get("annotations") or {}
    current, why = admitted(annotations)
    older, older_why = admitted(annotations, older_router=True)
    if current is None or older is None:
        message = f"4.17+: {' '.join(current) if current else why}; 4.16 and older: {' '.join(older) if older else older_why}"
        return {"type": "AllowlistEnforced", "status": "False", "reason": "OpenToAll", "message": message}
    if current != older:
        return {"type": "AllowlistEnforced", "status": "False", "reason": "Differs",
                "message": f"4.17+: {' '.join(current)}; 4.16 and older: {' '.join(older)}"}
    return {"type": "AllowlistEnforced", "status": "True", "reason": "Enforced",
            "message": " ".join(current) + ("" if why == "enforced" else f" ({why})")}


class Standins:
    def __init__(self, kubeconfig: str, domain: str):
        self.client = dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig))
        self.domain = domain
        self.lock = threading.Lock()
        self.ready: list[threading.Event] = []
        self.routes = self._watch("route.openshift.io/v1", "Route", self.sync_routes)
        self.quotas = self._watch("v1", "ResourceQuota", self.sync_quotas)
        self.applied = self._watch("quota.openshift.io/v1", "AppliedClusterResourceQuota", self.sync_quotas)
        self.gateway = GatewayStandin(self)

    def _watch(self, api_version: str, kind: str, changed) -> Watch:
        ev = threading.Event()
        self.ready.append(ev)
        return Watch(self.client, api_version, kind, changed, ev)

    def start(self) -> None:
        for w in (self.routes, self.quotas, self.applied):
            w.start()
        self.gateway.start()
        for ev in self.ready:
            ev.wait()
        self.gateway.sync()  # once all lists are in (each watch's first sync may come before the others')
        log.info("ready: watching Routes, ResourceQuotas, AppliedClusterResourceQuotas, Gateway API, "
                 "SecurityPolicies, AuthorizationPolicies")

    def _patch_status(self, api_version: str, kind: str, obj: dict, status: dict) -> None:
        res = self.client.resources.get(api_version=api_version, kind=kind)
        ns, name = key(obj)
        try:
            res.status.patch(body={"status": status}, name=name, namespace=ns,
                             content_type="application/merge-patch+json")
        except ApiException as e:
            if e.status != 404:  # deleted meanwhile: nothing to do
                raise

    # ------------------------------------------------------------------ router
    def route_ingress(self, route: dict, routes: list[dict]) -> dict:
        """The status.ingress[] entry the default router writes for ``route``."""
        host = route["spec"]["host"]
        claimants = sorted((r for r in routes if r["spec"].get("host") == host),
                           key=lambda r: (r["metadata"]["creationTimestamp"], *key(r)))
        owner = claimants[0]
        cond = {"type": "Admitted", "status": "True"}
        entry = {"host": host, "routerName": ROUTER, "wildcardPolicy": route["spec"].get("wildcardPolicy", "None")}
        if owner["metadata"]["namespace"] == route["metadata"]["namespace"]:
            entry["routerCanonicalHostname"] = f"router-{ROUTER}.{self.domain}"
        else:
            cond = {"type": "Admitted", "status": "False", "reason": "HostAlreadyClaimed",
                    "message": f"route {owner['metadata']['name']} already exposes {host} and is older"}
        entry["conditions"] = [cond, allowlist_condition(route)]
        return entry

    def sync_routes(self) -> None:
        with self.lock:
            routes = [r for r in self.routes.cache.values() if (r.get("spec") or {}).get("host")]
            for r in routes:
                want = self.route_ingress(r, routes)
                have = next((i for i in (r.get("status") or {}).get("ingress") or [] if i.get("routerName") == ROUTER), None)
                have_conds = (have or {}).get("conditions") or []
                same = have is not None and all(have.get(k) == want.get(k) for k in want if k != "conditions") and len(
                    have_conds) == len(want["conditions"]) and all(
                    all(h.get(k) == v for k, v in w.items()) for h, w in zip(have_conds, want["conditions"]))
                if same:
                    continue
                for cond in want["conditions"]:
                    cond["lastTransitionTime"] = now()
                log.info("route %s/%s: %s %s", *key(r), want["host"],
                         want["conditions"][0].get("reason", "Admitted"))
                self._patch_status("route.openshift.io/v1", "Route", r, {"ingress": [want]})

    # ------------------------------------------------------------------ quota
    def sync_quotas(self) -> None:
        with self.lock:
            for k, acrq in list(self.applied.cache.items()):
                rq = self.quotas.cache.get(k)
                if not rq or not rq.get("status"):
                    continue
                st = {"hard": rq["status"].get("hard") or {}, "used": rq["status"].get("used") or {}}
                want = {"total": st, "namespaces": [{"namespace": k[0], "status": st}]}
                if (acrq.get("status") or {}) == want:
                    continue
                log.info("applied quota %s/%s: used %s", *k, st["used"])
                self._patch_status("quota.openshift.io/v1", "AppliedClusterResourceQuota", acrq, want)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--router-domain", default="apps.kwok.test")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(threadName)s %(message)s")
    s = Standins(args.kubeconfig, args.router_domain)
    s.start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
