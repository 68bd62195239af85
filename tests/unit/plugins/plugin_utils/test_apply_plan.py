"""Pure logic of plugins/plugin_utils/apply_plan.py (which rendered objects an apply changes)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.csc.mlflow.plugins.plugin_utils import apply_plan as ap

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "labels": {"a": "1"}}, "data": {"K": "v"}}
DEP = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i", "args": []}]}}},
}


def live_of(obj, **extra):
    """The object as the API server returns it after an apply: annotation, defaults, status."""
    live = copy.deepcopy(obj)
    live["metadata"]["annotations"] = {ap.LAST_APPLIED: ap.last_applied_text(obj)}
    live["metadata"].setdefault("generation", 1)
    live["metadata"]["uid"] = "u-1"
    if obj["kind"] == "Deployment":
        live["spec"]["strategy"] = {"type": "RollingUpdate"}                     # server default
        del live["spec"]["template"]["spec"]["containers"][0]["args"]           # empty: omitted
        live["status"] = {"replicas": 1, "availableReplicas": 1, "observedGeneration": 1}
    for path, value in extra.items():
        *parents, leaf = path.split(".")
        node = live
        for p in parents:
            node = node[p]
        node[leaf] = value
    return live


def test_unchanged_and_ready_objects_are_left_out():
    live = {"ConfigMap/cfg": live_of(CM), "Deployment/web": live_of(DEP)}
    assert ap.plan([CM, DEP], live) == []


def test_objects_without_live_counterpart_are_applied():
    assert ap.plan([CM, DEP], {"ConfigMap/cfg": live_of(CM)}) == [DEP]


def test_a_changed_rendering_is_applied():
    changed = copy.deepcopy(CM)
    changed["data"]["K"] = "w"
    assert ap.plan([changed], {"ConfigMap/cfg": live_of(CM)}) == [changed]


def test_drift_in_the_live_object_is_undone():
    drifted = live_of(CM)
    drifted["data"]["K"] = "edited by hand"
    assert ap.plan([CM], {"ConfigMap/cfg": drifted}) == [CM]


@pytest.mark.parametrize(
    "status",
    [
        {},
        {"replicas": 1, "availableReplicas": 0, "observedGeneration": 1},
        {"replicas": 1, "availableReplicas": 1, "observedGeneration": 0},
        {"replicas": 1, "availableReplicas": 1, "observedGeneration": 1, "unavailableReplicas": 1},
        {"replicas": 2, "availableReplicas": 2, "observedGeneration": 1},
    ],
    ids=["no-status", "unavailable", "old-generation", "rolling", "replicas-differ"],
)
def test_deployments_that_are_not_ready_are_applied(status):
    assert ap.plan([DEP], {"Deployment/web": live_of(DEP, status=status)}) == [DEP]


def test_scaled_to_zero_is_ready():
    zero = copy.deepcopy(DEP)
    zero["spec"]["replicas"] = 0
    assert ap.plan([zero], {"Deployment/web": live_of(zero, status={"observedGeneration": 1})}) == []


@pytest.mark.parametrize(
    "want,have,expected",
    [
        ({"a": 1}, {"a": 1, "b": 2}, False),      # extra live fields are fine
        ({"a": 0, "b": "", "c": [], "d": {}, "e": None, "f": False}, {}, False),  # zero values omitted
        ({"a": 1}, {}, True),
        ({"a": 1}, {"a": "1"}, True),             # a number is not its string
        ({"a": "1"}, {"a": 1}, True),
        ({"a": [1, 2]}, {"a": [1]}, True),
        ({"a": [{"x": 1}]}, {"a": [{"x": 1, "y": 2}]}, False),
        ({"a": [1]}, {"a": "1"}, True),
        ({"a": {"b": 1}}, {"a": [1]}, True),
        ({"a": True}, {"a": True}, False),
    ],
)
def test_differs(want, have, expected):
    assert ap.differs(want, have) is expected


def test_last_applied_text_is_kubectls_compact_sorted_json():
    assert ap.last_applied_text({"b": 1, "a": {"d": [1, "x"], "c": None}}) == '{"a":{"c":null,"d":[1,"x"]},"b":1}'


def _route(name, admitted=None):
    r = {"kind": "Route", "metadata": {"name": name}, "spec": {}}
    if admitted is not None:
        r["status"] = {"ingress": [{"routerName": "default", "conditions": [
            {"type": "Admitted", "status": "True" if admitted else "False"}]}]}
    return r


def test_wait_targets_deployments_applied_and_routes_not_admitted():
    objects = [{"kind": "Deployment", "metadata": {"name": "d1"}}, {"kind": "Deployment", "metadata": {"name": "d2"}},
               _route("r1"), _route("r2"), _route("r3"), _route("r4")]
    live = {"Route/r1": _route("r1", True), "Route/r2": _route("r2", False), "Route/r3": _route("r3"),
            "Route/r4": _route("r4", True)}
    plan_objects = [objects[1], objects[5]]
    assert ap.wait_targets(plan_objects, objects, live) == {"deployments": ["d2"], "routes": ["r2", "r3", "r4"], "jobs": [], "httproutes": []}
    assert ap.wait_targets([], objects[:3], {"Route/r1": _route("r1", True)}) == {"deployments": [], "routes": [], "jobs": [], "httproutes": []}
    job = {"kind": "Job", "metadata": {"name": "j"}}
    assert ap.wait_targets([job], [job], {})["jobs"] == ["j"]  # a Job the run applies is waited for until it completes


ROUTE = {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "web"}, "spec": {"to": {"name": "web"}}}
ADMITTED = {"ingress": [{"conditions": [{"type": "Admitted", "status": "True"}]}]}


def test_stack_plan_of_an_unchanged_admitted_stack_has_nothing_to_do():
    route = dict(ROUTE, spec=dict(ROUTE["spec"], host="web.example.org"))
    live = {"ConfigMap/cfg": live_of(CM), "Deployment/web": live_of(DEP), "Route/web": live_of(route, status=ADMITTED)}
    got = ap.stack_plan([CM, DEP, route], live)
    assert got == {"objects": [CM, DEP, route], "plan": [],
                   "wait_for": {"deployments": [], "routes": [], "jobs": [], "httproutes": []},
                   "routes_first": [], "httproutes_first": []}


def test_stack_plan_applies_what_changed_and_waits_for_it():
    live = {"ConfigMap/cfg": live_of(CM), "Deployment/web": live_of(DEP, **{"spec.replicas": 2})}
    got = ap.stack_plan([CM, DEP], live)
    assert got["plan"] == [DEP] and got["wait_for"] == {"deployments": ["web"], "routes": [], "jobs": [], "httproutes": []}


def test_stack_plan_apply_all_takes_every_object_even_unchanged_ones():
    live = {"ConfigMap/cfg": live_of(CM), "Deployment/web": live_of(DEP)}
    got = ap.stack_plan([CM, DEP], live, apply_all=True)
    assert got["plan"] == [CM, DEP] and got["wait_for"]["deployments"] == ["web"]


def test_routes_first_are_those_whose_host_nobody_knows_yet():
    given = dict(ROUTE, metadata={"name": "given"}, spec=dict(ROUTE["spec"], host="given.example.org"))
    generated = dict(ROUTE, metadata={"name": "generated"})
    known = dict(ROUTE, metadata={"name": "known"})
    objects = [CM, given, generated, known]
    assert ap.routes_first(objects, {"known": "known-ns.apps.example.org", "generated": ""}) == ["generated"]
    # Nothing live: every Route is applied now, so every one goes first (see the next test).
    assert ap.stack_plan(objects, {}, live_hosts={"known": "k"})["routes_first"] == ["given", "generated", "known"]
    assert ap.routes_first(objects, None) == ["generated", "known"]


def test_routes_first_also_those_applied_now_or_not_admitted():
    """A given host is not ours until the router admitted it: such a Route goes first and is waited for too."""
    given = dict(ROUTE, metadata={"name": "given"}, spec=dict(ROUTE["spec"], host="given.example.org"))
    assert ap.routes_first([CM, given], {}, waiting=["given"]) == ["given"]
    assert ap.stack_plan([CM, given], {})["routes_first"] == ["given"]
    claimed = dict(live_of(given), status={"ingress": [{"conditions": [
        {"type": "Admitted", "status": "False", "reason": "HostAlreadyClaimed"}]}]})
    assert ap.stack_plan([given], {"Route/given": claimed})["routes_first"] == ["given"]
    admitted = dict(live_of(given), status=ADMITTED)
    assert ap.stack_plan([given], {"Route/given": admitted})["routes_first"] == []


def test_routes_applied_first_are_live_for_the_plan_of_the_rest():
    route = {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "web"},
             "spec": {"to": {"kind": "Service", "name": "web"}}}
    created = dict(live_of(route), spec=dict(route["spec"], host="web-ns.apps.example"))
    applied = {"changed": True, "method": "apply", "result": created}
    stack = ap.stack_plan([CM, route], {"ConfigMap/cfg": live_of(CM)}, live_hosts={"web": "web-ns.apps.example"},
                          applied=applied)
    assert stack["plan"] == [] and stack["wait_for"] == {"deployments": [], "routes": ["web"], "jobs": [], "httproutes": []}  # not admitted yet
    # the run saw it admitted since: not waited for again (`ready` of rollout_wait names it Route/web)
    seen = ap.stack_plan([CM, route], {"ConfigMap/cfg": live_of(CM)}, live_hosts={"web": "web-ns.apps.example"},
                         applied=applied, admitted=["Route/web"])
    assert seen["wait_for"] == {"deployments": [], "routes": [], "jobs": [], "httproutes": []} and seen["routes_first"] == []
    # rendered otherwise since: applied again
    changed = dict(route, spec=dict(route["spec"], port={"targetPort": "http"}))
    assert ap.stack_plan([changed], {}, applied=applied)["plan"] == [changed]
    assert ap.stack_plan([route], {}, applied={"skipped": True})["plan"] == [route]


def test_created_objects_are_those_an_apply_returned_that_were_not_live_before():
    def route(name):
        return {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": name, "uid": "u-" + name},
                "spec": {"host": name + "-ns.apps.example"}}
    applied = {"changed": True, "result": {"results": [{"result": route("new")}, {"result": route("old")}]}}
    assert ap.created_objects(applied, {"Route/old": route("old")}) == [
        {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "new"}}]
    assert ap.created_objects({"changed": True, "result": route("one")}, {})[0]["metadata"] == {"name": "one"}
    assert ap.created_objects({"skipped": True}, {}) == [] and ap.created_objects(None, {}) == []
    # an object of another namespace (an Istio policy in its Gateway's) is removed there
    policy = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
              "metadata": {"name": "ns-ml-allowlist", "namespace": "infra"}}
    created = ap.created_objects({"changed": True, "result": policy}, {})
    assert created[0]["metadata"] == {"name": "ns-ml-allowlist", "namespace": "infra"}


def test_httproutes_applied_or_not_accepted_with_references_resolved_are_waited_for_and_go_first():
    def route(name, conditions=None):
        obj = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
               "metadata": {"name": name, "namespace": "ml", "generation": 1},
               "spec": {"parentRefs": [{"name": "public", "namespace": "infra"}], "hostnames": [name + ".example.org"]}}
        if conditions:
            obj["status"] = {"parents": [{"parentRef": {"name": "public", "namespace": "infra"}, "conditions": [
                {"type": t, "status": v, "reason": t, "observedGeneration": 1} for t, v in conditions]}]}
        return obj
    ready, pending, refused = route("ready"), route("pending"), route("refused")
    live = {"HTTPRoute/ready": route("ready", [("Accepted", "True"), ("ResolvedRefs", "True")]),
            "HTTPRoute/pending": route("pending", [("Accepted", "True"), ("ResolvedRefs", "False")]),
            "HTTPRoute/refused": route("refused", [("Accepted", "False"), ("ResolvedRefs", "True")])}
    rendered = {"ready": ready, "pending": pending, "refused": refused}
    for name in live:  # as applied earlier: unchanged
        live[name]["metadata"]["annotations"] = {ap.LAST_APPLIED: ap.last_applied_text(rendered[name[len("HTTPRoute/"):]])}
    got = ap.stack_plan([ready, pending, refused], live)
    assert got["plan"] == [] and got["wait_for"]["httproutes"] == ["pending", "refused"]
    assert got["httproutes_first"] == ["pending", "refused"] and got["routes_first"] == []
    assert ap.stack_plan([ready], {})["httproutes_first"] == ["ready"]  # new
