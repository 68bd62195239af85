# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Which rendered objects an apply would change, and which Deployments are not ready yet.

Pure logic behind the csc.mlflow.needs_apply filter: the role renders every object of the
stack and applies only those this module selects, so that a re-run with nothing to do sends
no write request and waits for nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from collections.abc import Mapping

from ansible_collections.csc.mlflow.plugins.plugin_utils.rollout import READY, httproute_state

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_SCALARS = (str, bytes, int, float, bool)


def last_applied_text(obj):
    """The last-applied annotation `kubectl apply` / kubernetes.core would write for obj."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _is_zero(value):
    # The API server omits empty fields: a wanted zero value may be missing from the live object.
    return value is None or value == 0 or value == "" or value == [] or value == {}


def differs(want, have):
    """True when some field of `want` has another value in `have` (extra fields in `have` are fine)."""
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            return True
        for key, value in want.items():
            if key in have:
                if differs(value, have[key]):
                    return True
            elif not _is_zero(value):
                return True
        return False
    if want is None or isinstance(want, _SCALARS):
        if not isinstance(want, str) and isinstance(have, str):
            return True
        return want != have
    if isinstance(have, (str, Mapping)) or not isinstance(have, (list, tuple)) or len(have) != len(want):
        return True
    return any(differs(w, h) for w, h in zip(want, have))


def deployment_ready(live):
    """Ready as kubernetes.core's `wait` defines it: every replica available, status current."""
    status = live.get("status") or {}
    if not status:
        return False
    spec = live.get("spec") or {}
    meta = live.get("metadata") or {}
    return (
        spec.get("replicas") == (status.get("replicas") or 0)
        and status.get("availableReplicas") == status.get("replicas")
        and status.get("observedGeneration") == meta.get("generation")
        and not status.get("unavailableReplicas")
    )


def needs_apply(obj, live):
    """Whether `obj` (rendered) must be applied, given its live counterpart (or None)."""
    if not live:
        return True
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    if annotations.get(LAST_APPLIED, "") != last_applied_text(obj) or differs(obj, live):
        return True
    return obj.get("kind") == "Deployment" and not deployment_ready(live)


def plan(objects, live_index):
    """The objects to apply: `live_index` maps 'Kind/name' to the live object."""
    return [o for o in objects if needs_apply(o, live_index.get("%s/%s" % (o["kind"], o["metadata"]["name"])))]


def route_admitted(live):
    """True when some router admitted the Route (status.ingress[].conditions Admitted=True)."""
    for ingress in ((live or {}).get("status") or {}).get("ingress") or []:
        for cond in ingress.get("conditions") or []:
            if cond.get("type") == "Admitted" and cond.get("status") == "True":
                return True
    return False


def httproute_ready(live):
    """True when the Gateway's controller accepted the live HTTPRoute and resolved its references (its current
    generation)."""
    return bool(live) and httproute_state(live)[0] == READY


def wait_targets(plan_objects, objects, live_index, admitted=()):
    """What to wait for after applying `plan_objects`: the Deployments and Jobs applied, and every Route
    of `objects` that is applied now or that no router has admitted yet (a Route whose host
    another namespace claims stays unadmitted: a re-run must say so again); likewise every HTTPRoute applied now or
    not yet accepted with its references resolved. `admitted`: names of Routes the run saw admitted after it applied
    them (the Routes that go first)."""
    deployments = [o["metadata"]["name"] for o in plan_objects if o.get("kind") == "Deployment"]
    jobs = [o["metadata"]["name"] for o in plan_objects if o.get("kind") == "Job"]
    applied = set((o.get("kind"), o["metadata"]["name"]) for o in plan_objects)
    routes = [
        o["metadata"]["name"] for o in objects
        if o.get("kind") == "Route"
        and (("Route", o["metadata"]["name"]) in applied
             or not (o["metadata"]["name"] in admitted or route_admitted(live_index.get("Route/" + o["metadata"]["name"]))))
    ]
    httproutes = [
        o["metadata"]["name"] for o in objects
        if o.get("kind") == "HTTPRoute"
        and (("HTTPRoute", o["metadata"]["name"]) in applied
             or not httproute_ready(live_index.get("HTTPRoute/" + o["metadata"]["name"])))
    ]
    return {"deployments": deployments, "routes": routes, "jobs": jobs, "httproutes": httproutes}


def routes_first(objects, live_hosts, waiting=()):
    """The Routes of `objects` to apply, and to see admitted by the router, before the rest of the stack is rendered
    and applied: those whose host the platform must generate (no `spec.host` given and no host known from the live
    Route, `live_hosts`: name -> host) and those the run applies or no router has admitted yet (`waiting`: names,
    see wait_targets). Nothing may name a host before the router admitted exactly that host: a host another project
    holds (HostAlreadyClaimed) would send clients and their passwords to that project's application."""
    waiting = set(waiting or ())
    return [
        o["metadata"]["name"] for o in objects
        if o.get("kind") == "Route" and (
            o["metadata"]["name"] in waiting
            or not ((o.get("spec") or {}).get("host") or (live_hosts or {}).get(o["metadata"]["name"])))
    ]


def applied_objects(applied_result):
    """The objects the API server returned to an apply task (kubernetes.core.k8s or csc.mlflow.stack_apply:
    with several definitions `result.results[*].result`, with one `result`); none when it was skipped."""
    if not isinstance(applied_result, Mapping) or applied_result.get("skipped"):
        return []
    res = applied_result.get("result")
    items = res.get("results") if isinstance(res, Mapping) and "results" in res else [{"result": res}]
    return [item["result"] if isinstance(item, Mapping) and "result" in item else item for item in items]


def created_objects(applied_result, live_index):
    """References (apiVersion, kind, metadata.name) to the objects an apply earlier in the run returned
    (`applied_result`, see applied_objects) that were not live before it (`live_index`: 'Kind/name' -> object):
    what a run that is refused after that apply removes again."""
    return [
        {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
         "metadata": dict([("name", obj["metadata"]["name"])] + (
             [("namespace", obj["metadata"]["namespace"])] if obj["metadata"].get("namespace") else []))}
        for obj in applied_objects(applied_result)
        if "%s/%s" % (obj["kind"], obj["metadata"]["name"]) not in (live_index or {})
    ]


def stack_plan(objects, live_index, apply_all=False, live_hosts=None, applied=None, admitted=()):
    """What an apply of the rendered stack `objects` needs, in one pass: `plan`, the objects to apply
    (all of them when `apply_all`: an upgrade or a store switch changes live objects first);
    `wait_for`, the Deployments and Routes to wait for once the plan is applied (see wait_targets);
    `routes_first`, the Routes to apply and see admitted before the rest (see routes_first); `httproutes_first`, the
    HTTPRoutes to apply and see accepted before the rest (those applied now or not ready: nothing names a host before
    the Gateway accepted the route for it); and `objects` itself.
    `applied`: the result of an apply earlier in the run (the Routes applied first), whose objects
    are live now; `admitted`: the names of those the router admitted since (`name` or `Route/name`)."""
    live_index = dict(live_index)
    for obj in applied_objects(applied):
        live_index["%s/%s" % (obj["kind"], obj["metadata"]["name"])] = obj
    to_apply = list(objects) if apply_all else plan(objects, live_index)
    admitted = set(name[len("Route/"):] if name.startswith("Route/") else name for name in admitted or ())
    wait_for = wait_targets(to_apply, objects, live_index, admitted)
    return {
        "objects": objects,
        "plan": to_apply,
        "wait_for": wait_for,
        "routes_first": routes_first(objects, live_hosts, wait_for["routes"]),
        "httproutes_first": list(wait_for["httproutes"]),
    }
